"""Shipped expert files, and files gail-collect writes, name no absolute path."""

from __future__ import annotations

import re
from pathlib import Path

import h5py
import pytest

from gail_cli.cli.collect import portable_command, portable_path

EXPERTS = Path(__file__).resolve().parents[1] / "data" / "experts"
# a word that is a path from the root (/x/y, ~/x, C:\x), after white space, =, quotes or
# a YAML key's colon
ABSOLUTE_PATH = re.compile(r"""(?:^|[\s='"]|:\s)(/[^\s/'"]+/|~/|[A-Za-z]:\\)""")


def absolute_paths(attrs: h5py.AttributeManager) -> dict[str, list[str]]:
    """Attribute name -> the absolute paths its text holds (text attributes only)."""
    found = {}
    for key, value in attrs.items():
        text = value.decode() if isinstance(value, bytes) else value
        if isinstance(text, str) and (hits := ABSOLUTE_PATH.findall(text)):
            found[key] = hits
    return found


def test_the_pattern_finds_absolute_paths_and_passes_relative_ones() -> None:
    assert ABSOLUTE_PATH.search("gail-collect checkpoint=/work/x/last.pt")
    assert ABSOLUTE_PATH.search("checkpoint: /home/me/a.pt\nout: b.hdf5")
    assert ABSOLUTE_PATH.search("out=~/demo.hdf5")
    assert not ABSOLUTE_PATH.search("checkpoint: data/experts/Hopper-v4.pt\nratio: 3/4")


@pytest.mark.parametrize("path", sorted(EXPERTS.glob("*.hdf5")), ids=lambda p: p.name)
def test_no_shipped_file_attribute_holds_an_absolute_path(path: Path) -> None:
    with h5py.File(path, "r") as f:
        assert absolute_paths(f.attrs) == {}


def test_collect_records_paths_relative_to_the_working_directory_or_by_name(
    tmp_path: Path,
) -> None:
    assert portable_path(tmp_path / "runs" / "last.pt", tmp_path) == "runs/last.pt"
    assert portable_path("/elsewhere/ckpts/last.pt", tmp_path) == "last.pt"
    assert portable_path("data/experts/Hopper-v4.pt", tmp_path) == "data/experts/Hopper-v4.pt"
    command = portable_command(
        [f"checkpoint={tmp_path}/run", "out=/data/demo.hdf5", "episodes=3"], tmp_path
    )
    assert command == "gail-collect checkpoint=run out=demo.hdf5 episodes=3"
