"""engine: the jobs the CLIs run, above ``models``, ``data`` and ``postprocess``.

* :mod:`engine.training` — the training loop behind ``train.py`` (exact resume, safe stops, DDP), with
  :mod:`engine.checkpoint` (the snapshot format, saving, restoring, the resume checks);
* :mod:`engine.evaluation` — the test runner behind ``test.py``;
* :mod:`engine.pixelize` — the pixelize runner behind ``pixelize.py``, with :mod:`engine.jobs`
  (inputs -> jobs) and :mod:`engine.generator` (the optional generator stage).

The CLIs parse flags, call one of these and print the outcome; nothing here parses ``sys.argv``
or prints (reports go through ``logging`` and callbacks).
"""
