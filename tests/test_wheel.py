"""The package as a user gets it: a built wheel installed into a fresh environment.

The fresh environment borrows this one's dependencies (torch, gymnasium, ...) through a
path file, so nothing is downloaded; gail_cli itself comes only from the wheel, and the
commands run from a folder outside the repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from conftest import TINY, InstalledWheel

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.packaging


def _run(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GAIL_DATA_DIR", "PYTHONPATH")}
    env["MUJOCO_GL"] = os.environ.get("MUJOCO_GL", "egl")
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def wheel(installed_wheel: InstalledWheel) -> Path:
    """The wheel built once per session by conftest's ``installed_wheel``."""
    return installed_wheel.wheel


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; returns its bin folder."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    result = _run([sys.executable, "-m", "venv", str(venv)], cwd=venv.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    python = venv / "bin" / "python"
    site = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=venv
    )
    # this environment's packages, after the fresh one's own (a plain path: its editable
    # gail_cli finder is not activated)
    borrowed = sysconfig.get_paths()["purelib"]
    (Path(site.stdout.strip()) / "borrowed_dependencies.pth").write_text(borrowed + "\n")
    result = _run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)], cwd=venv)
    assert result.returncode == 0, result.stderr[-3000:]
    return venv / "bin"


def test_the_wheel_carries_the_configs_and_the_shipped_experts_once(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(n for n in names if n.startswith("gail_cli/shipped_data/experts/"))
    expected = sorted(
        f"gail_cli/shipped_data/experts/{p.name}" for p in (REPO / "data" / "experts").iterdir()
    )
    assert shipped == expected and any(n.endswith("Hopper-v4.pt") for n in shipped)
    assert "gail_cli/conf/train.yaml" in names and "gail_cli/conf/export.yaml" in names
    assert "gail_cli/conf/env/Hopper-v4.yaml" in names
    # one copy of each expert file, nowhere else in the wheel
    assert sum(n.endswith("/HalfCheetah-v4.hdf5") for n in names) == 1


def test_installed_wheel_trains_on_its_shipped_expert_and_evaluates_one(
    installed: Path, tmp_path: Path
) -> None:
    where = _run(
        [str(installed / "python"), "-c", "import gail_cli; print(gail_cli.__file__)"],
        cwd=tmp_path,
    )
    package = Path(where.stdout.strip()).parent
    assert "site-packages" in package.parts, where.stdout + where.stderr  # not the checkout
    experts = package / "shipped_data" / "experts"
    result = _run(
        [str(installed / "gail-train"), *TINY, f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"expert: {experts / 'HalfCheetah-v4.hdf5'} (" in result.stdout + result.stderr
    assert (tmp_path / "run" / "metrics.json").is_file()
    result = _run(
        [str(installed / "gail-eval"), f"checkpoint={experts / 'Hopper-v4.pt'}", "episodes=1"],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("Hopper-v4: return ")
    assert float(result.stdout.split("return ")[1].split()[0]) > 3000  # the shipped expert
