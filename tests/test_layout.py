"""The code's layout rules: no import cycle among gail_cli modules; one source of defaults."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest
import yaml

from gail_cli import settings as config
from gail_cli.algo.gail import REWARD_FORMS
from gail_cli.algo.nets import ACTIVATIONS
from gail_cli.run.settings_docs import GROUP_FILES, GroupFile

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gail_cli"
CONF = ROOT / "conf"
DESIGN = ROOT / "docs" / "design.md"


def module_names() -> dict[str, Path]:
    """Dotted name below gail_cli ("algo.ppo", "settings") -> source file."""
    return {
        ".".join(path.relative_to(PACKAGE).with_suffix("").parts): path
        for path in PACKAGE.rglob("*.py")
        if path.name != "__init__.py"
    }


def import_graph() -> dict[str, set[str]]:
    """gail_cli module -> the gail_cli modules it imports anywhere in its source.

    Imports inside functions and under ``if TYPE_CHECKING`` count too: they are still a
    dependency a reader has to follow.
    """
    modules = module_names()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for target in targets:
                parts = target.split(".")
                if parts[0] != "gail_cli":
                    continue
                for end in range(len(parts), 1, -1):
                    dotted = ".".join(parts[1:end])
                    if dotted in modules:
                        edges.add(dotted)
                        break
        edges.discard(name)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_find_cycle_finds_a_cycle_and_accepts_a_tree() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_gail_cli_import_graph_has_no_cycle() -> None:
    graph = import_graph()
    assert "algo.ppo" in graph["algo.gail"] and "settings" in graph["algo.ppo"]  # parsed
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph) or [])}"


def test_settings_and_records_depend_on_no_other_module() -> None:
    graph = import_graph()
    assert graph["settings"] <= {"errors"}
    assert graph["algo.records"] == set()


# The tiers, lowest first: a module may import from its own tier, a lower one, and the
# foundation (settings, errors), never from a higher tier. data and algo are side by
# side: neither imports the other.
ALLOWED_TIERS = {
    "algo": {"algo"},
    "data": {"data"},
    "run": {"run", "algo", "data"},
    "cli": {"cli", "run", "algo", "data"},
}


def tier(module: str) -> str:
    return module.split(".")[0] if "." in module else "foundation"


def test_each_tier_imports_only_from_the_tiers_below_it() -> None:
    graph = import_graph()
    assert {tier(m) for m in graph} == {*ALLOWED_TIERS, "foundation"}
    wrong = [
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if tier(target) != "foundation"
        and tier(target) not in ALLOWED_TIERS.get(tier(module), set())
    ]
    assert not wrong, "; ".join(wrong)


# -- the code map of docs/design.md -------------------------------------------------


def code_map_modules(markdown: str) -> list[str]:
    """The modules named in the first column of every ``| module | job |`` table."""
    names: list[str] = []
    in_table = False
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.lstrip().startswith("|"):
            in_table = False
        elif cells[:2] == ["module", "job"]:
            in_table = True
        elif in_table and not set(cells[0]) <= {"-", ":"}:
            names.append(cells[0].strip("`"))
    return names


def test_code_map_reader_reads_only_module_tables() -> None:
    module_table = ["| module | job |", "|---|---|", "| `a.py` | x |", "| `b/c.py` | y |"]
    other_table = ["| key | v |", "|---|---|", "| `d.py` | z |"]
    text = "\n".join([*module_table, "", *other_table])
    assert code_map_modules(text) == ["a.py", "b/c.py"]


def test_the_code_map_names_exactly_the_modules_that_exist() -> None:
    named = code_map_modules(DESIGN.read_text())
    existing = {str(path.relative_to(PACKAGE)) for path in module_names().values()}
    assert len(named) == len(set(named)), "docs/design.md names a module twice"
    assert set(named) == existing, (
        f"docs/design.md's code map lacks {sorted(existing - set(named))} "
        f"and names modules that do not exist: {sorted(set(named) - existing)}"
    )


# -- one source of defaults -----------------------------------------------------------


@pytest.mark.parametrize("entry", GROUP_FILES, ids=lambda e: f"{e.group}/{e.option}")
def test_each_group_file_states_exactly_its_dataclass_defaults(entry: GroupFile) -> None:
    name, cls = f"{entry.group}/{entry.option}.yaml", entry.settings
    values = yaml.safe_load((CONF / name).read_text())
    defaults = dataclasses.asdict(cls())
    assert set(values) == set(defaults), f"conf/{name} and {cls.__name__} name other keys"
    for key, value in values.items():
        assert value == defaults[key], (
            f"conf/{name}: {key}={value!r}, {cls.__name__}: {defaults[key]!r}"
        )


def test_the_choices_checked_in_config_are_the_ones_implemented() -> None:
    assert set(config.REWARD_FORM_NAMES) == set(REWARD_FORMS)
    assert set(config.ACTIVATION_NAMES) == set(ACTIVATIONS)


# -- per-env tuned settings are visible as such ---------------------------------------


def _leaf_keys(node: object, prefix: str = "") -> set[str]:
    if not isinstance(node, dict):
        return {prefix[:-1]}
    keys: set[str] = set()
    for key, value in node.items():
        keys |= _leaf_keys(value, f"{prefix}{key}.")
    return keys


TUNED_FILES = sorted(
    p for p in (CONF / "env" / "gail").glob("*.yaml") if "env_tuning" in p.read_text()
)


def test_every_shipped_env_has_a_tuning_file_that_names_itself() -> None:
    tuned = {
        "HalfCheetah-v4",
        "Hopper-v4",
        "Walker2d-v4",
        "CartPole-v1",
        "Acrobot-v1",
        "LunarLander-v3",
        "Ant-v4",
    }
    assert {p.stem for p in TUNED_FILES} == tuned


@pytest.mark.parametrize("path", TUNED_FILES, ids=lambda p: p.stem)
def test_env_tuning_lists_exactly_the_keys_its_file_sets(path: Path) -> None:
    content = yaml.safe_load(path.read_text())
    tuning = content.pop("env_tuning")
    content.pop("defaults", None)
    assert tuning["file"] == f"env/gail/{path.name}"
    assert sorted(tuning["sets"]) == sorted(_leaf_keys(content))


# -- the loop names no learner's statistic --------------------------------------------


def test_the_training_loop_names_no_statistic_of_a_learner() -> None:
    """The loop logs what the learner's record hands it; the names live in algo/stats.py."""
    from gail_cli.algo.stats import DiscriminatorStats, GAILStats, PPOStats

    names = {
        field.name
        for record in (PPOStats, DiscriminatorStats, GAILStats)
        for field in dataclasses.fields(record)
    } - {"ppo", "discriminator"}
    assert {"disc_loss", "acc_exp", "actor_loss", "disc_reward"} <= names
    for module in ("run/trainer.py", "run/logger.py"):
        source = (PACKAGE / module).read_text()
        named = sorted(name for name in names if f'"{name}"' in source or f".{name}" in source)
        assert not named, f"{module} names the learner statistics {named}"
