"""One-line errors quote the first sentence of a library's message whole."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gail_cli.data.checkpoint import load_checkpoint, save_checkpoint
from gail_cli.errors import GailError, first_sentence


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Failed to initialize GLFW", "Failed to initialize GLFW"),
        ("invalid load key, 'x'.", "invalid load key, 'x'."),
        ("First part.\n\nSecond paragraph. Third.", "First part."),
        (
            "a value of 1.5 is wrong, e.g. 2.0 is fine! Then more",
            "a value of 1.5 is wrong, e.g. 2.0 is fine!",
        ),
        ("line one\n\tline two continues. next", "line one line two continues."),
        ("file model.pt: bad? yes", "file model.pt: bad?"),
    ],
)
def test_first_sentence_is_whole_and_on_one_line(message: str, expected: str) -> None:
    assert first_sentence(RuntimeError(message)) == expected


def test_first_sentence_of_an_empty_message_is_the_type_name() -> None:
    assert first_sentence(KeyError()) == "KeyError"
    assert first_sentence(FileNotFoundError(2, "No such file or directory", "x")) == (
        "No such file or directory"
    )


def test_a_corrupt_checkpoint_quotes_torchs_first_sentence_whole(tmp_path: Path) -> None:
    good = tmp_path / "good.pt"
    save_checkpoint(good, {"weights": torch.zeros(3)})
    data = good.read_bytes()
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(data[: len(data) // 2])
    with pytest.raises(Exception) as raw:  # what torch itself says about the file
        torch.load(corrupt, weights_only=True)
    torch_message = " ".join(str(raw.value).split())
    with pytest.raises(GailError) as refused:
        load_checkpoint(corrupt)
    line = str(refused.value)
    assert "\n" not in line
    quoted = line.split("cannot be loaded (", 1)[1].split("); it is truncated", 1)[0]
    # a whole sentence of torch's message: its start, up to a full stop, and no further
    assert torch_message.startswith(quoted) and quoted.endswith(".")
    assert len(quoted) < len(torch_message)
    assert torch_message[len(quoted)] == " "
    assert "central directory" in quoted
