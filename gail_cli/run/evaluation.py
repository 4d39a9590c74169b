"""Deterministic evaluation of snapshots of the policy, in this process or beside it.

Training runs on one core; a MuJoCo evaluation (10 episodes of 1000 steps every 50k env
steps) adds a fifth to its env steps. ``BackgroundEvaluator`` plays them in a worker
process on another core while training goes on, with the same episodes and seeds as
``InlineEvaluator``, so the returns are identical; only when they arrive differs.
"""

from __future__ import annotations

import contextlib
import copy
import os
import pickle
import subprocess
import sys
from multiprocessing.connection import Connection
from typing import NoReturn, Protocol

import gymnasium as gym
import numpy as np
import torch

from gail_cli.algo.nets import Actor
from gail_cli.algo.normalization import ObservationNormalizer
from gail_cli.errors import GailError, first_sentence
from gail_cli.run.env_recipe import EnvRecipe, as_recipe
from gail_cli.run.envs import EnvSpec, env_spec, make_vector_env, play_episodes

# evaluation episodes are seeded with the run's seed + this, apart from training's
EVAL_SEED_OFFSET = 1_000_003

Result = tuple[int, np.ndarray]  # (env step of the snapshot, episode returns (E,))


class Evaluator(Protocol):
    def submit(self, step: int, actor: Actor, normalizer: ObservationNormalizer) -> None:
        """Evaluate the policy as it is now; ``step`` labels the result."""

    def poll(self) -> list[Result]:
        """Results finished since the last call, oldest first; never blocks."""

    def wait(self) -> list[Result]:
        """Every outstanding result, oldest first; blocks until all are in."""

    def close(self) -> None: ...


class InlineEvaluator:
    """Plays the evaluation episodes at once, in this process."""

    def __init__(
        self, envs: gym.vector.VectorEnv, spec: EnvSpec, device: torch.device, seed: int
    ) -> None:
        self.envs, self.spec, self.device, self.seed = envs, spec, device, seed
        self.finished: list[Result] = []

    def submit(self, step: int, actor: Actor, normalizer: ObservationNormalizer) -> None:
        episodes = play_episodes(self.envs, actor, normalizer, self.spec, self.device, self.seed)
        self.finished.append((step, episodes.returns))

    def poll(self) -> list[Result]:
        out, self.finished = self.finished, []
        return out

    wait = poll

    def close(self) -> None:
        self.envs.close()


class BackgroundEvaluator:
    """Plays the evaluation episodes in a worker process (CPU, one torch thread).

    The worker is a fresh interpreter (``python -m gail_cli.run.evaluation``), not a
    multiprocessing child, so it starts the same under joblib/loky, Ray or Slurm
    launchers, and in its own session, so a terminal's Ctrl-C reaches only the trainer.
    Snapshots go to it as pickled CPU copies of the actor and the observation transform
    over a pipe; it answers (step, returns) in order, or one error line, and exits when
    the pipe closes.
    """

    def __init__(self, env: EnvRecipe | str, episodes: int, seed: int) -> None:
        parent_read, worker_write = os.pipe()
        worker_read, parent_write = os.pipe()
        command = [sys.executable, "-m", "gail_cli.run.evaluation"]
        command += [
            str(worker_read),
            str(worker_write),
            as_recipe(env).to_json(),
            str(episodes),
            str(seed),
        ]
        self.process = subprocess.Popen(
            command, pass_fds=(worker_read, worker_write), start_new_session=True
        )
        os.close(worker_read)
        os.close(worker_write)
        self.reader = Connection(parent_read, writable=False)
        self.writer = Connection(parent_write, readable=False)
        self.outstanding = 0

    def submit(self, step: int, actor: Actor, normalizer: ObservationNormalizer) -> None:
        snapshot = (step, copy.deepcopy(actor).cpu(), normalizer)
        try:
            self.writer.send_bytes(pickle.dumps(snapshot))
        except OSError:
            self._died()
        self.outstanding += 1

    def poll(self) -> list[Result]:
        out = []
        while self.outstanding and self.reader.poll():
            out.append(self._receive())
        return out

    def wait(self) -> list[Result]:
        return [self._receive() for _ in range(self.outstanding)]

    def _receive(self) -> Result:
        try:
            message = pickle.loads(self.reader.recv_bytes())
        except (EOFError, OSError):
            self._died()
        self.outstanding -= 1
        if isinstance(message, str):
            raise GailError(message)
        return message

    def _died(self) -> NoReturn:
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        raise GailError(
            f"the evaluation process stopped (exit code {code}); "
            "run with trainer.eval_in_background=false to evaluate in the training process"
        )

    def close(self) -> None:
        for conn in (self.writer, self.reader):
            with contextlib.suppress(OSError):
                conn.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _serve(
    conn_in: Connection, conn_out: Connection, env: EnvRecipe, episodes: int, seed: int
) -> None:
    """The worker's loop: snapshot in, (step, returns) out, until the pipe closes."""
    torch.set_num_threads(1)
    try:
        envs = make_vector_env(env, episodes, "sync")
    except GailError as exc:
        conn_out.send_bytes(pickle.dumps(f"evaluation: {exc}"))
        return
    spec, cpu = env_spec(envs, env.id), torch.device("cpu")
    try:
        while True:
            try:
                step, actor, normalizer = pickle.loads(conn_in.recv_bytes())
            except (EOFError, OSError):
                break
            message: Result | str
            try:
                message = (step, play_episodes(envs, actor, normalizer, spec, cpu, seed).returns)
            except Exception as exc:  # one line for the trainer to raise, not a traceback
                reason = f"{type(exc).__name__}: {first_sentence(exc)}"
                message = f"evaluation at env step {step} failed: {reason}"
            try:
                conn_out.send_bytes(pickle.dumps(message))
            except OSError:  # the trainer has gone; nobody is left to tell
                break
    finally:
        envs.close()


if __name__ == "__main__":
    read_fd, write_fd, env_arg, episodes_arg, seed_arg = sys.argv[1:6]
    _serve(
        Connection(int(read_fd), writable=False),
        Connection(int(write_fd), readable=False),
        EnvRecipe.from_json(env_arg),
        int(episodes_arg),
        int(seed_arg),
    )
