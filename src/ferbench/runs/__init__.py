"""Runs, the low layer every stage writes to and ``report`` reads from: a run directory's files (run.json,
predictions.jsonl, metrics.json), the evaluation loop that writes them, reading them back as flat rows,
and the results store (all runs as one Parquet table)."""
