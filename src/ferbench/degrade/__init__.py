"""Degradations for robustness sweeps: ImageNet-C style, five severities each, seeded and deterministic."""

from .registry import (SEVERITIES, degrade_images, get_degradation_entry, list_degradations, register_degradation,
                       severity_table)

__all__ = ["SEVERITIES", "degrade_dataset", "degrade_images", "get_degradation_entry", "list_degradations",
           "register_degradation", "severity_table"]


def __getattr__(name: str):
    if name == "degrade_dataset":
        from .stage import degrade_dataset

        return degrade_dataset
    raise AttributeError(name)
