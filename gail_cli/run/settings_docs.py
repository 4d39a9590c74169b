"""Write the config group files and the key tables of the docs from the settings dataclasses.

``python -m gail_cli.run.settings_docs`` (``make docs``) regenerates, in a source checkout:

- each group file of :data:`GROUP_FILES` (``conf/ppo/default.yaml``, ...): every field's
  default with its one-line meaning as a comment above it;
- the key tables between ``<!-- BEGIN GENERATED <name> -->`` and ``<!-- END GENERATED
  <name> -->`` in docs/configuration.md and README.md, and the table of per-env tuned
  settings (conf/env/gail/) in docs/configuration.md;
- the ``algorithm:`` block of conf/algorithm/dac.yaml and docs/offpolicy.md's table of its
  keys, from :class:`gail_cli.algo.sac.SACConfig`.

``--check`` writes nothing and exits 1 naming the stale files; tests/test_settings_docs.py
does the same in memory. A setting is declared once, with :func:`gail_cli.settings.setting`;
keys that no dataclass holds (top level, the dataset group) are declared once here, in
:data:`OTHER_KEYS`. A new settings group is one more entry of :data:`GROUP_FILES`.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from gail_cli.algo.sac import SACConfig
from gail_cli.data.atomic import atomic_path
from gail_cli.errors import EXIT_BAD_INPUT
from gail_cli.settings import (
    DOC,
    TIANSHOU_DEFAULT,
    DiscriminatorConfig,
    NetConfig,
    PolicyConfig,
    PPOConfig,
    TrainerConfig,
)

SOURCE_ROOT = Path(__file__).resolve().parents[2]
COMMENT_WIDTH = 88


class GroupFile(NamedTuple):
    """A config group option whose file is generated from a settings dataclass."""

    group: str  # the config group, the keys' prefix: "ppo"
    option: str  # the file's name in conf/<group>/ without .yaml: "default"
    settings: type  # the dataclass holding the defaults


GROUP_FILES: tuple[GroupFile, ...] = (
    GroupFile("policy", "mlp", PolicyConfig),
    GroupFile("critic", "mlp", NetConfig),
    GroupFile("discriminator", "mlp", DiscriminatorConfig),
    GroupFile("ppo", "default", PPOConfig),
    GroupFile("trainer", "default", TrainerConfig),
)


class Key(NamedTuple):
    """One documented key: its dotted name, default as shown in the docs, meaning, and
    Tianshou 2's default where it differs (None: no difference)."""

    name: str
    default: str
    meaning: str
    tianshou_default: str | None = None


# Keys held by no dataclass: the top level of train.yaml, the env and dataset groups. Their
# values live in conf/train.yaml, conf/env/*.yaml and conf/dataset/default.yaml, their
# meaning here only.
OTHER_KEYS: dict[str, tuple[Key, ...]] = {
    "top level": (
        Key(
            "env",
            "`HalfCheetah-v4`",
            "the env option (conf/env/): sets `env.id` (the gymnasium id) and "
            "`env.expert_file` (the shipped expert file), and picks the per-env tuned "
            "settings",
        ),
        Key("seed", "0", "seeds torch, numpy and the envs (evaluation uses `seed + 1000003`)"),
        Key(
            "device",
            "`auto`",
            "`auto` (the faster of CPU and CUDA for this config, timed at start; the run's "
            "first line says which and why), `cpu`, `cuda`",
        ),
        Key("threads", "`auto`", "torch threads; `auto` = 1 (small networks beside the simulator)"),
        Key("resume", "null", "a run dir or checkpoint file to continue from its last checkpoint"),
        Key("env_tuning", "null", "set by a per-env file: `{file, sets}` (read-only information)"),
        Key(
            "hparams_search",
            "null",
            "`gail_optuna` or `halfcheetah_optuna`: an Optuna search ([sweeps.md](sweeps.md))",
        ),
    ),
    "env": (
        Key(
            "env.id",
            "the option's id",
            "the gymnasium id (any id with Box or Discrete spaces), or `<module>:<EnvId>` for "
            "your own env: the module is imported first ([envs.md](envs.md#your-own-environment))",
        ),
        Key(
            "env.kwargs",
            "`{}`",
            "free-form: keyword arguments for `gym.make` (`env.kwargs.ctrl_cost_weight=0.2`, "
            "`env.kwargs.max_episode_steps=500`)",
        ),
        Key(
            "env.wrappers",
            "`[]`",
            "wrapper classes by import path, applied in order: each `pkg.module.Wrapper` or "
            "`{path: ..., kwargs: {...}}`",
        ),
        Key(
            "env.expert_file",
            "the option's file",
            "the shipped expert file (in data/experts/) used when `dataset.path` is not given",
        ),
        Key(
            "env.random_return",
            "null (discrete options: set)",
            "mean return of uniformly random actions (100 episodes, seeds 0-99; "
            "`benchmarks/random_returns.py`); where set, scores are normalized as "
            "(R - R_random) / (R_expert - R_random), else as R / R_expert",
        ),
    ),
    "dataset": (
        Key(
            "dataset.path",
            "`data/experts/<env.expert_file>`",
            "expert HDF5 file (D4RL or Minari layout); `~` and `$VARS` expand",
        ),
        Key(
            "dataset.minari_id",
            "null",
            "a dataset id of Minari's local store, read instead of `dataset.path` "
            "(never downloaded; [minari.md](minari.md))",
        ),
        Key(
            "dataset.num_trajectories",
            "null",
            "use only the first N expert episodes (null = all)",
        ),
        Key(
            "dataset.subsample",
            "null",
            "then keep every N-th (observation, action) pair of each kept episode, from a "
            "random offset per episode drawn from `seed` (the GAIL paper: 20); null = all",
        ),
    ),
}

# The keys README.md's table shows, in its order.
README_KEYS = (
    "env",
    "seed",
    "device",
    "dataset.path",
    "dataset.num_trajectories",
    "dataset.subsample",
    "trainer.total_env_steps",
    "trainer.num_envs",
    "trainer.eval_every",
    "trainer.bc_init_steps",
    "trainer.obs_normalization",
    "ppo.lr",
    "discriminator.lr",
    "discriminator.reward_form",
    "policy.log_std_init",
)


# -- value formats --------------------------------------------------------------------


def yaml_value(value: Any) -> str:
    """``value`` as YAML that loads back equal (lists and mappings in flow style)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        mantissa, exp_mark, exponent = text.partition("e")
        if exp_mark and "." not in mantissa:  # YAML 1.1 reads 1e-05 as a string
            text = f"{mantissa}.0e{exponent}"
        return {"inf": ".inf", "-inf": "-.inf", "nan": ".nan"}.get(text, text)
    if isinstance(value, str):
        dumped = yaml.safe_dump(value, default_flow_style=True, width=10_000)
        return dumped.removesuffix("\n").removesuffix("\n...")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(yaml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {yaml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no YAML form for a {type(value).__name__}: {value!r}")


def markdown_value(value: Any) -> str:
    """``value`` as the docs show it: 3e-4, 2,048, `tanh`, [64, 64], null."""
    if isinstance(value, float) and value != 0 and abs(value) < 1e-2:
        mantissa, exponent = f"{value:e}".split("e")
        return f"{float(mantissa):g}e{int(exponent)}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 1000:
        return f"{value:,}"
    if isinstance(value, str):
        return f"`{value}`"
    return yaml_value(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


# -- dataclass fields -----------------------------------------------------------------


def _has_default(field: dataclasses.Field[Any]) -> bool:
    return field.default is not dataclasses.MISSING or field.default_factory is not (
        dataclasses.MISSING
    )


def _default(field: dataclasses.Field[Any]) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    factory = field.default_factory
    assert callable(factory), field.name
    return factory()


def _documented_fields(cls: type) -> Iterator[dataclasses.Field[Any]]:
    for field in dataclasses.fields(cls):
        if DOC not in field.metadata or not _has_default(field):
            raise ValueError(
                f"{cls.__name__}.{field.name} is declared without setting(default, doc); "
                "declare it with gail_cli.settings.setting"
            )
        yield field


def group_keys(cls: type, prefix: str) -> Iterator[tuple[Key, Any]]:
    """(Key, default value) of each field, nested dataclasses as dotted keys."""
    for field in _documented_fields(cls):
        name, value = f"{prefix}.{field.name}", _default(field)
        if dataclasses.is_dataclass(value):
            yield from group_keys(type(value), name)
            continue
        tianshou = field.metadata.get(TIANSHOU_DEFAULT, ...)
        tianshou_text = None if tianshou is ... else markdown_value(tianshou)
        yield Key(name, markdown_value(value), field.metadata[DOC], tianshou_text), value


def _first_paragraph(cls: type) -> str:
    doc = cls.__doc__ or ""
    return " ".join(doc.split("\n\n")[0].split())


# -- generated text -------------------------------------------------------------------


def _comment(text: str, indent: str) -> list[str]:
    return textwrap.wrap(
        text, COMMENT_WIDTH, initial_indent=f"{indent}# ", subsequent_indent=f"{indent}# "
    )


def _yaml_body(cls: type, indent: str = "") -> list[str]:
    lines: list[str] = []
    for field in _documented_fields(cls):
        value = _default(field)
        doc = field.metadata[DOC]
        if TIANSHOU_DEFAULT in field.metadata:
            doc += f" (Tianshou 2: {yaml_value(field.metadata[TIANSHOU_DEFAULT])})"
        lines += _comment(doc, indent)
        if dataclasses.is_dataclass(value):
            lines.append(f"{indent}{field.name}:")
            lines += _yaml_body(type(value), indent + "  ")
        else:
            lines.append(f"{indent}{field.name}: {yaml_value(value)}")
    return lines


def group_yaml(entry: GroupFile) -> str:
    """The text of conf/<group>/<option>.yaml."""
    cls = entry.settings
    header = [
        f"# Generated from {cls.__module__}.{cls.__name__} by `make docs`: edit the",
        "# dataclass, not this file. Meaning of each key: docs/configuration.md.",
        *_comment(_first_paragraph(cls), ""),
    ]
    return "\n".join([*header, *_yaml_body(cls)]) + "\n"


def key_table(keys: list[Key]) -> str:
    """A markdown table of keys; Tianshou 2's column only where one of them differs."""
    with_tianshou = any(k.tianshou_default is not None for k in keys)
    head = ["key", "default", *(["Tianshou 2"] if with_tianshou else []), "meaning"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key in keys:
        cells = [f"`{key.name}`", key.default]
        if with_tianshou:
            cells.append(key.tianshou_default or "")
        cells.append(key.meaning)
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(rows)


def all_keys() -> dict[str, Key]:
    """Every documented key by dotted name: OTHER_KEYS, then each group's fields."""
    keys = {k.name: k for group in OTHER_KEYS.values() for k in group}
    for entry in GROUP_FILES:
        keys.update((k.name, k) for k, _ in group_keys(entry.settings, entry.group))
    return keys


def configuration_tables() -> str:
    """The generated part of docs/configuration.md: one section per group."""
    sections = []
    for title, keys in OTHER_KEYS.items():
        sections.append(f"### {title}\n\n{key_table(list(keys))}")
    for entry in GROUP_FILES:
        group_list = [k for k, _ in group_keys(entry.settings, entry.group)]
        intro = _first_paragraph(entry.settings)
        sections.append(
            f"### {entry.group} (`{entry.settings.__name__}`)\n\n{intro}\n\n{key_table(group_list)}"
        )
    return "\n\n".join(sections)


def readme_table() -> str:
    keys = all_keys()
    missing = [name for name in README_KEYS if name not in keys]
    if missing:
        raise ValueError(f"README_KEYS names unknown keys: {missing}")
    return key_table([keys[name] for name in README_KEYS])


def replace_block(text: str, name: str, body: str, where: str, yaml_file: bool = False) -> str:
    """``text`` with the lines between the BEGIN/END GENERATED markers of ``name``
    replaced by ``body``: HTML comments in markdown, ``#`` comments in YAML."""
    if yaml_file:
        begin, end = f"# BEGIN GENERATED {name}", f"# END GENERATED {name}"
    else:
        begin, end = f"<!-- BEGIN GENERATED {name} -->", f"<!-- END GENERATED {name} -->"
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise ValueError(f"{where}: needs one '{begin}' line and, below it, one '{end}' line")
    head, rest = text.split(begin)
    _, tail = rest.split(end)
    return f"{head}{begin}\n{body}\n{end}{tail}"


def tuning_table(root: Path) -> str:
    """The per-env tuned settings of conf/env/gail/ as a table: one column per env file
    that sets ``env_tuning``, one row per key any of them sets."""
    tuned: dict[str, dict[str, Any]] = {}
    for path in sorted((root / "conf" / "env" / "gail").glob("*.yaml")):
        content = yaml.safe_load(path.read_text()) or {}
        if "env_tuning" in content:
            tuned[path.stem] = dict(_leaves(content, ""))
    keys = all_keys()
    rows = [name for name in keys if any(name in values for values in tuned.values())]
    unknown = {n for values in tuned.values() for n in values} - set(rows) - {"env_tuning"}
    if unknown:
        raise ValueError(f"conf/env/gail/ sets keys no settings declare: {sorted(unknown)}")
    lines = [
        "| key | default | " + " | ".join(tuned) + " |",
        "|" + "---|" * (len(tuned) + 2),
    ]
    for name in rows:
        cells = [markdown_value(v[name]) if name in v else "–" for v in tuned.values()]
        lines.append(f"| `{name}` | {keys[name].default} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _leaves(node: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """(dotted key, value) of each leaf of a YAML mapping; env_tuning itself is skipped."""
    for key, value in node.items():
        if key in ("env_tuning", "defaults") and not prefix:
            continue
        if isinstance(value, dict):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def algorithm_yaml() -> str:
    """The ``algorithm:`` mapping of conf/algorithm/dac.yaml, from SACConfig."""
    return "\n".join(["algorithm:", *_yaml_body(SACConfig, "  ")])


def algorithm_table() -> str:
    """docs/offpolicy.md's table of the ``algorithm.*`` keys, from SACConfig."""
    return key_table([k for k, _ in group_keys(SACConfig, "algorithm")])


def generated_files(root: Path = SOURCE_ROOT) -> dict[Path, str]:
    """Each generated file under ``root`` and the text it should hold."""
    files = {
        root / "conf" / entry.group / f"{entry.option}.yaml": group_yaml(entry)
        for entry in GROUP_FILES
    }
    blocks = {
        root / "docs" / "configuration.md": {
            "per-env": tuning_table(root),
            "keys": configuration_tables(),
        },
        root / "README.md": {"most-used keys": readme_table()},
        root / "docs" / "offpolicy.md": {"algorithm keys": algorithm_table()},
        root / "conf" / "algorithm" / "dac.yaml": {"algorithm keys": algorithm_yaml()},
    }
    for path, bodies in blocks.items():
        text = path.read_text()
        for name, body in bodies.items():
            text = replace_block(text, name, body, str(path), yaml_file=path.suffix == ".yaml")
        files[path] = text
    return files


def stale_files(root: Path = SOURCE_ROOT) -> list[Path]:
    """The generated files whose text differs from what the dataclasses give."""
    return [
        path
        for path, text in generated_files(root).items()
        if not path.is_file() or path.read_text() != text
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gail_cli.run.settings_docs")
    parser.add_argument("--root", type=Path, default=SOURCE_ROOT, help="the source tree")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    try:
        files = generated_files(args.root)
    except (ValueError, OSError) as exc:
        print(f"settings_docs: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    stale = [p for p, text in files.items() if not p.is_file() or p.read_text() != text]
    for path in stale:
        if args.check:
            print(f"stale: {path.relative_to(args.root)}")
            continue
        with atomic_path(path) as tmp:
            tmp.write_text(files[path])
        print(f"wrote {path.relative_to(args.root)}")
    if args.check and stale:
        print("run `make docs` to regenerate them", file=sys.stderr)
        return 1
    if not stale:
        print("every generated file is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
