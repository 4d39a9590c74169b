"""Hydra's and OmegaConf's errors, and ours, as one stderr line and an exit code.

Bad input of any kind ends a command with ``<program>: error: <one line>`` and exit code
2; an interruption (Ctrl-C, SIGTERM) saves a checkpoint and exits with 128 + the signal
number. The command line is checked before Hydra sees it
(:mod:`gail_cli.cli.command_line`); a run refused before it wrote anything leaves no run
folder, and a run's stderr line also goes to its ``run.log``.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException, MissingConfigException, OverrideParseException
from hydra.types import RunMode
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from gail_cli.cli.command_line import PATH_KEYS, prepare_overrides, split_command_line
from gail_cli.cli.commands import COMMANDS, help_page
from gail_cli.cli.job_config import job_config_text, wants_job_config
from gail_cli.cli.paths import expand_path_keys
from gail_cli.errors import EXIT_BAD_INPUT, GailError, Interrupted


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def error_line(exc: BaseException) -> str:
    """One line for an error that Hydra or OmegaConf raised while composing a config.

    The fields of each exception type are used where it has them (a missing config's
    options, OmegaConf's message without its key-location details, an OS error's file);
    a Hydra message's lines are joined, and the error it wraps follows.
    """
    if isinstance(exc, MissingConfigException):
        # the message's first line names the missing file; the rest repeats the options
        # and lists the config search path
        line = _lines(str(exc))[0] if str(exc).strip() else "config not found"
        if exc.options:
            line += f" Available options: {', '.join(exc.options)}"
        return line
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.strerror}: {exc.filename}; choose a writable location (e.g. hydra.run.dir=)"
    if isinstance(exc, OverrideParseException):
        return " ".join(_lines(exc.message))
    if isinstance(exc, OmegaConfBaseException):
        return " ".join(_lines(exc.msg or str(exc))) or type(exc).__name__
    sentences = _lines(str(exc))
    if isinstance(exc, HydraException) and exc.__cause__ is not None:
        sentences.append(error_line(exc.__cause__))
    return " ".join(sentences) or type(exc).__name__


# what Hydra puts in a run folder before the job starts: a run folder holding nothing
# else never got past its checks
_HYDRA_FILES = {".hydra", "run.log"}


def remove_unstarted_run_dir(run_dir: Path) -> None:
    """Delete a run folder holding only Hydra's files (``.hydra/`` and the log file).

    A folder without ``.hydra/`` (gail-eval runs in the current folder) or with anything
    else in it is kept; so is the current folder. Folders below the current one that the
    deletion leaves empty (``outputs/<env>/``, ``outputs/``) go too.
    """
    run_dir, cwd = run_dir.resolve(), Path.cwd().resolve()
    names = {p.name for p in run_dir.iterdir()} if run_dir.is_dir() else set()
    if ".hydra" not in names or not names <= _HYDRA_FILES or run_dir == cwd:
        return
    shutil.rmtree(run_dir, ignore_errors=True)
    for parent in run_dir.parents:
        if parent == cwd or not parent.is_relative_to(cwd):
            break
        try:
            parent.rmdir()  # only when empty
        except OSError:
            break


def append_to_run_log(run_dir: Path, line: str) -> None:
    """Add a line the run printed on stderr to its ``run.log``, where there is one."""
    log = run_dir / "run.log"
    if log.is_file():
        with log.open("a") as handle:
            handle.write(f"[{datetime.now().isoformat(sep=' ', timespec='milliseconds')}] {line}\n")


def guarded(program: str) -> Callable[[Callable[[DictConfig], Any]], Callable[[DictConfig], Any]]:
    """Turn GailError into one stderr line and exit 2; Interrupted into 128 + signum.

    Path keys are expanded first (:func:`gail_cli.cli.paths.expand_path_keys`). A fresh
    run that fails before anything of it was written leaves no run folder. In a multirun
    the error is re-raised after its line, so the sweeper records the job as failed
    while the other jobs run on.
    """

    def decorate(task: Callable[[DictConfig], Any]) -> Callable[[DictConfig], Any]:
        @functools.wraps(task)
        def wrapper(cfg: DictConfig) -> Any:
            try:
                expand_path_keys(cfg, PATH_KEYS)
                return task(cfg)
            except GailError as exc:
                hydra_cfg = HydraConfig.get()
                run_dir = Path(hydra_cfg.runtime.output_dir)
                if not cfg.get("resume"):
                    remove_unstarted_run_dir(run_dir)
                append_to_run_log(run_dir, f"{program}: error: {exc}")
                if hydra_cfg.mode != RunMode.MULTIRUN:
                    print(f"{program}: error: {exc}", file=sys.stderr, flush=True)
                    sys.exit(EXIT_BAD_INPUT)
                job = f"job {hydra_cfg.job.num} ({hydra_cfg.job.override_dirname})"
                print(f"{program}: error: {job}: {exc}", file=sys.stderr, flush=True)
                exc.reported = True  # type: ignore[attr-defined]
                raise
            except KeyboardInterrupt:  # a second Ctrl-C: stop at once, no new checkpoint
                print(f"{program}: aborted; the last checkpoint is kept", file=sys.stderr)
                sys.exit(130)
            except Interrupted as exc:
                run_dir = exc.checkpoint.parent.parent
                line = (
                    f"{program}: {exc}; checkpoint saved to {exc.checkpoint}; "
                    f"continue with: {program} resume={run_dir}"
                )
                print(line, file=sys.stderr, flush=True)
                append_to_run_log(run_dir, line)
                sys.exit(128 + exc.signum)

        return wrapper

    return decorate


def console_script(app: Callable[[], Any], program: str) -> Callable[[], None]:
    """Wrap a Hydra app so that whatever Hydra refuses also ends in one line and exit 2.

    Hydra normally prints multi-line errors itself; with HYDRA_FULL_ERROR set here, they
    propagate to this wrapper instead, and the variable is put back as it was when the
    wrapper returns or exits, so an in-process caller keeps its environment. A user who
    sets HYDRA_FULL_ERROR=1 still gets the full traceback.
    """

    def main() -> None:
        users_setting = os.environ.get("HYDRA_FULL_ERROR")
        if users_setting == "1":  # the same checks, every error with its traceback
            _run_checked(app, program)
            return
        os.environ["HYDRA_FULL_ERROR"] = "1"
        try:
            _run_reporting_errors(app, program)
        finally:
            if users_setting is None:
                os.environ.pop("HYDRA_FULL_ERROR", None)
            else:
                os.environ["HYDRA_FULL_ERROR"] = users_setting

    main.__doc__ = app.__doc__
    return main


def _checked_argv(program: str, args: list[str]) -> list[str] | None:
    """The arguments Hydra should see (:func:`prepare_overrides`), or None when this
    function answered the command itself (gail-train's ``--cfg job``). ``--help`` first
    prints the program's own page; Hydra's page follows under its own heading."""
    line = split_command_line(args)
    command = COMMANDS[program]
    assert command.info is not None
    if any(option in ("--help", "-h") for option in line.options):
        print(help_page(program), end="\n\n", flush=True)
        header = "hydra.help.header='== Hydra: config groups and the composed config =='"
        return [*line.argv(), header]
    line = prepare_overrides(program, command.info, line)
    if command.info.config_name == "train" and wants_job_config(line):
        print(job_config_text(command.info.config_name, line), end="", flush=True)
        return None
    return line.argv()


def _run_checked(app: Callable[[], Any], program: str) -> None:
    """Run a Hydra app on the checked command line (sys.argv is put back afterwards)."""
    argv = sys.argv
    try:
        checked = _checked_argv(program, argv[1:])
        if checked is None:
            return
        sys.argv = [argv[0], *checked]
        app()
    finally:
        sys.argv = argv


def _run_reporting_errors(app: Callable[[], Any], program: str) -> None:
    """Run a Hydra app; whatever it raises becomes one stderr line and an exit code."""
    try:
        _run_checked(app, program)
    except GailError as exc:  # a multirun job's error, re-raised by the sweeper
        if getattr(exc, "reported", False):
            print(
                f"{program}: error: a job of the sweep failed (its error is above); "
                "the other jobs ran to the end",
                file=sys.stderr,
                flush=True,
            )
        else:
            print(f"{program}: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:  # Ctrl-C before the run started (composing, loading)
        print(f"{program}: interrupted before the run started", file=sys.stderr, flush=True)
        sys.exit(130)
    except BrokenPipeError:  # stdout closed early (`gail-train --help | head`): not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes at exit
        sys.exit(0)
    except Exception as exc:
        print(f"{program}: error: {error_line(exc)}", file=sys.stderr, flush=True)
        sys.exit(EXIT_BAD_INPUT)
