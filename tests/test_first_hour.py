"""A new user's first hour: each trap ends in one clear line, or works as meant.

Most cases run the console scripts in this process (the real Hydra apps, the command
line set through sys.argv) from an empty folder; the own-env round trip runs them as
subprocesses, as a user would.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
from conftest import BIN, REPO, run_cli
from omegaconf import OmegaConf

from gail_cli.cli import apps
from gail_cli.cli.command_line import prepare_overrides, split_command_line
from gail_cli.cli.commands import COMMANDS
from gail_cli.cli.paths import expand_path_keys, shipped_file
from gail_cli.data import checkpoint as checkpoint_module
from gail_cli.data.checkpoint import load_checkpoint, save_checkpoint
from gail_cli.errors import GailError
from gail_cli.run.env_recipe import EnvRecipe, recipe_from_mapping
from gail_cli.run.envs import make_single_env, make_vector_env

OWN_ENVS = REPO / "tests" / "own_envs"
APPS: dict[str, Callable[[], None]] = {
    "gail-train": apps.train,
    "gail-expert": apps.expert,
    "gail-eval": apps.evaluate,
    "gail-collect": apps.collect,
    "gail-export": apps.export,
}


@pytest.fixture
def in_empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run from an empty folder; put the root logger's handlers back afterwards (Hydra's
    job logging adds its own to it in this process)."""
    monkeypatch.chdir(tmp_path)
    handlers = list(logging.getLogger().handlers)
    yield tmp_path
    logging.getLogger().handlers[:] = handlers


def run_app(
    program: str, *args: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """Run a console script in this process: (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", [program, *args])
    code = 0
    try:
        APPS[program]()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line(err: str, program: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{program}: error: "), err
    return lines[0]


def prepared(program: str, *args: str) -> list[str]:
    """The overrides Hydra would get for this command line."""
    info = COMMANDS[program].info
    assert info is not None
    return prepare_overrides(program, info, split_command_line(args)).overrides


# -- unknown keys --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "closest"),
    [
        ("trainer.total_steps=4096", "trainer.total_env_steps"),
        ("+trainer.total_steps=4096", "trainer.total_env_steps"),
        ("++trainer.total_steps=4096", "trainer.total_env_steps"),
        ("+discriminator.lr_decy=true", "discriminator.lr_decay"),
        ("+dataset.num_trajectory=4", "dataset.num_trajectories"),
        ("+sed=3", "seed"),
        ("~ppo.eps_clp", "ppo.eps_clip"),
        ("trainr.num_envs=2", "trainer.num_envs"),
    ],
)
def test_an_unknown_key_is_refused_in_every_form_naming_the_closest(
    override: str, closest: str
) -> None:
    with pytest.raises(GailError, match=f"did you mean `{closest}`") as refused:
        prepared("gail-train", override)
    assert "To append" not in str(refused.value)


def test_an_unknown_key_with_nothing_close_lists_its_groups_keys() -> None:
    with pytest.raises(GailError, match=r"the keys of ppo are .*eps_clip, .*lr, ") as refused:
        prepared("gail-train", "ppo.learning_rate=1e-3")
    assert "did you mean" not in str(refused.value)


def test_the_unknown_key_line_reaches_the_user_alone_and_no_folder_is_made(
    in_empty_folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_app(
        "gail-train", "+trainer.total_steps=4096", monkeypatch=monkeypatch, capsys=capsys
    )
    assert code == 2
    assert "did you mean `trainer.total_env_steps`" in one_line(err, "gail-train")
    assert list(in_empty_folder.iterdir()) == []


def test_known_keys_group_options_and_free_form_env_kwargs_pass() -> None:
    overrides = prepared(
        "gail-train", "env=Hopper-v4", "ppo.lr=1e-4", "env.kwargs.g=9.81", "env.random_return=5"
    )
    # keys the env's own arguments or some env options define are added, not refused
    assert overrides == [
        "env=Hopper-v4",
        "ppo.lr=1e-4",
        "++env.kwargs.g=9.81",
        "++env.random_return=5",
    ]
    wrappers = "env.wrappers=[{path:gymnasium.wrappers.TimeLimit,kwargs:{max_episode_steps:9}}]"
    assert prepared("gail-expert", wrappers) == [wrappers]
    # the keys of the chosen env option are known, and no others
    assert prepared("gail-train", "env=CartPole-v1", "env.random_return=1") == [
        "env=CartPole-v1",
        "env.random_return=1",
    ]
    with pytest.raises(GailError, match=re.escape("unknown key `env.nonsense`")):
        prepared("gail-train", "env=CartPole-v1", "env.nonsense=1")


# -- paths ---------------------------------------------------------------------------


def test_a_tilde_path_is_quoted_for_hydra_and_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("DATA", str(tmp_path / "data"))
    overrides = prepared("gail-train", "dataset.path=~/d4rl/halfcheetah_expert-v2.hdf5")
    assert overrides == ["dataset.path='~/d4rl/halfcheetah_expert-v2.hdf5'"]
    assert prepared("gail-train", "hydra.run.dir=~/runs/a") == [
        f"hydra.run.dir='{tmp_path}/runs/a'"
    ]
    cfg = OmegaConf.create({"dataset": {"path": "~/d4rl/x.hdf5"}, "out": "$DATA/x.pt"})
    expand_path_keys(cfg, ("dataset.path", "out", "checkpoint"))
    assert cfg.dataset.path == str(tmp_path / "d4rl" / "x.hdf5")
    assert cfg.out == str(tmp_path / "data" / "x.pt")


def test_a_positional_path_gets_the_key_value_hint() -> None:
    with pytest.raises(GailError, match=re.escape("did you mean `checkpoint=outputs/Hopper-v4/x`")):
        prepared("gail-eval", "outputs/Hopper-v4/x")
    with pytest.raises(GailError, match=re.escape("did you mean `dataset.path=~/d.hdf5`")):
        prepared("gail-train", "~/d.hdf5")


def test_shipped_names_and_home_paths_work_from_any_folder(
    in_empty_folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOME", str(in_empty_folder))
    shutil.copy(shipped_file("CartPole-v1", "checkpoint"), in_empty_folder / "ck.pt")
    for checkpoint in ("shipped:CartPole-v1", "~/ck.pt"):
        code, out, err = run_app(
            "gail-eval",
            f"checkpoint={checkpoint}",
            "episodes=1",
            monkeypatch=monkeypatch,
            capsys=capsys,
        )
        assert code == 0, err
        assert out.startswith("CartPole-v1: return 500.0")
    code, _, err = run_app(
        "gail-eval", "checkpoint=shipped:Nope-v0", monkeypatch=monkeypatch, capsys=capsys
    )
    assert code == 2 and "the shipped experts are " in one_line(err, "gail-eval")
    assert "Hopper-v4" in err


# -- help pages ----------------------------------------------------------------------


@pytest.mark.parametrize("program", sorted(APPS))
def test_help_starts_with_the_programs_own_page(
    program: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_app(program, "--help", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0
    assert out.startswith(f"{program}: ")
    positions = [out.index(part) for part in ("usage:", "commands:", "most-used keys", "docs:")]
    assert positions == sorted(positions)
    assert all(name in out for name in COMMANDS)
    assert out.index("docs:") < out.index("== Hydra") < out.index("== Config ==")


def test_help_read_through_a_pipe_closed_early_is_not_an_error() -> None:
    """``gail-train --help | head -1``: the reader leaving early ends the command quietly."""
    reader = subprocess.Popen(
        [str(BIN / "gail-train"), "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert reader.stdout is not None and reader.stderr is not None
    first = reader.stdout.readline()
    reader.stdout.close()  # as `head -1` does
    err = reader.stderr.read().decode()
    assert reader.wait(timeout=120) == 0
    assert first.startswith(b"gail-train: ") and "error" not in err


# -- failed commands leave nothing; small edges ---------------------------------------


def test_ten_failed_commands_leave_no_folder_behind(
    in_empty_folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    failing = [
        ("gail-train", "ppo.lr=-1", "ppo.lr=-1.0 is out of range"),
        ("gail-train", "dataset.path=~/missing.hdf5", "no such file"),
        ("gail-train", "env.id=Hopper-v4", "use env=Hopper-v4"),
        ("gail-train", "seed=-1", "seed=-1 must be"),
        ("gail-train", "device=tpu", "device='tpu' is unknown"),
        ("gail-train", "trainer.total_steps=5", "did you mean"),
        ("gail-expert", "trainer.num_envs=0", "trainer.num_envs=0 is out of range"),
        ("gail-expert", "env.id=nomodule:Env-v0", "the module 'nomodule' cannot be imported"),
        ("gail-eval", "outputs/x", "not a key=value override"),
        ("gail-train", "resume=missing", "no such file"),
    ]
    monkeypatch.setenv("HOME", str(in_empty_folder))
    for program, arg, expected in failing:
        code, _, err = run_app(program, arg, monkeypatch=monkeypatch, capsys=capsys)
        assert code == 2 and expected in one_line(err, program), (arg, err)
    assert list(in_empty_folder.iterdir()) == []


def test_an_empty_sweep_and_a_missing_checkpoint_are_one_line(
    in_empty_folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_app(
        "gail-train", "-m", "seed=range(0,0)", monkeypatch=monkeypatch, capsys=capsys
    )
    assert code == 2 and "launch no job" in one_line(err, "gail-train")
    assert "Launching" not in out
    code, _, err = run_app("gail-eval", monkeypatch=monkeypatch, capsys=capsys)
    assert code == 2
    assert "checkpoint is not set; pass checkpoint=" in one_line(err, "gail-eval")


def test_cfg_job_shows_per_env_values_and_drops_keys_the_command_line_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_app(
        "gail-train", "--cfg", "job", "ppo.lr=1e-3", monkeypatch=monkeypatch, capsys=capsys
    )
    assert code == 0
    tuning = OmegaConf.create(out).env_tuning
    assert "policy.hidden_sizes=[256, 256]" in tuning.sets
    assert "discriminator.reward_form=airl" in tuning.sets
    assert not [line for line in tuning.sets if line.startswith("ppo.lr")]
    assert OmegaConf.create(out).ppo.lr == 1e-3


def test_a_full_disk_while_saving_says_so_and_what_was_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"value": torch.ones(3)})

    def truncated_write(*args: object, **kwargs: object) -> None:
        raise RuntimeError(
            "[enforce fail at inline_container.cc:672] . unexpected pos 7104 vs 6998"
        )

    monkeypatch.setattr(torch, "save", truncated_write)
    monkeypatch.setattr(
        checkpoint_module.shutil, "disk_usage", lambda _: shutil._ntuple_diskusage(1, 1, 0)
    )
    with pytest.raises(GailError) as refused:
        save_checkpoint(path, {"value": torch.zeros(3)})
    line = str(refused.value)
    assert "the disk is full" in line and "the previous last.pt is kept whole" in line
    assert "enforce fail" not in line
    assert torch.equal(load_checkpoint(path)["value"], torch.ones(3))


def test_the_minari_page_says_how_to_install_the_minari_command() -> None:
    text = (REPO / "docs" / "minari.md").read_text()
    assert "pip install" in text
    assert text.index("pip install") < text.index("minari download")


# -- your own environment -------------------------------------------------------------


@pytest.fixture
def own_envs_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(OWN_ENVS))
    monkeypatch.setenv("PYTHONPATH", str(OWN_ENVS))


def test_a_module_env_id_its_kwargs_and_wrappers_make_the_env(own_envs_importable: None) -> None:
    recipe = recipe_from_mapping(
        {
            "id": "myenvs:MyPendulum-v0",
            "kwargs": {"g": 3.5},
            "wrappers": [
                "gymnasium.wrappers.FlattenObservation",
                {"path": "gymnasium.wrappers:TimeLimit", "kwargs": {"max_episode_steps": 7}},
            ],
        }
    )
    env = make_single_env(recipe)
    assert env.unwrapped.g == 3.5
    env.reset(seed=0)
    lengths = [env.step(env.action_space.sample())[3] for _ in range(7)]
    assert lengths == [False] * 6 + [True]  # the wrapper's 7-step limit, not the env's 50
    envs = make_vector_env(EnvRecipe.from_json(recipe.to_json()), 2)
    assert envs.single_observation_space.shape == (3,)
    envs.close()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"id": "nomodule:X-v0"}, "the module 'nomodule' cannot be imported"),
        (
            {"id": "myenvs:MyPendulum-v9"},
            "registers no env 'MyPendulum-v9'; did you mean MyPendulum-v0",
        ),
        ({"id": "Pendulum-v1", "wrappers": ["gymnasium.wrappers.Nope"]}, "is not a class"),
        ({"id": "Pendulum-v1", "kwargs": {"gravity": 1}}, "check the names of env.kwargs"),
    ],
)
def test_each_bad_env_recipe_is_one_line_naming_which(
    own_envs_importable: None, env: dict, expected: str
) -> None:
    with pytest.raises(GailError, match=expected) as refused:
        make_vector_env(recipe_from_mapping(env), 1)
    assert "\n" not in str(refused.value)


OWN_TINY = [
    "trainer.total_env_steps=512",
    "trainer.num_envs=2",
    "trainer.steps_per_collect=256",
    "trainer.eval_episodes=2",
    "trainer.eval_every=512",
    "trainer.eval_in_background=false",
    "ppo.repeat_per_collect=1",
    "policy.hidden_sizes=[16]",
    "critic.hidden_sizes=[16]",
]


def test_own_env_round_trip_from_the_checkpoint_alone(
    in_empty_folder: Path,
    own_envs_importable: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """gail-expert on myenvs:MyPendulum-v0 with env.kwargs, then gail-collect, gail-train,
    resume and gail-eval (in a fresh process), each naming nothing of the env but a
    checkpoint or a file."""

    def run(program: str, *args: str) -> str:
        code, out, err = run_app(program, *args, monkeypatch=monkeypatch, capsys=capsys)
        assert code == 0, err
        return out

    env_keys = ["env.id=myenvs:MyPendulum-v0", "env.kwargs.g=9.81"]
    run("gail-expert", *env_keys, *OWN_TINY)
    (expert_run,) = (in_empty_folder / "outputs" / "experts" / "MyPendulum-v0").iterdir()
    assert load_checkpoint(expert_run)["env_id"] == "myenvs:MyPendulum-v0"
    run("gail-collect", f"checkpoint={expert_run}", "episodes=2", "out=my.hdf5")

    out = run("gail-train", *env_keys, "dataset.path=my.hdf5", *OWN_TINY)
    (run_dir,) = (in_empty_folder / "outputs" / "MyPendulum-v0").iterdir()
    assert out.splitlines()[0] == f"run dir: {run_dir} (watch: tensorboard --logdir outputs)"
    log = (run_dir / "run.log").read_text()
    assert "run dir:" in log and "done: 512 env steps" in log
    assert "g: 9.81" in load_checkpoint(run_dir)["config"]

    run("gail-train", f"resume={run_dir}", "trainer.total_env_steps=768")
    assert list((in_empty_folder / "outputs" / "MyPendulum-v0").iterdir()) == [run_dir]
    assert load_checkpoint(run_dir)["env_steps"] == 768
    assert "done: 768 env steps" in (run_dir / "run.log").read_text()  # appended

    evaluate = run_cli("gail-eval", f"checkpoint={run_dir}", "episodes=2", cwd=in_empty_folder)
    assert evaluate.returncode == 0, evaluate.stderr[-2000:]
    assert evaluate.stdout.startswith("myenvs:MyPendulum-v0: return -")
    assert "no normalized score" in evaluate.stdout  # Pendulum's returns are negative
