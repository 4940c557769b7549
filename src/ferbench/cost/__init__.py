"""Cost accounting: wall/CPU time, peak memory, parameters, FLOPs, throughput, per phase."""

from .meter import PhaseMeter, bf16_notice, machine_info
from .flops import count_flops, count_params

__all__ = ["PhaseMeter", "bf16_notice", "count_flops", "count_params", "machine_info"]
