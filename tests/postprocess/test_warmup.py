"""postprocess.warmup: the ahead-of-use kernel compile step that `make` runs after installing."""
from __future__ import annotations

from postprocess import warmup


def test_warm_up_runs_every_pipeline_path_and_cli(capsys):
    assert warmup.warm_up() >= 0.0
    assert warmup.main([]) == 0
    assert capsys.readouterr().out.startswith("postprocess kernels ready in ")
    assert warmup.main(["--bogus"]) == 2
    assert "usage: python -m postprocess.warmup" in capsys.readouterr().err
