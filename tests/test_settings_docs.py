"""The generated config files and key tables match the settings dataclasses."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import yaml

from gail_cli.errors import GailError, positive_int, refuse_to_replace
from gail_cli.run import settings_docs
from gail_cli.settings import setting

ROOT = Path(__file__).resolve().parents[1]


def test_no_generated_file_is_stale() -> None:
    stale = [str(p.relative_to(ROOT)) for p in settings_docs.stale_files(ROOT)]
    assert not stale, f"stale: {stale}; run `make docs`"


def _copy_generated_sources(root: Path) -> None:
    """conf/, docs/ and README.md of this checkout under ``root``."""
    for part in ("conf", "docs", "README.md"):
        source = ROOT / part
        copy = shutil.copytree if source.is_dir() else shutil.copy
        copy(source, root / part)


def test_a_changed_default_makes_its_group_file_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _copy_generated_sources(tmp_path)

    @dataclasses.dataclass
    class Changed:
        """A group with one key."""

        rate: float = setting(1e-5, "a rate", tianshou=0.5)

    entry = settings_docs.GroupFile("ppo", "default", Changed)
    monkeypatch.setattr(settings_docs, "GROUP_FILES", (entry,))
    monkeypatch.setattr(settings_docs, "README_KEYS", ("seed",))
    monkeypatch.setattr(settings_docs, "tuning_table", lambda root: "")
    assert tmp_path / "conf/ppo/default.yaml" in settings_docs.stale_files(tmp_path)
    assert settings_docs.main(["--root", str(tmp_path)]) == 0
    assert settings_docs.stale_files(tmp_path) == []
    text = (tmp_path / "conf/ppo/default.yaml").read_text()
    assert yaml.safe_load(text) == {"rate": 1e-5}
    assert "# a rate (Tianshou 2: 0.5)" in text
    assert (
        "| `ppo.rate` | 1e-5 | 0.5 | a rate |" in (tmp_path / "docs/configuration.md").read_text()
    )


def test_a_changed_algorithm_default_regenerates_only_the_dac_files_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _copy_generated_sources(tmp_path)

    @dataclasses.dataclass
    class Changed:
        """An algorithm group with one key."""

        tau: float = setting(0.02, "a Polyak step")

    monkeypatch.setattr(settings_docs, "SACConfig", Changed)
    dac_file = tmp_path / "conf/algorithm/dac.yaml"
    assert set(settings_docs.stale_files(tmp_path)) == {dac_file, tmp_path / "docs/offpolicy.md"}
    assert settings_docs.main(["--root", str(tmp_path)]) == 0
    composed = yaml.safe_load(dac_file.read_text())
    assert composed["algorithm"] == {"tau": 0.02}
    assert composed["trainer"]["num_envs"] == 1  # the hand-written keys are kept
    table = (tmp_path / "docs/offpolicy.md").read_text()
    assert "| `algorithm.tau` | 0.02 | a Polyak step |" in table


@pytest.mark.parametrize(
    "value", [None, True, 0, 2048, 3e-4, 1e-5, -0.5, 1.0, "tanh", "on", "1e3", [64, 64], {"a": 1}]
)
def test_yaml_values_load_back_equal(value: object) -> None:
    assert yaml.safe_load(f"key: {settings_docs.yaml_value(value)}") == {"key": value}


def test_a_field_without_a_meaning_is_refused() -> None:
    @dataclasses.dataclass
    class Bare:
        rate: float = 0.1

    with pytest.raises(ValueError, match=r"Bare\.rate"):
        list(settings_docs.group_keys(Bare, "bare"))


def test_a_missing_marker_is_named() -> None:
    with pytest.raises(ValueError, match="BEGIN GENERATED keys"):
        settings_docs.replace_block("no markers here", "keys", "body", "doc.md")


def test_positive_int_accepts_integers_and_refuses_the_rest() -> None:
    assert positive_int(3, "episodes") == 3
    for bad in (0, -1, True, 2.0, "3"):
        with pytest.raises(GailError, match=r"f: episodes=.* must be a positive integer, or auto"):
            positive_int(bad, "episodes", "f", ", or auto")


def test_refuse_to_replace_keeps_an_existing_file_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "out.hdf5"
    refuse_to_replace(path, overwrite=False, where="out")  # absent: fine
    path.write_text("old")
    refuse_to_replace(path, overwrite=True, where="out")
    with pytest.raises(GailError, match="out: already exists; pass overwrite=true"):
        refuse_to_replace(path, overwrite=False, where="out")
