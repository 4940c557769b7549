"""Where jobs run: this process, a local process pool, or Ray. The one executor of ferbench: shard jobs of
a stage and a study's cells both run here. Shard executors yield (index, images, cost) as shards finish, in
any order; the driver alone writes files, so no two processes write the same job.

``local`` with one worker runs in this process (with a progress update per batch). With more, a process pool
(spawned, not forked: torch and OpenCV thread pools do not survive a fork) keeps at most two jobs per
worker in flight. ``ray`` runs one actor per worker (each loads the model once) on the Ray cluster named by
``$RAY_ADDRESS``, or a local one started for the job; results come back to the driver, so workers need no
shared filesystem (only the weights file at the same path).
"""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterable, Iterator, TypeVar

import numpy as np

from .spec import ShardWorker, StageSpec

Job = tuple[int, np.ndarray]
Result = tuple[int, np.ndarray, dict[str, Any]]
R = TypeVar("R")
EXECUTORS = ("local", "ray")


def threads_per_worker(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def run_in_process(worker: ShardWorker, jobs: Iterable[Job],
                   progress: Callable[[int], None] | None) -> Iterator[Result]:
    for index, images in jobs:
        yield worker.run(index, images, progress)


_POOL_WORKER: ShardWorker | None = None


def _pool_init(spec: StageSpec, threads: int, expect: dict[str, Any]) -> None:
    global _POOL_WORKER
    _POOL_WORKER = ShardWorker(spec, threads, expect)


def _pool_run(index: int, images: np.ndarray) -> Result:
    assert _POOL_WORKER is not None
    return _POOL_WORKER.run(index, images)


def spawn_pool(workers: int, initializer: Callable[..., None] | None = None,
               initargs: tuple = ()) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned (never forked) processes."""
    import multiprocessing

    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=initializer, initargs=initargs)


def unordered(pool: ProcessPoolExecutor, fn: Callable[..., R], jobs: Iterable[tuple], in_flight: int) -> Iterator[R]:
    """``fn(*job)`` for every job on ``pool``, at most ``in_flight`` pending at once (jobs are made lazily, so a
    shard's images are sliced only when it is submitted); results as they finish."""
    pending: set = set()
    for job in jobs:
        pending.add(pool.submit(fn, *job))
        if len(pending) >= in_flight:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            yield from (f.result() for f in done)
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        yield from (f.result() for f in done)


def run_in_pool(spec: StageSpec, expect: dict[str, Any], jobs: Iterable[Job], workers: int) -> Iterator[Result]:
    with spawn_pool(workers, _pool_init, (spec, threads_per_worker(workers), expect)) as pool:
        yield from unordered(pool, _pool_run, jobs, 2 * workers)


@contextlib.contextmanager
def ray_session(workers: int) -> Iterator[Any]:
    """The ``ray`` module, connected to the cluster named by ``$RAY_ADDRESS`` or to a local one of ``workers``
    CPUs started for this job (and shut down after it)."""
    try:
        import ray
    except ImportError:
        raise ImportError("--executor ray needs Ray: pip install 'ferbench[ray]'") from None
    started = not ray.is_initialized()
    if started:
        address = os.environ.get("RAY_ADDRESS")
        ray.init(address=address, num_cpus=None if address else workers, include_dashboard=False,
                 log_to_driver=False)
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def run_on_ray(spec: StageSpec, expect: dict[str, Any], jobs: Iterable[Job], workers: int) -> Iterator[Result]:
    with ray_session(workers) as ray:
        from ray.util import ActorPool

        actor = ray.remote(num_cpus=1)(ShardWorker)
        threads = None if os.environ.get("RAY_ADDRESS") else threads_per_worker(workers)  # a cluster: node default
        pool = ActorPool([actor.remote(spec, threads, expect) for _ in range(workers)])
        yield from pool.map_unordered(lambda a, job: a.run.remote(*job), list(jobs))


def run_tasks_on_ray(fn: Callable[..., R], jobs: Iterable[tuple], workers: int) -> Iterator[R]:
    """``fn(*job)`` as one Ray task per job (one CPU each); results as they finish."""
    with ray_session(workers) as ray:
        remote = ray.remote(num_cpus=1)(fn)
        refs = [remote.remote(*job) for job in jobs]
        while refs:
            ready, refs = ray.wait(refs, num_returns=1)
            yield ray.get(ready[0])
