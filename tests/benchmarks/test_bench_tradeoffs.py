"""The quality-target bookkeeping of the benchmarks and the trade-off sweep on one photo."""
from __future__ import annotations

import re
import statistics

import numpy as np
import pytest

from benchmarks import bench_postprocess, bench_tradeoffs
from postprocess import pixelize_image


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


#: The sweep on chelsea at the defaults (pixel_size 8, k=12 and auto): (min_delta_e, vivid, cleanup) ->
#: runs meeting (fidelity, orphans, separation, chroma, edges), median dE, median edge F1.
CHELSEA = {
    (0.0, True, True): ((1, 2, 1, 2, 0), 4.04, 0.653),
    (0.0, True, False): ((2, 0, 1, 2, 0), 3.96, 0.650),
    (0.0, False, True): ((2, 2, 1, 0, 0), 3.91, 0.644),
    (0.0, False, False): ((2, 0, 1, 0, 0), 3.84, 0.652),
    (4.0, True, True): ((1, 2, 1, 2, 0), 4.04, 0.653),
    (4.0, True, False): ((2, 0, 1, 2, 0), 3.96, 0.650),
    (4.0, False, True): ((2, 2, 1, 0, 0), 3.91, 0.644),
    (4.0, False, False): ((2, 0, 1, 0, 0), 3.84, 0.652),
    (6.0, True, True): ((1, 2, 2, 2, 0), 4.05, 0.659),
    (6.0, True, False): ((2, 0, 2, 2, 0), 3.97, 0.659),
    (6.0, False, True): ((2, 2, 2, 0, 0), 3.92, 0.639),
    (6.0, False, False): ((2, 0, 2, 0, 0), 3.85, 0.648),
    (7.0, True, True): ((1, 2, 2, 2, 0), 4.06, 0.655),
    (7.0, True, False): ((1, 0, 2, 2, 0), 3.99, 0.657),
    (7.0, False, True): ((2, 2, 2, 0, 0), 3.94, 0.637),
    (7.0, False, False): ((2, 0, 2, 0, 0), 3.88, 0.645),
    (7.7, True, True): ((1, 2, 2, 2, 0), 4.12, 0.643),
    (7.7, True, False): ((1, 0, 2, 2, 0), 4.06, 0.647),
    (7.7, False, True): ((1, 2, 2, 0, 0), 4.03, 0.634),
    (7.7, False, False): ((1, 0, 2, 0, 0), 3.97, 0.642),
    (8.0, True, True): ((1, 2, 2, 2, 0), 4.15, 0.637),
    (8.0, True, False): ((1, 0, 2, 2, 0), 4.09, 0.643),
    (8.0, False, True): ((1, 2, 2, 0, 0), 4.07, 0.642),
    (8.0, False, False): ((1, 0, 2, 0, 0), 4.02, 0.653),
    (10.0, True, True): ((0, 2, 2, 2, 0), 4.66, 0.611),
    (10.0, True, False): ((0, 1, 2, 2, 0), 4.62, 0.623),
    (10.0, False, True): ((0, 2, 2, 1, 0), 4.67, 0.582),
    (10.0, False, False): ((0, 0, 2, 1, 0), 4.63, 0.591),
}


@pytest.fixture(scope="module")
def chelsea_sweep():
    imgs = bench_postprocess.load_samples(["chelsea"])
    return imgs, bench_tradeoffs.sweep(imgs)


@pytest.mark.slow
def test_tradeoff_sweep_data_on_one_photo(chelsea_sweep):
    _, result = chelsea_sweep
    assert result["n_runs"] == 2
    targets = list(bench_postprocess.QUALITY_TARGETS)
    got = {(r["min_delta_e"], r["vivid"], r["cleanup"]): (tuple(r["met"][t] for t in targets),
                                                          round(r["de_median"], 2), round(r["f1_median"], 3))
           for r in result["rows"]}
    assert [(r["min_delta_e"], r["vivid"], r["cleanup"]) for r in result["rows"]] == list(CHELSEA)
    assert got == CHELSEA
    assert result["together"] == [(6.0, True, False)]
    assert [r["all_three"] for r in result["rows"]] == [key == (6.0, True, False) for key in CHELSEA]
    assert list(result["best_f1"]) == ["chelsea"] and round(result["best_f1"]["chelsea"], 3) == 0.757
    # Rows come in (cleanup on, cleanup off) pairs: orphan removal never loses the orphan target.
    orphans = [r["met"]["orphans"] for r in result["rows"]]
    assert all(on >= off for on, off in zip(orphans[::2], orphans[1::2], strict=True))


@pytest.mark.slow
def test_a_sweep_row_is_what_count_quality_targets_gives_for_its_settings(chelsea_sweep):
    """Recomputed independently: the two runs (k=12 and auto) of one configuration, measured and counted
    by bench_postprocess, against their baselines at the palette size the default settings give."""
    imgs, result = chelsea_sweep
    img, p = imgs["chelsea"], 8
    pairs = []
    for k in (12, None):
        k_base = k or len(np.unique(pixelize_image(img, pixel_size=p, n_colors=k).reshape(-1, 3), axis=0))
        out = pixelize_image(img, pixel_size=p, n_colors=k, min_delta_e=6.0, vivid=True, cleanup=False)
        pairs.append((bench_postprocess.measure(out, img, p),
                      bench_postprocess.measure(bench_postprocess.seed_faithful(img, p, k_base), img, p),
                      bench_postprocess.measure(bench_postprocess.naive(img, p, k_base), img, p)))
    row = next(r for r in result["rows"] if (r["min_delta_e"], r["vivid"], r["cleanup"]) == (6.0, True, False))
    assert row["met"] == bench_postprocess.count_quality_targets(pairs)
    assert row["de_median"] == statistics.median(m["de_mean"] for m, _, _ in pairs)


@pytest.mark.slow
def test_tradeoff_table_prints_the_sweep_data(capsys, chelsea_sweep):
    _, result = chelsea_sweep
    assert bench_tradeoffs.main(["--images", "chelsea"]) == 0
    out = capsys.readouterr().out
    rows = [ln for ln in out.splitlines() if re.match(r"\s+\d+\.\d\s+(True|False)\s+(True|False)\s", ln)]
    assert len(rows) == len(bench_tradeoffs.SEPARATIONS) * 4
    for line, row in zip(rows, result["rows"], strict=True):
        counts = tuple(int(c) for c in re.findall(r"(\d)/2", line))
        assert counts == tuple(row["met"][t] for t in bench_postprocess.QUALITY_TARGETS), line
    assert "fidelity + separation + chroma on every run: min_delta_e=6 vivid=True cleanup=False" in out
    assert out.strip().endswith("best edge F1 reached on each photo (any configuration, or a baseline): chelsea 0.757")
