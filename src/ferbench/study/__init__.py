"""Studies: a spec (models × degradations × restorers) and the runner that trains, degrades, restores and
evaluates every cell, then writes the report. Single evaluation runs live in :mod:`ferbench.runs`."""
