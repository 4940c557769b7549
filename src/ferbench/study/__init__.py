"""Running things: evaluation runs (run.json, predictions.jsonl, metrics.json) and whole studies."""
