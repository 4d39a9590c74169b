"""The built wheel: it declares every config folder and ships every YAML file.

The wheel test builds and installs gail-cli (marked ``packaging``; about half a minute
on an idle machine): `pytest -m "not packaging"` skips it.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from conftest import REPO, InstalledWheel

CONF = REPO / "conf"


def test_every_conf_folder_is_a_declared_package() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    declared = set(pyproject["tool"]["setuptools"]["packages"])
    folders = {
        ".".join(("gail_cli", "conf", *p.relative_to(CONF).parts))
        for p in [CONF, *CONF.rglob("*")]
        if p.is_dir() and p.name != "__pycache__"
    }
    assert folders - declared == set(), "add these to [tool.setuptools] packages"


@pytest.mark.packaging
def test_the_wheel_holds_every_yaml_and_runs_from_its_install(
    installed_wheel: InstalledWheel, tmp_path: Path
) -> None:
    shipped = {
        name.removeprefix("gail_cli/conf/")
        for name in zipfile.ZipFile(installed_wheel.wheel).namelist()
        if name.startswith("gail_cli/conf/") and name.endswith(".yaml")
    }
    assert shipped == {str(p.relative_to(CONF)) for p in CONF.rglob("*.yaml")}
    code = (
        "import sys, gail_cli, gail_cli.conf\n"
        "print('module', gail_cli.__file__)\n"
        "from gail_cli.cli.apps import train\n"
        "sys.argv = ['gail-train', '--cfg', 'job', 'env=Hopper-v4']\n"
        "train()\n"
    )
    result = installed_wheel.run(code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"module {installed_wheel.site}" in result.stdout
    assert "id: Hopper-v4" in result.stdout
    assert "file: env/gail/Hopper-v4.yaml" in result.stdout
    # the Optuna sweeper plugin is found by Hydra in the wheel's hydra_plugins namespace
    search = code.replace(
        "'--cfg', 'job', 'env=Hopper-v4'", "'--cfg', 'hydra', 'hparams_search=gail_optuna'"
    )
    result = installed_wheel.run(search, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (
        "_target_: hydra_plugins.gail_optuna_sweeper.sweeper.OptunaAskTellSweeper" in result.stdout
    )
