"""The command line, checked before Hydra sees it: every trap ends in one line, early.

Hydra accepts ``+trainer.total_steps=4096`` (a key nobody reads), fails on
``dataset.path=~/d4rl/file.hdf5`` with a lexer error, and creates a run folder before the
job can refuse its input. :func:`prepare_overrides` runs first and

- quotes the value of a path key that Hydra's grammar cannot read unquoted (``~/...``),
  and hints at ``key=value`` for a positional argument;
- refuses a key that no config file or settings dataclass defines, in any form (plain,
  ``+``, ``++``, ``~``), naming the closest known key;
- lets keys below a free-form node (:data:`FREE_FORM_KEYS`) be added without ``+``;
- refuses a sweep that would launch no job, and a required key left unset;
- sends ``resume=`` to the resumed run's own folder, so no new one is made.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from hydra import compose, initialize_config_module
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import HydraException
from omegaconf import DictConfig, ListConfig

from gail_cli.cli.paths import expand_user_path
from gail_cli.data.checkpoint import load_checkpoint
from gail_cli.errors import GailError

CONFIG_MODULE = "gail_cli.conf"

# keys that name a file or folder: their values may hold ~ and $VARS
PATH_KEYS = (
    "dataset.path",
    "checkpoint",
    "resume",
    "out",
    "video_path",
    "expert",
    "hydra.run.dir",
    "hydra.sweep.dir",
)

# nodes whose keys are the user's own (passed to gym.make): any key below them is accepted
FREE_FORM_KEYS = ("env.kwargs",)
# keys that only some options define (env.random_return: the three discrete envs'); any
# command line may set them
OPTIONAL_KEYS = ("env.random_return",)

# options of Hydra's own command line that print something instead of running a job
_PRINTING_OPTIONS = ("--help", "-h", "--hydra-help", "--cfg", "-c", "--info", "-i")


@dataclass
class CommandLine:
    """A command's arguments: Hydra's options (``-m``, ``--cfg job``) and the overrides."""

    options: list[str] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)

    @property
    def multirun(self) -> bool:
        return any(o in ("-m", "--multirun") for o in self.options)

    @property
    def prints_only(self) -> bool:
        return any(o.split("=", 1)[0] in _PRINTING_OPTIONS for o in self.options)

    def argv(self) -> list[str]:
        return [*self.options, *self.overrides]


_OPTIONS_WITH_VALUE: tuple[str, ...] = ("--cfg", "-c", "--package", "-p", "--config-path", "-cp")
_OPTIONS_WITH_VALUE += ("--config-name", "-cn", "--config-dir", "-cd", "--experimental-rerun")


def split_command_line(args: Iterable[str]) -> CommandLine:
    """Hydra's options (with their values) apart from the overrides, order kept in each."""
    line = CommandLine()
    pending_value = False
    for arg in args:
        if pending_value:
            line.options.append(arg)
            pending_value = False
        elif arg.startswith("-"):  # an override starts with a key, + or ~
            line.options.append(arg)
            pending_value = arg in _OPTIONS_WITH_VALUE
        elif arg in ("job", "hydra", "all") and line.options[-1:] in (["--info"], ["-i"]):
            line.options.append(arg)  # --info takes an optional value
        else:
            line.overrides.append(arg)
    return line


def _key_of(raw: str) -> str:
    return raw.split("=", 1)[0].lstrip("+~")


def _quoted(raw: str) -> str:
    """``key=value`` with the value in single quotes, as Hydra's grammar reads any text."""
    key, value = raw.split("=", 1)
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"{key}='{escaped}'"


@dataclass(frozen=True)
class CommandInfo:
    """What the command-line check needs to know of one console script."""

    config_name: str
    # the key a positional path most likely meant
    path_key: str
    # what a required (???) key holds, for the error's "pass key=<...>"
    required_value: str = "value"
    # the key a positional .hdf5 file most likely meant
    data_key: str | None = None
    resumable: bool = False


def parse_overrides(program: str, raw_overrides: list[str], command: CommandInfo) -> list[Override]:
    """Parse each override; a path value Hydra cannot read unquoted is quoted for it.

    Anything else that does not parse is refused with one line saying how to write it,
    a positional path with the key it most likely meant (``command.path_key``, or
    ``command.data_key`` for an HDF5 file).
    """
    parser = OverridesParser.create()
    parsed = []
    for index, raw in enumerate(raw_overrides):
        try:
            parsed += parser.parse_overrides([raw])
            continue
        except HydraException:
            pass
        if "=" not in raw:
            is_data = command.data_key and raw.endswith((".hdf5", ".h5"))
            suggestion = f"{command.data_key if is_data else command.path_key}={raw}"
            raise GailError(
                f"{raw!r} is not a key=value override: {program} takes key=value arguments, "
                f"not positional paths; did you mean `{suggestion}`?"
            )
        if _key_of(raw) in PATH_KEYS:
            try:
                parsed += parser.parse_overrides([_quoted(raw)])
                raw_overrides[index] = _quoted(raw)
                continue
            except HydraException:
                pass
        raise GailError(
            f"cannot read the override {raw!r}: quote its value for Hydra "
            f"(in the shell: \"{_key_of(raw)}='...'\"); see docs/running.md#command-lines"
        )
    return parsed


def _group_names() -> set[str]:
    """The config groups of conf/ as Hydra names them (``env``, ``env/gail``, ...)."""
    names: set[str] = set()

    def walk(folder: Any, prefix: str) -> None:
        for entry in folder.iterdir():
            if entry.is_dir() and not entry.name.startswith("__"):
                names.add(prefix + entry.name)
                walk(entry, f"{prefix}{entry.name}/")

    walk(resources.files(CONFIG_MODULE), "")
    return names


def _is_group_override(override: Override, groups: set[str]) -> bool:
    return override.key_or_group in groups and not override.is_delete()


def _group_choices(overrides: list[Override], groups: set[str]) -> Iterator[list[str]]:
    """Override lists that compose each swept group option at least once."""
    fixed: list[Override] = []
    swept: list[Override] = []
    for override in overrides:
        if override.key_or_group.startswith("hydra"):
            continue
        if _is_group_override(override, groups):
            (swept if override.is_sweep_override() else fixed).append(override)
    base = [o.input_line or "" for o in fixed]
    yield base
    for sweep in swept:
        plus = "+" if sweep.is_add() else ""
        for option in sweep.sweep_string_iterator():
            yield [*base, f"{plus}{sweep.key_or_group}={option}"]


def known_keys(config_name: str, group_overrides: Iterable[list[str]]) -> dict[str, Any]:
    """Every dotted key the app's config defines (and its value) for these group choices.

    Hydra's own ``hydra.*`` keys are left out: Hydra checks them itself.
    """
    keys: dict[str, Any] = {}
    with initialize_config_module(config_module=CONFIG_MODULE, version_base="1.3"):
        for overrides in group_overrides:
            cfg = compose(config_name=config_name, overrides=overrides)
            keys.update(_flatten(cfg, ""))
    return keys


def _flatten(node: Any, prefix: str) -> dict[str, Any]:
    """{dotted key: raw value} for every node and leaf below ``node`` (values unresolved)."""
    out: dict[str, Any] = {}
    if not isinstance(node, DictConfig):
        return out
    for key in node:
        dotted = f"{prefix}{key!s}"
        if dotted == "hydra":
            continue
        value = node._get_node(key)
        if isinstance(value, DictConfig):
            out[dotted] = {}
            out.update(_flatten(value, f"{dotted}."))
        elif isinstance(value, ListConfig):
            out[dotted] = []
        elif value is not None:
            out[dotted] = value._value()
    return out


def _siblings(key: str, known: Iterable[str]) -> dict[str, str]:
    """{leaf name: dotted key} of the known keys in ``key``'s group (its prefix)."""
    group = key.rpartition(".")[0]
    return {k.rpartition(".")[2]: k for k in known if k.rpartition(".")[0] == group}


def closest_key(key: str, known: Iterable[str]) -> str | None:
    """The known key most like ``key``: a leaf name of its own group when the group is
    known (``ppo.eps_clp`` -> ``ppo.eps_clip``), else the closest whole key (a typo in the
    group's name: ``trainr.num_envs`` -> ``trainer.num_envs``)."""
    known = sorted(known)
    siblings = _siblings(key, known)
    if siblings:
        leaf = key.rpartition(".")[2]
        match = difflib.get_close_matches(leaf, list(siblings), n=1, cutoff=0.6)
        return siblings[match[0]] if match else None
    match = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return match[0] if match else None


def unknown_key_error(key: str, raw: str, known: Iterable[str]) -> GailError:
    """One line naming an unknown key, the closest known one and where the keys are listed."""
    known = list(known)
    suggestion = closest_key(key, known)
    if suggestion:
        hint = f"did you mean `{suggestion}`?"
    else:
        group = key.rpartition(".")[0] or "the top level"
        leaves = sorted(_siblings(key, known))
        hint = f"the keys of {group} are {', '.join(leaves)};" if leaves else "no key is close;"
    return GailError(
        f"unknown key `{key}` (in {raw}): no config group or setting defines it; {hint} "
        "every key is listed in docs/configuration.md"
    )


def _is_free_form(key: str) -> bool:
    return any(key.startswith(f"{node}.") for node in FREE_FORM_KEYS)


def check_keys(
    overrides: list[Override], raw_overrides: list[str], known: dict[str, Any], groups: set[str]
) -> None:
    """Refuse an override of an unknown key; let free-form keys be added without ``+``.

    ``raw_overrides`` (the command line's text of each override) is rewritten in place
    where a free-form key needs Hydra's ``++``.
    """
    for index, override in enumerate(overrides):
        key = override.key_or_group
        if key.startswith("hydra") or key in known or _is_group_override(override, groups):
            continue
        if _is_free_form(key) or key in OPTIONAL_KEYS:
            if not (override.is_add() or override.is_force_add() or override.is_delete()):
                raw_overrides[index] = "++" + raw_overrides[index]
            continue
        raise unknown_key_error(key, override.input_line or key, [*known, *OPTIONAL_KEYS])


def check_sweeps(overrides: list[Override]) -> None:
    """Refuse a multirun whose sweep of some key has no values (it would launch 0 jobs)."""
    for override in overrides:
        if override.is_sweep_override() and not list(override.sweep_string_iterator()):
            raise GailError(
                f"{override.input_line} gives no values, so the sweep would launch no job; "
                "check the range's bounds (range(start, stop) stops before stop)"
            )


def check_required(overrides: list[Override], known: dict[str, Any], describe: str) -> None:
    """Refuse a run that leaves a required key (``???`` in its config file) unset."""
    given = {o.key_or_group for o in overrides}
    for key, value in known.items():
        if value == "???" and key not in given:
            raise GailError(f"{key} is not set; pass {key}=<{describe}> (see --help)")


def resume_run_dir(overrides: list[Override]) -> list[str]:
    """``hydra.run.dir`` (the resumed run's own folder) for a ``resume=`` command line.

    Also ``hydra.output_subdir=null``: the run keeps the ``.hydra/`` it was started with.
    """
    values = {o.key_or_group: o for o in overrides}
    resume = values.get("resume")
    if resume is None or resume.is_sweep_override() or "hydra.run.dir" in values:
        return []
    value = resume.value()
    if not isinstance(value, str) or not value:
        return []
    run_dir = load_checkpoint(expand_user_path(value)).get("run_dir")
    if not run_dir:
        return []
    return [_quoted(f"hydra.run.dir={run_dir}"), "hydra.output_subdir=null"]


# Hydra's options that compose another config than the command's own: checked by Hydra
_OTHER_CONFIG_OPTIONS = ("--config-name", "-cn", "--config-path", "-cp", "--config-dir", "-cd")
# path keys Hydra itself reads (it makes these folders before the job starts)
_HYDRA_PATH_KEYS = ("hydra.run.dir", "hydra.sweep.dir")


def expand_hydra_paths(overrides: list[Override], raw_overrides: list[str]) -> None:
    """Expand ``~`` and ``$VARS`` in the folders Hydra makes itself, in place."""
    for index, override in enumerate(overrides):
        if override.key_or_group not in _HYDRA_PATH_KEYS or override.is_sweep_override():
            continue
        value = override.value()
        if isinstance(value, str) and ("~" in value or "$" in value):
            expanded = f"{override.key_or_group}={expand_user_path(value)}"
            raw_overrides[index] = _quoted(expanded)


def prepare_overrides(program: str, command: CommandInfo, line: CommandLine) -> CommandLine:
    """The command line Hydra should run, or GailError for the first trap found."""
    if any(option in _OTHER_CONFIG_OPTIONS for option in line.options):
        return line
    raw = list(line.overrides)
    overrides = parse_overrides(program, raw, command)
    expand_hydra_paths(overrides, raw)
    groups = _group_names()
    try:
        known = known_keys(command.config_name, _group_choices(overrides, groups))
    except HydraException:
        return CommandLine(line.options, raw)  # a bad group option: Hydra's own line says it
    check_keys(overrides, raw, known, groups)
    if line.multirun:
        check_sweeps(overrides)
    elif not line.prints_only:
        check_required(overrides, known, command.required_value)
        if command.resumable:
            raw += resume_run_dir(overrides)
    return CommandLine(line.options, raw)
