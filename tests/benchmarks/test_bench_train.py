"""benchmarks/bench_train.py: one tiny round prints an fp32 and a bf16 row and the save target."""
from __future__ import annotations

from benchmarks import bench_train


def test_one_tiny_round_prints_both_precisions(capsys, monkeypatch):
    from models import amp

    monkeypatch.setattr(amp, "cpu_has_bf16", lambda: True)
    assert bench_train.main(["--iters", "1", "--warmup", "0", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    rows = [line.split("|")[0].strip() for line in out.splitlines() if "|" in line]
    assert rows == ["precision", "fp32", "bf16"]
    assert "x fp32)" in out and "target: a save costs less than one iteration ->" in out
