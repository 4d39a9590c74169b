"""The console scripts: thin Hydra apps that compose a config and hand it on.

gail-train and gail-expert run :func:`gail_cli.run.job.run_training`; gail-eval and
gail-collect run a saved policy (:mod:`gail_cli.cli.evaluate`,
:mod:`gail_cli.cli.collect`); gail-export writes it as TorchScript or ONNX
(:mod:`gail_cli.cli.export`). Errors become one line on stderr
(:mod:`gail_cli.cli.hydra_errors`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from gail_cli.cli.collect import collect_dataset
from gail_cli.cli.evaluate import evaluate_checkpoint
from gail_cli.cli.export import export_checkpoint
from gail_cli.cli.hydra_errors import console_script, guarded
from gail_cli.run.build import data_dir
from gail_cli.run.job import run_training

CONFIG_PATH = "pkg://gail_cli.conf"


def make_dirs(path: str) -> str:
    """Config resolver: create the folder (e.g. a sweep dir for a SQLite study) and return it."""
    Path(path).mkdir(parents=True, exist_ok=True)
    return str(Path(path).resolve())


def hydra_output_subdir(resume: str | None, now: str) -> str:
    """Config resolver of ``hydra.output_subdir`` for gail-train and gail-expert.

    ``.hydra`` for a new run. A resume (``resume`` set) saves its composition, which
    is not the run's config (that is the checkpoint's), in ``.hydra/resume-<now>``: a
    resume into the run's own folder then leaves the run's ``.hydra/*.yaml`` intact.
    """
    return ".hydra" if resume is None else f".hydra/resume-{now}"


def run_name(env_id: str) -> str:
    """Config resolver: an env id as a folder name (``myenvs:MyPendulum-v0`` ->
    ``MyPendulum-v0``, ``ALE/Pong-v5`` -> ``ALE-Pong-v5``)."""
    return env_id.rpartition(":")[2].replace("/", "-")


def job_dir(num: int, env_id: str, override_dirname: str) -> str:
    """Config resolver: a sweep job's folder, ``<num>_<env>[_<overrides>]``."""
    parts = [str(num), run_name(env_id), *([override_dirname] if override_dirname else [])]
    return "_".join(parts)


OmegaConf.register_new_resolver("data_dir", data_dir, replace=True)
OmegaConf.register_new_resolver("run_name", run_name, replace=True)
OmegaConf.register_new_resolver("job_dir", job_dir, replace=True)
OmegaConf.register_new_resolver("make_dirs", make_dirs, replace=True)
OmegaConf.register_new_resolver("hydra_output_subdir", hydra_output_subdir, replace=True)
logging.getLogger("OpenGL").setLevel(logging.WARNING)  # its import-time INFO line is noise


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="train")
@guarded("gail-train")
def _train_app(cfg: DictConfig) -> float:
    """gail-train: GAIL on the chosen env from the expert file of dataset.path."""
    return run_training(cfg, imitation=True)


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="expert")
@guarded("gail-expert")
def _expert_app(cfg: DictConfig) -> float:
    """gail-expert: the same PPO on the environment's own reward."""
    return run_training(cfg, imitation=False)


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="eval")
@guarded("gail-eval")
def _eval_app(cfg: DictConfig) -> float:
    """gail-eval: mean and std return of a checkpoint, expert-normalized when possible."""
    return evaluate_checkpoint(cfg)


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="collect")
@guarded("gail-collect")
def _collect_app(cfg: DictConfig) -> float:
    """gail-collect: roll out a checkpoint and write its episodes as a D4RL HDF5 file."""
    return collect_dataset(cfg)


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="export")
@guarded("gail-export")
def _export_app(cfg: DictConfig) -> None:
    """gail-export: the deterministic policy of a checkpoint as TorchScript or ONNX."""
    export_checkpoint(cfg)


train = console_script(_train_app, "gail-train")
expert = console_script(_expert_app, "gail-expert")
evaluate = console_script(_eval_app, "gail-eval")
collect = console_script(_collect_app, "gail-collect")
export = console_script(_export_app, "gail-export")
