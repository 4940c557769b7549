"""Micro-batching: faces from requests that arrive together go through one forward pass.

:class:`BatchingPredictor` looks like any :class:`Predictor` to the predict pipeline, so the server reuses
``predict.pipeline.analyse`` unchanged. Each ``predict`` call (one request's face crops, from a request
thread) joins a bounded queue; one worker thread owns the model, takes the first waiting call, gathers more
for at most ``max_wait_s`` or until ``max_batch`` faces, runs the model once and hands each caller its rows.
It waits only while announced requests (``arriving``: still decoding or detecting) may yet join, so a lone
request never pays ``max_wait_s``.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from ..models.predictor import Prediction, Predictor


class Busy(RuntimeError):
    """The queue is full: the caller should answer 503 and let the client retry."""


@dataclass
class _Job:
    images: np.ndarray
    future: Future = field(default_factory=Future)


class BatchingPredictor(Predictor):
    def __init__(self, predictor: Predictor, max_batch: int = 32, max_wait_s: float = 0.010,
                 max_queue: int = 256, timeout_s: float = 120.0):
        if max_batch < 1 or max_queue < 1 or max_wait_s < 0:
            raise ValueError("max_batch and max_queue must be ≥ 1 and max_wait_s ≥ 0")
        self.inner, self.name, self.classes = predictor, predictor.name, predictor.classes
        self.max_batch, self.max_wait_s, self.timeout_s = max_batch, max_wait_s, timeout_s
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=max_queue)
        self.stats = {"calls": 0, "batches": 0, "faces": 0, "largest_batch": 0}
        self._pending, self._lock, self._local = 0, threading.Lock(), threading.local()
        self._thread = threading.Thread(target=self._run, name="ferbench-serve-batcher", daemon=True)
        self._thread.start()

    @contextlib.contextmanager
    def arriving(self):
        """Announce, for this thread, a request that will probably call ``predict`` soon."""
        self._add_pending(+1)
        self._local.announced = True
        try:
            yield
        finally:
            self._settle()

    def _add_pending(self, delta: int) -> None:
        with self._lock:
            self._pending += delta

    def _settle(self) -> None:
        if getattr(self._local, "announced", False):
            self._local.announced = False
            self._add_pending(-1)

    def predict(self, images: np.ndarray) -> Prediction:
        job = _Job(np.asarray(images))
        self._settle()  # before queueing, so the worker never waits for the very job it already holds
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise Busy(f"the model's queue is full ({self._queue.maxsize} requests waiting); retry shortly") from None
        return job.future.result(timeout=self.timeout_s)

    def describe(self):
        return self.inner.describe()

    def cost_info(self):
        return self.inner.cost_info()

    @property
    def waiting(self) -> int:
        return self._queue.qsize()

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the worker after the jobs already queued (blocks while the queue is full, at most timeout_s)."""
        try:
            self._queue.put(None, timeout=timeout_s)
        except queue.Full:
            return
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs, n, stop = [first], len(first.images), False
            deadline = time.monotonic() + self.max_wait_s
            while n < self.max_batch:
                if not self._pending and self._queue.empty():
                    break  # nobody else is on the way: run now
                try:
                    job = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if job is None:
                    stop = True
                    break
                jobs.append(job)
                n += len(job.images)
            self._forward(jobs)
            if stop:
                return

    def _forward(self, jobs: list[_Job]) -> None:
        try:
            p = self.inner.predict(np.concatenate([j.images for j in jobs]))
        except Exception as exc:  # every waiting caller gets the error; the worker lives on
            for j in jobs:
                j.future.set_exception(exc)
            return
        self.stats["calls"] += len(jobs)
        self.stats["batches"] += 1
        self.stats["faces"] += len(p.pred)
        self.stats["largest_batch"] = max(self.stats["largest_batch"], len(p.pred))
        start = 0
        for j in jobs:
            rows = slice(start, start + len(j.images))
            j.future.set_result(Prediction(pred=p.pred[rows], proba=p.proba[rows],
                                           raw=p.raw[rows] if p.raw is not None else None))
            start = rows.stop
