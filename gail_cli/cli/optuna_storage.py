"""An Optuna study's database made safe for workers that start at the same moment.

Optuna creates the tables of an RDB storage the first time it opens the URL. Two
processes that open a new SQLite file together both try to create them, and one dies
with "table studies already exists". The search presets (conf/hparams_search/) register
:class:`PrepareOptunaStorage` as a Hydra callback: before the sweeper opens the storage,
it creates the tables under a file lock beside the database, so the sweeper only ever
finds them made. Other database URLs (PostgreSQL, MySQL) get a few retries instead.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from filelock import FileLock
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

SQLITE_PREFIX = "sqlite:///"
LOCK_TIMEOUT_S = 120.0
RETRIES = 5


def sqlite_file(url: str) -> Path | None:
    """The database file of a ``sqlite:///<path>`` URL (None for another URL or memory)."""
    if not url.startswith(SQLITE_PREFIX) or url in (SQLITE_PREFIX, f"{SQLITE_PREFIX}:memory:"):
        return None
    return Path(url[len(SQLITE_PREFIX) :])


def _create_tables(url: str) -> None:
    import optuna

    storage = optuna.storages.RDBStorage(url)  # creates the tables where they are missing
    storage.engine.dispose()


def prepare_storage(url: str) -> None:
    """Make sure the storage at ``url`` has Optuna's tables, however many call at once."""
    database = sqlite_file(url)
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(f"{database}.lock", timeout=LOCK_TIMEOUT_S):
            _create_tables(url)
        return
    for attempt in range(RETRIES):
        try:
            _create_tables(url)
            return
        except Exception:  # the other worker's CREATE TABLE won the race: look again
            if attempt == RETRIES - 1:
                raise
            time.sleep(0.5 * (attempt + 1))


class PrepareOptunaStorage(Callback):
    """Hydra callback: create the sweeper's storage tables before the sweep starts."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        url = OmegaConf.select(config, "hydra.sweeper.storage")
        if isinstance(url, str) and url:
            prepare_storage(url)
