"""The stage runner: a restorer or a degradation over a whole dataset as a content-addressed, sharded,
resumable job (``runner``, ``store``), run in this process, a spawned process pool or on Ray (``executors``,
also the study runner's executor). Each kind of stage lives in its own package (``restore/stage.py``,
``degrade/stage.py``; see :mod:`ferbench.stages.spec`)."""
