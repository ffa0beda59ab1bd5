"""bench_grid's classification of outcomes, its naive baseline and a two-post run."""
from __future__ import annotations

import numpy as np

from benchmarks import bench_grid
from datasets.grid_detect import GridInfo, reduce_to_native
from datasets.synthetic_posts import make_post


def test_classify_exact_wrong_grid_and_flawed():
    post = make_post(2, cut=False, jpeg_quality=None)
    y0, y1, x0, x1 = post.box
    art = post.image[y0:y1, x0:x1]
    right = GridInfo(post.cell, 0, 0, 1.0)
    assert bench_grid.classify(post, (post.box, right, reduce_to_native(art, right)))[0] == "exact"
    assert bench_grid.classify(post, None)[0] == "skipped"
    double = GridInfo(2 * post.cell, 0, 0, 1.0)
    kind, error, _ = bench_grid.classify(post, (post.box, double, reduce_to_native(art, double, min_partial=1.0)))
    assert kind == "wrong grid" and error > 0
    native = reduce_to_native(art, right)
    native[0, 0] = 255 - native[0, 0]
    assert bench_grid.classify(post, (post.box, right, native))[0] == "flawed"


def test_naive_baseline_finds_a_clean_grid():
    rng = np.random.default_rng(0)
    sprite = rng.integers(0, 256, size=(20, 24, 3), dtype=np.uint8)
    img = np.repeat(np.repeat(sprite, 5, axis=0), 5, axis=1)
    assert bench_grid.naive_grid(img).cell == 5


def test_two_post_run_prints_the_table_and_targets(capsys):
    rc = bench_grid.main(["--n", "2"])
    out = capsys.readouterr().out
    assert "pixelart_extraction" in out and "naive autocorrelation peak" in out and "targets" in out
    assert rc == 0 and out.count("[PASS]") + out.count("[FAIL]") == 3  # targets are reported, not enforced
