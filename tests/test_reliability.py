"""Bad input refused cleanly, interruption and resume, NaN guard, determinism, safe loading."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from conftest import BIN, TINY, make_expert_file, one_error_line, run_cli
from hydra import compose, initialize_config_module
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import gail_cli.cli.apps  # noqa: F401  (registers the data_dir resolver)
from gail_cli.cli.hydra_errors import console_script
from gail_cli.cli.report import read_run
from gail_cli.data.checkpoint import load_checkpoint, save_checkpoint
from gail_cli.errors import GailError
from gail_cli.run.build import build_trainer
from gail_cli.run.logger import RunLogger
from gail_cli.run.trainer import TrainingDiverged


@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Files of an earlier run that no failed command may touch."""
    run = tmp_path_factory.mktemp("earlier")
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "last.pt").write_bytes(b"earlier checkpoint")
    (run / "metrics.json").write_text('{"env_steps": 1}')
    return run


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- bad expert files ---------------------------------------------------------------


def _not_hdf5(path: Path) -> None:
    path.write_text("observations,actions\n1,2\n")


def _missing_key(path: Path) -> None:
    with h5py.File(path, "w") as f:
        f["observations"] = np.zeros((10, 17), np.float32)
        f["actions"] = np.zeros((10, 6), np.float32)


def _wrong_dims(path: Path) -> None:
    with h5py.File(path, "w") as f:
        for key, shape in (("observations", (10, 11)), ("actions", (10, 3))):
            f[key] = np.zeros(shape, np.float32)
        for key in ("rewards", "terminals", "timeouts"):
            f[key] = np.zeros(10)


def _with_nan(path: Path) -> None:
    make_expert_file(path)
    with h5py.File(path, "r+") as f:
        obs = f["observations"][()]
        obs[5, 3] = np.nan
        del f["observations"]
        f["observations"] = obs


def _empty(path: Path) -> None:
    with h5py.File(path, "w") as f:
        f["observations"] = np.zeros((0, 17), np.float32)
        f["actions"] = np.zeros((0, 6), np.float32)
        for key in ("rewards", "terminals", "timeouts"):
            f[key] = np.zeros(0)


@pytest.mark.parametrize(
    ("make_file", "extra", "expected"),
    [
        (None, [], "no such file"),
        (_not_hdf5, [], "not an HDF5 file"),
        (_missing_key, [], "missing key(s) ['rewards', 'terminals', 'timeouts']"),
        (_wrong_dims, [], "observations have 11 columns but the observation space"),
        (_with_nan, [], "observations holds 1 NaN or infinite value(s)"),
        (_empty, [], "the dataset is empty"),
        (make_expert_file, ["dataset.num_trajectories=99"], "holds only 3 episodes"),
        (make_expert_file, ["dataset.subsample=0"], "dataset.subsample=0 must be a positive"),
        (make_expert_file, ["dataset.subsample=100000"], "longer than the shortest kept episode"),
    ],
)
def test_bad_expert_file_is_refused_before_training(
    tmp_path: Path, earlier_run: Path, make_file, extra: list[str], expected: str
) -> None:
    path = tmp_path / "expert.hdf5"
    if make_file is not None:
        make_file(path)
    before, earlier = (path.read_bytes() if path.exists() else None), _snapshot(earlier_run)
    result = run_cli(
        "gail-train", f"dataset.path={path}", *TINY, *extra, f"hydra.run.dir={tmp_path / 'run'}"
    )
    line = one_error_line(result, "gail-train")
    assert str(path) in line and expected in line, line
    assert not (tmp_path / "run" / "checkpoints").exists()
    assert (path.read_bytes() if path.exists() else None) == before
    assert _snapshot(earlier_run) == earlier


# -- bad configuration --------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            "env=Foo-v1",
            "Could not find 'env/Foo-v1' Available options: Acrobot-v1, Ant-v4, CartPole-v1, "
            "HalfCheetah-v4,",
        ),
        ("env.id=Foo-v0", "env.id='Foo-v0' is not a registered gymnasium id"),
        ("ppo.foo=1", "unknown key `ppo.foo`"),
        ("ppo.lr=abc", "ppo.lr='abc' has the wrong type: expected a number"),
        ("ppo.gamma=1.5", "ppo.gamma=1.5 is out of range: it must be in [0, 1]"),
        ("ppo.eps_clip=0", "ppo.eps_clip=0.0 is out of range: it must be > 0"),
        ("discriminator.disc_update_num=0", "discriminator.disc_update_num=0 is out of range"),
        ("discriminator.absorbing=maybe", "discriminator.absorbing='maybe' has the wrong type"),
        ("ppo.batch_size=4096", "ppo.batch_size=4096 is larger than trainer.steps_per_collect"),
        ("trainer.total_env_steps=-5", "trainer.total_env_steps=-5 is out of range"),
        ("hydra.run.dir=/proc/no/such/dir", "No such file or directory: /proc/no"),
    ],
)
def test_bad_config_is_one_line_and_exit_2(
    tmp_path: Path, expert_file: Path, earlier_run: Path, override: str, expected: str
) -> None:
    earlier = _snapshot(earlier_run)
    args = [f"dataset.path={expert_file}", *TINY]
    if not override.startswith("hydra.run.dir"):
        args.append(f"hydra.run.dir={tmp_path / 'run'}")
    result = run_cli("gail-train", *args, override)
    line = one_error_line(result, "gail-train")
    assert expected in line, line
    assert _snapshot(earlier_run) == earlier


# -- checkpoints ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny real gail-train run on the synthetic file."""
    folder = tmp_path_factory.mktemp("trained")
    expert = make_expert_file(folder / "HalfCheetah-v4.hdf5")
    run = folder / "run"
    result = run_cli("gail-train", f"dataset.path={expert}", *TINY, f"hydra.run.dir={run}")
    assert result.returncode == 0, result.stderr[-2000:]
    return run


def test_bad_checkpoints_are_refused(tmp_path: Path, trained_run: Path) -> None:
    truncated = tmp_path / "truncated.pt"
    data = (trained_run / "checkpoints" / "last.pt").read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    hopper_file = tmp_path / "hopper.hdf5"
    _wrong_dims(hopper_file)
    cases = [
        ("gail-eval", [f"checkpoint={tmp_path / 'missing.pt'}"], "no such file"),
        ("gail-eval", [f"checkpoint={truncated}"], "cannot be loaded"),
        (
            "gail-collect",
            [f"checkpoint={truncated}", f"out={tmp_path / 'o.hdf5'}"],
            "cannot be loaded",
        ),
        ("gail-train", [f"resume={truncated}"], "cannot be loaded"),
        ("gail-train", [f"resume={tmp_path}"], "no such file"),
        (
            "gail-eval",
            [f"checkpoint={trained_run}", f"expert={hopper_file}", "episodes=1"],
            "observations have 11 columns",
        ),
        ("gail-train", [f"resume={trained_run}", "env.id=Hopper-v4"], "not Hopper-v4"),
        ("gail-expert", [f"resume={trained_run}"], "is a gail-train checkpoint"),
    ]
    for program, args, expected in cases:
        result = run_cli(program, *args)
        line = one_error_line(result, program)
        assert expected in line, (program, args, line)
    assert not (tmp_path / "o.hdf5").exists()


class _Exploit:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {os.environ['GAIL_TEST_MARKER']}",))


def test_crafted_malicious_checkpoint_is_refused_without_running_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "pwned"
    monkeypatch.setenv("GAIL_TEST_MARKER", str(marker))
    zipped, raw = tmp_path / "zip.pt", tmp_path / "raw.pt"
    torch.save({"format_version": 1, "x": _Exploit()}, zipped)
    raw.write_bytes(pickle.dumps({"format_version": 1, "x": _Exploit()}))
    for path in (zipped, raw):
        with pytest.raises(GailError, match="cannot be loaded"):
            load_checkpoint(path)
    assert not marker.exists()


def test_checkpoint_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"env_id": "X", "value": torch.ones(3)})

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(GailError, match="could not be written: disk full"):
        save_checkpoint(path, {"env_id": "X", "value": torch.zeros(3)})
    assert torch.equal(load_checkpoint(path)["value"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


# -- interruption and resume ----------------------------------------------------------

LONG = [
    "trainer.total_env_steps=8192",
    "trainer.num_envs=2",
    "trainer.steps_per_collect=512",
    "trainer.eval_episodes=1",
    "trainer.eval_every=1024",
    "ppo.repeat_per_collect=2",
    # the shipped envs' 10,000 cloning steps, cut to a few (the first checkpoint is awaited)
    "trainer.bc_init_steps=20",
]


def _start(run: Path, expert: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BIN / "gail-train"), f"dataset.path={expert}", *LONG, f"hydra.run.dir={run}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")},
    )


def _wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.1)


def _steps(run: Path, tag: str) -> list[int]:
    events = EventAccumulator(str(run), size_guidance={"scalars": 0})
    events.Reload()
    return [event.step for event in events.Scalars(tag)]


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_saves_a_checkpoint_and_resume_completes(
    tmp_path: Path, expert_file: Path, sig: signal.Signals, code: int
) -> None:
    run = tmp_path / "run"
    proc = _start(run, expert_file)
    _wait_for(run / "checkpoints" / "last.pt", proc)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr[-2000:]
    assert "Traceback" not in stderr
    assert f"continue with: gail-train resume={run}" in stderr
    saved = load_checkpoint(run)
    assert 0 < saved["env_steps"] < 8192
    resumed = run_cli("gail-train", f"resume={run}", f"hydra.run.dir={tmp_path / 'resume'}")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads((run / "metrics.json").read_text())["env_steps"] == 8192
    steps = _steps(run, "time/env_steps_per_s")
    assert steps == sorted(set(steps))  # appended, no duplicate steps
    assert steps[-1] == 8192


def test_resume_into_the_runs_own_folder_leaves_its_hydra_config_intact(
    tmp_path: Path,
) -> None:
    """A Hopper run resumed with hydra.run.dir=<its folder> keeps its .hydra/*.yaml, so
    gail-report still reads it as Hopper (the resume command alone composes HalfCheetah);
    the resume's own composition is saved below .hydra/resume-<date-time>."""
    run = tmp_path / "run"
    budget = [*TINY, "trainer.total_env_steps=1024", "trainer.bc_init_steps=0"]
    first = run_cli("gail-train", "env=Hopper-v4", *budget, f"hydra.run.dir={run}")
    assert first.returncode == 0, first.stderr[-2000:]
    saved = {path.name: path.read_bytes() for path in (run / ".hydra").glob("*.yaml")}
    assert set(saved) == {"config.yaml", "hydra.yaml", "overrides.yaml"}
    resumed = run_cli(
        "gail-train", f"resume={run}", "trainer.total_env_steps=1536", f"hydra.run.dir={run}"
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert {path.name: path.read_bytes() for path in (run / ".hydra").glob("*.yaml")} == saved
    assert read_run(run).env == "Hopper-v4"
    assert json.loads((run / "metrics.json").read_text())["env_steps"] == 1536
    (record,) = (run / ".hydra").glob("resume-*/overrides.yaml")
    assert f"resume={run}" in record.read_text()


def test_kill_9_leaves_the_previous_checkpoint_loadable(tmp_path: Path, expert_file: Path) -> None:
    run = tmp_path / "run"
    proc = _start(run, expert_file)
    _wait_for(run / "checkpoints" / "last.pt", proc)
    time.sleep(1.5)  # somewhere in the middle of later work, perhaps a save
    proc.kill()
    proc.communicate(timeout=60)
    checkpoint = load_checkpoint(run)
    assert checkpoint["env_steps"] > 0
    assert all(torch.isfinite(p).all() for p in checkpoint["agent"]["actor"].values())


# -- NaN guard and determinism ----------------------------------------------------------


def test_nan_in_training_stops_with_the_statistic_and_step_named(
    tmp_path: Path, expert_file: Path
) -> None:
    with initialize_config_module("gail_cli.conf", version_base="1.3"):
        cfg = compose("train", [f"dataset.path={expert_file}", *TINY, "trainer.eval_every=512"])
    trainer, _ = build_trainer(cfg, tmp_path, imitation=True)
    update, calls = trainer.agent.learner.update, []

    def poisoned(rollout):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 3:
            with torch.no_grad():
                trainer.agent.actor.log_std.fill_(float("nan"))
        return update(rollout)

    trainer.agent.learner.update = poisoned  # type: ignore[method-assign]
    logger = RunLogger(tmp_path, 2048)
    with pytest.raises(TrainingDiverged, match=r"train/\w+ is nan at env step 1536"):
        trainer.run(logger)
    logger.close()
    trainer.close()
    kept = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    assert kept["env_steps"] == 1024
    assert torch.isfinite(kept["agent"]["actor"]["log_std"]).all()


def test_same_seed_gives_identical_metrics(tmp_path: Path, expert_file: Path) -> None:
    figures = []
    for name in ("a", "b"):
        run = tmp_path / name
        result = run_cli("gail-train", f"dataset.path={expert_file}", *TINY, f"hydra.run.dir={run}")
        assert result.returncode == 0, result.stderr[-2000:]
        metrics = json.loads((run / "metrics.json").read_text())
        figures.append({k: v for k, v in metrics.items() if not k.startswith("time/")})
    assert figures[0] == figures[1]


def test_ctrl_c_before_the_run_starts_is_one_line_and_exit_130(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    monkeypatch.setattr(sys, "argv", ["gail-train"])  # the command line is checked first

    def composing_app() -> None:
        raise KeyboardInterrupt  # what Ctrl-C raises while Hydra composes the config

    with pytest.raises(SystemExit) as exit_info:
        console_script(composing_app, "gail-train")()
    assert exit_info.value.code == 130
    err = capsys.readouterr().err
    assert err == "gail-train: interrupted before the run started\n"


@pytest.mark.parametrize("users_setting", [None, "0"])
def test_the_console_script_leaves_hydra_full_error_as_it_found_it(
    users_setting: str | None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the wrapper sets HYDRA_FULL_ERROR=1 while the app runs (so that Hydra's errors reach
    # it); an in-process caller must get its own setting back, on success and on error
    if users_setting is None:
        monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    else:
        monkeypatch.setenv("HYDRA_FULL_ERROR", users_setting)
    monkeypatch.setattr(sys, "argv", ["gail-train"])  # the command line is checked first
    seen_inside = []

    def succeeding_app() -> None:
        seen_inside.append(os.environ.get("HYDRA_FULL_ERROR"))

    def failing_app() -> None:
        seen_inside.append(os.environ.get("HYDRA_FULL_ERROR"))
        raise ValueError("bad override")

    console_script(succeeding_app, "gail-train")()
    assert os.environ.get("HYDRA_FULL_ERROR") == users_setting
    with pytest.raises(SystemExit) as exit_info:
        console_script(failing_app, "gail-train")()
    assert exit_info.value.code == 2
    assert os.environ.get("HYDRA_FULL_ERROR") == users_setting
    assert seen_inside == ["1", "1"]
    assert capsys.readouterr().err == "gail-train: error: bad override\n"
