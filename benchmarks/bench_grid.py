"""Grid detection of ``datasets.pixelart_extraction`` on posts made like real ones.

Run: ``python benchmarks/bench_grid.py [--n 200] [--seed 0] [--subsampling 2]``

Each post (:func:`datasets.synthetic_posts.make_post`, seeded): a sprite of flat blobs and
outlines whose regions are all two or more cells wide, nearest-upscaled by a cell size of 3..9
px, at a random phase (half of them cut through their first and last cells), framed by a uniform
border of 5..40 px per side and saved as JPEG q90 (4:2:0 chroma by default).

Every post goes through :func:`datasets.pixelart_extraction.extract_pixel_art` and is counted as

* **exact**: cell size and grid lines right, and the reduced sprite matches the truth cell by
  cell (each cell nearest to its true colour among the sprite's colours, every fully visible
  cell present; see :func:`datasets.synthetic_posts.score_extraction`); how many of them also
  hold every cell within 24 levels of its true colour is printed as well;
* **skipped**: refused with the ``--pixel_size`` hint;
* **wrong grid**: accepted with a wrong cell size or grid lines (the harmful outcome), with the
  mean colour error of the sprite drawn back at its grid;
* **flawed**: right grid, but a fully visible cell missing, a cell of frame added, or a cell
  whose colour ended nearer another colour of the sprite (JPEG 4:2:0 chroma in 3-px cells).

Baseline measured in the same run on the same crops: the naive detector that takes the
autocorrelation peak of the gradient profile as the cell size and the strongest residue as the
phase, and accepts everything. Target: >= 95 % exact, the rest skipped, 0 wrong grids.
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import Sequence

import numpy as np

from datasets.coco_preprocessing import Rejected  # noqa: E402
from datasets.grid_detect import GridInfo, reduce_to_native  # noqa: E402
from datasets.pixelart_extraction import MIN_PARTIAL, extract_pixel_art, find_content_box  # noqa: E402
from datasets.synthetic_posts import Post, make_post, score_extraction  # noqa: E402

#: Target of the issue: share of posts recovered exactly, and wrong grids accepted.
TARGET_EXACT = 0.95
TARGET_WRONG = 0

#: Colour tolerance (levels per channel) of the secondary "every cell within" figure.
COLOUR_TOL = 24


def naive_grid(img: np.ndarray, max_cell: int = 32) -> GridInfo:
    """The baseline: the lag (2..``max_cell``) with the highest autocorrelation of the RGB gradient
    profile, per axis summed, as the cell size; each phase is the residue with the most gradient."""
    x = img.astype(np.int16)
    prof_y = np.concatenate(([0.0], np.abs(np.diff(x, axis=0)).sum(axis=2).mean(axis=1)))
    prof_x = np.concatenate(([0.0], np.abs(np.diff(x, axis=1)).sum(axis=2).mean(axis=0)))
    best, best_score = 2, -np.inf
    for lag in range(2, max(3, min(max_cell, min(img.shape[:2]) // 4) + 1)):
        score = sum(float(np.dot(p[:-lag] - p.mean(), p[lag:] - p.mean())) / (len(p) - lag) for p in (prof_y, prof_x))
        if score > best_score:
            best, best_score = lag, score

    def phase(p: np.ndarray) -> int:
        residues = np.arange(1, len(p)) % best
        sums = np.bincount(residues, weights=p[1:], minlength=best)
        return int(np.argmax(sums / np.maximum(np.bincount(residues, minlength=best), 1)))

    return GridInfo(best, phase(prof_y), phase(prof_x), 1.0)


#: Outcomes of one post, in print order.
KINDS = ("exact", "skipped", "wrong grid", "flawed")


def classify(post: Post, outcome: tuple | None) -> tuple[str, float, int]:
    """``(kind, mean colour error, max colour error)`` of one post; ``kind`` is one of
    :data:`KINDS` (``flawed``: right grid, but a cell extra, missing or nearer another colour)."""
    if outcome is None:
        return "skipped", float("nan"), -1
    box, grid, native = outcome
    score = score_extraction(post, box, grid.cell, grid.phase_y, grid.phase_x, native, min_partial=MIN_PARTIAL)
    if score.exact:
        return "exact", score.mean_error, score.max_error
    return ("flawed" if score.grid_ok else "wrong grid"), score.mean_error, score.max_error


def run_ours(post: Post) -> tuple[tuple | None, float]:
    """Our extraction of ``post``: ``(box, grid, native)`` (None when skipped) and the grid's confidence."""
    try:
        result = extract_pixel_art(post.image, 512)
    except Rejected as err:
        if "--pixel_size" not in str(err):
            raise RuntimeError(f"a post was skipped without the --pixel_size hint: {err}") from None
        return None, float("nan")
    return (result.box, result.grid, result.native), result.grid.confidence


def run_naive(post: Post) -> tuple | None:
    """The naive baseline on ``post``: content box, naive grid and the art reduced on that grid."""
    box = find_content_box(post.image)
    art = post.image[box[0]:box[1], box[2]:box[3]]
    grid = naive_grid(art)
    return box, grid, reduce_to_native(art, grid, min_partial=MIN_PARTIAL)


def main(argv: Sequence[str] | None = None) -> int:
    """Score ours and the naive baseline on generated posts and print the table; returns the exit status."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200, help="number of posts (default: 200)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the first post (default: 0)")
    ap.add_argument("--subsampling", type=int, choices=(0, 1, 2), default=2,
                    help="JPEG chroma subsampling: 0 = 4:4:4, 2 = 4:2:0 (default: 2)")
    ap.add_argument("--verbose", action="store_true", help="print every post that is not exact")
    args = ap.parse_args(argv)
    if args.n < 1:
        ap.error(f"--n must be >= 1, got {args.n}")

    counts = {m: dict.fromkeys(KINDS, 0) for m in ("ours", "naive")}
    errors: dict[str, list[float]] = {"ours": [], "naive": []}
    confidences: dict[str, list[float]] = {k: [] for k in KINDS}
    by_cell: dict[int, list[int]] = {}
    seconds = 0.0
    within = 0
    for seed in range(args.seed, args.seed + args.n):
        post = make_post(seed, subsampling=args.subsampling)
        t0 = time.perf_counter()
        outcome, confidence = run_ours(post)
        seconds += time.perf_counter() - t0
        kind, error, max_error = classify(post, outcome)
        counts["ours"][kind] += 1
        within += kind == "exact" and max_error <= COLOUR_TOL
        if outcome is not None:
            confidences[kind].append(confidence)
        by_cell.setdefault(post.cell, [0, 0])[0] += kind == "exact"
        by_cell[post.cell][1] += 1
        if kind in ("wrong grid", "flawed"):
            errors["ours"].append(error)
        if args.verbose and kind != "exact":
            print(f"  seed {seed}: {kind}, true cell {post.cell}, got {outcome[1] if outcome else None}")
        naive_kind, naive_error, _ = classify(post, run_naive(post))
        counts["naive"][naive_kind] += 1
        if naive_kind in ("wrong grid", "flawed"):
            errors["naive"].append(naive_error)

    n = args.n
    sub = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}[args.subsampling]
    print(f"grid detection on {n} synthetic posts (seeds {args.seed}..{args.seed + n - 1}; cells 3-9, "
          f"border 5-40 px, JPEG q90 {sub})")
    print(f"{'method':<27}" + "".join(f"{k:>14}" for k in KINDS) + "   mean colour error of the accepted non-exact")
    for method, label in (("ours", "pixelart_extraction"), ("naive", "naive autocorrelation peak")):
        c = counts[method]
        errs = errors[method]
        err_text = f"{np.mean(errs):.1f} (max {np.max(errs):.1f})" if errs else "-"
        print(f"{label:<27}" + "".join(f"{c[k]:>5} ({100 * c[k] / n:5.1f}%)" for k in KINDS) + f"   {err_text}")
    print("flawed: right cell size and grid lines, but a fully visible cell missing, a cell of frame added, or a "
          "cell nearer another colour (JPEG 4:2:0 chroma)")
    print(f"exact with every cell within {COLOUR_TOL} levels of its true colour: {within}/{n}")
    print("exact by cell size: " + ", ".join(f"{cell}: {e}/{t}" for cell, (e, t) in sorted(by_cell.items())))
    for kind in KINDS:
        if confidences[kind]:
            print(f"confidence of {kind} accepts: min {min(confidences[kind]):.2f}, "
                  f"median {float(np.median(confidences[kind])):.2f}")
    print(f"time: {1000 * seconds / n:.1f} ms per post (extraction incl. crop and reduction)")
    ours = counts["ours"]
    checks = [
        (f">= {100 * TARGET_EXACT:.0f} % recovered exactly: {100 * ours['exact'] / n:.1f} %",
         ours["exact"] >= TARGET_EXACT * n),
        (f"wrong grids accepted: {ours['wrong grid']} (target {TARGET_WRONG})", ours["wrong grid"] <= TARGET_WRONG),
        (f"the rest skipped with the --pixel_size hint ({ours['skipped']} skipped, "
         f"{ours['flawed']} accepted with the right grid but flawed cells)", ours["exact"] + ours["skipped"] == n),
    ]
    print("targets")
    for text, ok in checks:
        print(f"  [{'PASS' if ok else 'FAIL'}] {text}")
    return 0  # a benchmark reports its targets; a miss does not fail the run (nor `make bench`)


if __name__ == "__main__":
    sys.exit(main())
