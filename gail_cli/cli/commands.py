"""The six console scripts described once: what each does, its usage, its most-used keys.

Each command's ``--help`` page starts with :func:`help_page` (what the command does, the
one-line usage, the six commands, its most-used keys, where the docs are); Hydra's own
page follows it.
"""

from __future__ import annotations

from dataclasses import dataclass

from gail_cli.cli.command_line import CommandInfo

DOCS = "README.md and docs/ of the gail-cli source; start with docs/running.md"


@dataclass(frozen=True)
class Command:
    """One console script: its page's text and what its command-line check needs."""

    name: str
    # one line for the list of commands
    brief: str
    summary: str
    usage: str
    # (key, meaning) of the keys most often set, at most ten
    keys: tuple[tuple[str, str], ...]
    info: CommandInfo | None = None


_TRAIN_KEYS = (
    ("env", "env option: HalfCheetah-v4, Hopper-v4, Walker2d-v4, Ant-v4, CartPole-v1, ..."),
    ("env.id", "any gymnasium id, or <module>:<EnvId> for your own env"),
    ("env.kwargs.<name>", "keyword arguments for gym.make (e.g. env.kwargs.g=9.81)"),
    ("seed", "seeds torch, numpy and the envs (default 0)"),
    ("device", "auto, cpu or cuda"),
    ("dataset.path", "expert HDF5 file (default: the shipped one; shipped:<env> names it)"),
    ("dataset.num_trajectories", "use only the first N expert episodes"),
    ("trainer.total_env_steps", "budget in env steps"),
    ("trainer.num_envs", "parallel envs per rollout"),
    ("resume", "<run dir or checkpoint>: continue that run in its own folder"),
)

COMMANDS: dict[str, Command] = {
    command.name: command
    for command in (
        Command(
            "gail-train",
            "GAIL training from expert demonstrations (the main job)",
            "trains a policy by GAIL (generative adversarial imitation learning) from expert "
            "demonstrations; TensorBoard logs, checkpoints and metrics.json go to "
            "outputs/<env>/<date>_<time>/.",
            "gail-train [-m] [key=value ...]",
            _TRAIN_KEYS,
            CommandInfo("train", "resume", data_key="dataset.path", resumable=True),
        ),
        Command(
            "gail-expert",
            "trains an expert by PPO on the env's own reward",
            "trains an expert with the same PPO on the environment's own reward "
            "(outputs/experts/<env>/<date>_<time>/).",
            "gail-expert [-m] [key=value ...]",
            tuple(kv for kv in _TRAIN_KEYS if not kv[0].startswith("dataset.")),
            CommandInfo("expert", "resume", resumable=True),
        ),
        Command(
            "gail-collect",
            "writes a saved policy's episodes as a demonstration file",
            "rolls out a saved policy and writes its episodes as a D4RL-layout HDF5 file.",
            "gail-collect checkpoint=<ckpt or run dir> out=<file.hdf5> [episodes=25]",
            (
                ("checkpoint", "a .pt file, a run dir, or shipped:<env>"),
                ("out", "the HDF5 file to write"),
                ("episodes", "episodes to record (default 25)"),
                ("deterministic", "mean actions (true) or sampled actions (false)"),
                ("overwrite", "replace an existing out file"),
                ("seed", "seeds the episodes"),
            ),
            CommandInfo("collect", "checkpoint", "ckpt or run dir"),
        ),
        Command(
            "gail-eval",
            "mean/std return of a saved policy, normalized; videos",
            "rolls out a saved policy and prints its mean and std return, normalized by "
            "the expert's; optionally writes a video.",
            "gail-eval checkpoint=<ckpt or run dir> [episodes=10] [video=true]",
            (
                ("checkpoint", "a .pt file, a run dir, or shipped:<env>"),
                ("episodes", "episodes to play (default 10)"),
                ("deterministic", "mean actions (true) or sampled actions (false)"),
                ("expert", "expert file whose return normalizes the score"),
                ("video", "true: write one episode as mp4"),
                ("video_path", "where the mp4 goes"),
                ("seed", "seeds the episodes"),
            ),
            CommandInfo("eval", "checkpoint", "ckpt or run dir", data_key="expert"),
        ),
        Command(
            "gail-export",
            "a saved policy as TorchScript or ONNX",
            "writes a checkpoint's deterministic policy as TorchScript (.pt) or ONNX (.onnx).",
            "gail-export checkpoint=<ckpt or run dir> out=<file.pt|file.onnx>",
            (
                ("checkpoint", "a .pt file, a run dir, or shipped:<env>"),
                ("out", "file.pt (TorchScript) or file.onnx"),
                ("overwrite", "replace an existing out file"),
            ),
            CommandInfo("export", "checkpoint", "ckpt or run dir"),
        ),
        Command(
            "gail-report",
            "table and learning curves of a sweep",
            "tabulates a sweep's runs and plots their learning curves (report.md and PNGs).",
            "gail-report <sweep dir> [--out <folder>] [--baseline <sweep dir>]",
            (),
        ),
    )
}


def command_list() -> str:
    """The six commands, one line each."""
    return "\n".join(["commands:", *(f"  {c.name:<13} {c.brief}" for c in COMMANDS.values())])


def help_page(program: str) -> str:
    """The program's own help text, shown before Hydra's section."""
    command = COMMANDS[program]
    lines = [f"{program}: {command.summary}", "", f"usage: {command.usage}", "", command_list()]
    if command.keys:
        width = max(len(key) for key, _ in command.keys)
        lines += ["", "most-used keys (key=value; every key: docs/configuration.md):"]
        lines += [f"  {key:<{width}}  {meaning}" for key, meaning in command.keys]
    lines += [
        "",
        "paths accept ~ and $VARS; shipped:<env> names a shipped expert (e.g. "
        "checkpoint=shipped:Hopper-v4).",
        f"docs: {DOCS}",
    ]
    return "\n".join(lines)
