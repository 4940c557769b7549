"""Reports: everything under a results folder (run dirs, audit.json, artifacts) as one self-contained HTML
page and a Markdown file, plus the results store (all runs as one Parquet table)."""

from .render import write_report
from ..runs.store import build_store, runs_frame

__all__ = ["build_store", "runs_frame", "write_report"]
