"""TensorBoard writing and the tqdm progress bar; env steps are the x axis everywhere."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams as hparams_summary
from tqdm import tqdm

from gail_cli.algo.stats import SummaryStats

_LOG = logging.getLogger("gail_cli.run")


class ProgressBarHandler(logging.Handler):
    """A console handler that writes each record above the progress bar (tqdm.write)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record))
        except Exception:  # logging's contract: report, never raise
            self.handleError(record)


def announce(line: str) -> None:
    """Print one line of the run and log it: where gail-cli's job logging is set up
    (conf/hydra/job_logging/gail.yaml) its handlers write it to the console and run.log."""
    _LOG.info(line)
    if not any(isinstance(h, ProgressBarHandler) for h in logging.getLogger().handlers):
        tqdm.write(line)


class RunLogger:
    """One TensorBoard run plus one progress bar over env steps.

    ``start_step`` > 0 (a resumed run) purges events written after it by the interrupted
    run, so curves continue without duplicate steps. The bar is disabled automatically
    when stderr is not a terminal (multirun jobs, CI logs).
    """

    def __init__(self, log_dir: Path, total_steps: int, start_step: int = 0) -> None:
        self.writer = SummaryWriter(str(log_dir), purge_step=start_step or None)
        self.bar = tqdm(
            total=total_steps,
            initial=start_step,
            unit="step",
            unit_scale=True,
            dynamic_ncols=True,
            disable=None,
            desc="env steps",
        )
        self.postfix: dict[str, str] = {}

    def scalars(self, values: Mapping[str, float], step: int) -> None:
        """Log each name -> value at ``step``; names are full tags like 'eval/return'."""
        for tag, value in values.items():
            self.writer.add_scalar(tag, value, step)

    def training_stats(self, stats: Mapping[str, SummaryStats | float], step: int) -> None:
        """The update's statistics under train/<name> (a summary's mean; its std under
        train/<name>_std)."""
        for name, value in stats.items():
            if isinstance(value, SummaryStats):
                self.writer.add_scalar(f"train/{name}", value.mean, step)
                self.writer.add_scalar(f"train/{name}_std", value.std, step)
            else:
                self.writer.add_scalar(f"train/{name}", value, step)

    def text(self, tag: str, body: str) -> None:
        self.writer.add_text(tag, body, 0)

    def hparams(self, params: Mapping[str, Any], metrics: Mapping[str, float]) -> None:
        """Write the hparams plugin's records into this same run."""
        clean = {
            k: v if isinstance(v, (int, float, str, bool)) else str(v) for k, v in params.items()
        }
        finite = {k: v for k, v in metrics.items() if math.isfinite(v)}
        file_writer = self.writer.file_writer
        assert file_writer is not None  # SummaryWriter opens it in its constructor
        for summary in hparams_summary(clean, finite):
            file_writer.add_summary(summary)

    def advance(self, steps: int, **postfix: str) -> None:
        self.postfix.update(postfix)
        self.bar.set_postfix(self.postfix, refresh=False)
        self.bar.update(steps)

    def message(self, line: str) -> None:
        """Print a line without breaking the bar (and into run.log: :func:`announce`)."""
        announce(line)

    def close(self) -> None:
        self.bar.close()
        self.writer.flush()
        self.writer.close()
