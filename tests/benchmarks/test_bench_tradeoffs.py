"""The quality-target bookkeeping of the benchmarks and the trade-off sweep on one photo."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import bench_postprocess  # noqa: E402
import bench_tradeoffs  # noqa: E402


def _m(de: float, orph: float, sep: float, chroma: float, f1: float) -> dict:
    return {"de_mean": de, "orphan_de": orph, "pal_min_de": sep, "chroma_ratio": chroma, "edge_f1": f1}


def test_quality_targets_per_run():
    seed, naive = _m(3.5, 4.0, 6.0, 0.95, 0.8), _m(5.0, 6.0, 7.0, 0.9, 0.9)
    assert bench_postprocess.quality_targets(_m(3.5, 2.0, 7.1, 1.0, 0.95), seed, naive) == {
        "fidelity": True, "orphans": True, "separation": True, "chroma": True, "edges": True}
    assert bench_postprocess.quality_targets(_m(3.6, 2.1, 7.0, 0.99, 0.949), seed, naive) == {
        "fidelity": False, "orphans": False, "separation": False, "chroma": False, "edges": False}
    pairs = [(_m(3.5, 2.0, 7.1, 1.0, 0.95), seed, naive), (_m(3.6, 2.0, 6.5, 1.1, 0.5), seed, naive)]
    assert bench_postprocess.count_quality_targets(pairs) == {
        "fidelity": 1, "orphans": 2, "separation": 1, "chroma": 2, "edges": 1}


@pytest.mark.slow
def test_tradeoff_sweep_on_one_photo(capsys):
    assert bench_tradeoffs.main(["--images", "chelsea"]) == 0
    out = capsys.readouterr().out
    rows = [ln for ln in out.splitlines() if re.match(r"\s+\d+\.\d\s+(True|False)\s+(True|False)\s", ln)]
    assert len(rows) == len(bench_tradeoffs.SEPARATIONS) * 4
    for row in rows:
        counts = re.findall(r"(\d)/2", row)
        assert len(counts) == len(bench_postprocess.QUALITY_TARGETS)
        assert all(0 <= int(c) <= 2 for c in counts)
    # Rows come in (cleanup on, cleanup off) pairs: orphan removal never loses the orphan target.
    orphans = [int(re.findall(r"(\d)/2", r)[1]) for r in rows]
    assert all(on >= off for on, off in zip(orphans[::2], orphans[1::2]))
    assert "fidelity + separation + chroma on every run:" in out
    assert re.search(r"best edge F1 reached on each photo .*: chelsea 0\.\d{3}$", out.strip())
