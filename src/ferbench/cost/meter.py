"""``PhaseMeter``: measure one phase (preprocessing, training, inference, evaluation) of a run.

Wall time, CPU time of this process and its children, peak resident memory during the phase (sampled
by a background thread with psutil, since ``ru_maxrss`` only knows the lifetime peak), peak GPU memory
when CUDA is in use, and throughput when the caller says how many items were processed.
"""

from __future__ import annotations

import os
import platform
import threading
import time
from typing import Any

import psutil


class PhaseMeter:
    def __init__(self, phase: str, items: int | None = None, batch_size: int | None = None,
                 interval_s: float = 0.05, **extra: Any):
        self.phase, self.items, self.batch_size, self.extra = phase, items, batch_size, extra
        self.interval_s = interval_s
        self.result: dict[str, Any] = {}
        self._proc = psutil.Process()
        self._stop = threading.Event()
        self._peak = 0

    def _rss(self) -> int:
        try:
            rss = self._proc.memory_info().rss
            for child in self._proc.children(recursive=True):
                try:
                    rss += child.memory_info().rss
                except psutil.Error:
                    pass
            return rss
        except psutil.Error:
            return 0

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._peak = max(self._peak, self._rss())

    def __enter__(self) -> "PhaseMeter":
        self._cuda = _cuda_reset()
        self._peak = self._rss()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        self._t0 = time.perf_counter()
        self._c0 = _cpu_seconds(self._proc)
        return self

    def __exit__(self, *exc: Any) -> None:
        wall = time.perf_counter() - self._t0
        cpu = _cpu_seconds(self._proc) - self._c0
        self._stop.set()
        self._thread.join()
        self._peak = max(self._peak, self._rss())
        import torch

        self.result = {
            "phase": self.phase, "wall_s": round(wall, 4), "cpu_s": round(cpu, 4),
            "peak_rss_mb": round(self._peak / 2**20, 1), "threads": torch.get_num_threads(),
        }
        if self._cuda:
            self.result["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        if self.batch_size is not None:
            self.result["batch_size"] = self.batch_size
        if self.items is not None:
            self.set_items(self.items)
        self.result.update(self.extra)

    def set_items(self, items: int) -> None:
        """Record how many images the phase processed (may be called after the block ends)."""
        self.items = items
        if self.result:
            self.result["items"] = items
            wall = self.result["wall_s"]
            self.result["items_per_s"] = round(items / wall, 2) if wall > 0 else None


def _cpu_seconds(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system + t.children_user + t.children_system


def _cuda_reset() -> bool:
    import torch

    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.reset_peak_memory_stats()
        return True
    return False


def bf16_emulated() -> bool:
    """True when this CPU has neither AVX-512 BF16 nor AMX, so torch emulates bfloat16 arithmetic."""
    import torch

    probes = [getattr(torch.cpu, n, None) for n in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    if not all(callable(p) for p in probes):
        return False  # a torch without these probes: say nothing rather than guess
    return not any(p() for p in probes)


def bf16_notice(what: str, precision: str, device: str = "cpu") -> str | None:
    """A warning when ``what`` would run in bfloat16 on a CPU that emulates it, else None. The precision is the
    user's choice and part of the result's identity, so it is never switched silently."""
    if not precision.startswith("bf") or device != "cpu" or not bf16_emulated():
        return None
    return (f"{what} in {precision} on a CPU without AVX-512 BF16 or AMX: bfloat16 is emulated here and runs several "
            "times slower than float32 (a training step of VGG19, ResNet-50 or EfficientNet-B0 took 7-12x as long on "
            "a 2-core AMD EPYC: benchmarks/train_speed.py --compare)")


def machine_info() -> dict[str, Any]:
    import torch

    info = {"platform": platform.platform(), "python": platform.python_version(), "cpu": platform.processor()
            or platform.machine(), "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1), "cuda": torch.cuda.is_available(),
            "bf16_native": not bf16_emulated()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info
