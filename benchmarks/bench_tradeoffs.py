"""Where the quality targets pull against each other: a sweep of the pipeline's quality knobs.

Run: ``python benchmarks/bench_tradeoffs.py [--pixel_size 8] [--n_colors 12]``

Same photos, modes and baselines as ``bench_postprocess.py`` (the baselines are run once per
photo and mode, at the palette size our automatic choice gave). Each configuration of
``min_delta_e`` (the palette separation the fit enforces), ``vivid`` (chroma given back to the
cell averages) and ``cleanup`` (orphan removal) runs on all of them; the table counts, per
configuration, the runs meeting each per-run quality target of ``bench_postprocess.py``, with
the median colour fidelity (mean CIEDE2000) and edge F1. The last lines name the configurations
that meet fidelity, separation and chroma together on every run, and the best edge F1 any
method reached on each photo.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import itertools  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from typing import Sequence  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.bench_postprocess import (  # noqa: E402
    IMAGES,
    QUALITY_TARGETS,
    load_samples,
    measure,
    naive,
    quality_targets,
    seed_faithful,
)
from postprocess import pixelize_image  # noqa: E402

SEPARATIONS = (0.0, 4.0, 6.0, 7.0, 7.7, 8.0, 10.0)
SHORT = {"fidelity": "fid", "orphans": "orph", "separation": "sep", "chroma": "chroma", "edges": "edge"}


def sweep(imgs: dict[str, np.ndarray], pixel_size: int = 8, n_colors: int = 12) -> dict:
    """Run the sweep on ``imgs`` (name -> uint8 RGB) and return its data (nothing printed).

    Returns ``{"n_runs", "rows", "together", "best_f1"}``: ``n_runs`` photos x modes; ``rows`` one
    dict per configuration, in table order, with ``min_delta_e``, ``vivid``, ``cleanup``, ``met``
    (target -> number of runs meeting it), ``de_median``, ``f1_median`` and ``all_three`` (fidelity,
    separation and chroma met on every run); ``together`` the ``(min_delta_e, vivid, cleanup)`` of the
    rows with ``all_three``; ``best_f1`` photo -> best edge F1 of any configuration or baseline.
    """
    p = pixel_size
    runs = []  # (photo, mode, k for ours, seed metrics, naive metrics)
    for name, img in imgs.items():
        for mode, k in ((f"k={n_colors}", n_colors), ("auto", None)):
            default = pixelize_image(img, pixel_size=p, n_colors=k)
            k_base = k or len(np.unique(default.reshape(-1, 3), axis=0))
            runs.append((name, mode, k, measure(seed_faithful(img, p, k_base), img, p),
                         measure(naive(img, p, k_base), img, p)))
    rows = []
    best_f1 = {name: max(max(s["edge_f1"], nv["edge_f1"]) for nm, _, _, s, nv in runs if nm == name) for name in imgs}
    for sep, vivid, cleanup in itertools.product(SEPARATIONS, (True, False), (True, False)):
        met = {t: 0 for t in QUALITY_TARGETS}
        de, f1 = [], []
        all_three = True
        for name, _, k, s, nv in runs:
            out = pixelize_image(imgs[name], pixel_size=p, n_colors=k, min_delta_e=sep, vivid=vivid, cleanup=cleanup)
            m = measure(out, imgs[name], p)
            ok = quality_targets(m, s, nv)
            for t in QUALITY_TARGETS:
                met[t] += ok[t]
            all_three &= ok["fidelity"] and ok["separation"] and ok["chroma"]
            de.append(m["de_mean"])
            f1.append(m["edge_f1"])
            best_f1[name] = max(best_f1[name], m["edge_f1"])
        rows.append({"min_delta_e": sep, "vivid": vivid, "cleanup": cleanup, "met": met,
                     "de_median": statistics.median(de), "f1_median": statistics.median(f1),
                     "all_three": bool(all_three)})
    together = [(r["min_delta_e"], r["vivid"], r["cleanup"]) for r in rows if r["all_three"]]
    return {"n_runs": len(runs), "rows": rows, "together": together, "best_f1": best_f1}


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: run the sweep on the chosen photos and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pixel_size", type=int, default=8)
    ap.add_argument("--n_colors", type=int, default=12, help="the fixed-size mode (the other mode is automatic)")
    ap.add_argument("--images", nargs="+", default=list(IMAGES), choices=IMAGES)
    args = ap.parse_args(argv)
    p = args.pixel_size
    result = sweep(load_samples(args.images), p, args.n_colors)
    n = result["n_runs"]
    print(f"quality trade-offs: pixel_size={p}, {n} runs (photos x modes); counts are runs meeting each target\n")
    head = f"{'min_dE':>6} {'vivid':>5} {'cleanup':>7} " + " ".join(f"{SHORT[t]:>6}" for t in QUALITY_TARGETS)
    print(head + f" {'dE med':>7} {'F1 med':>7}")
    print("-" * (len(head) + 16))
    for row in result["rows"]:
        met = row["met"]
        cells = " ".join(f"{met[t]:>4}/{n}" for t in QUALITY_TARGETS)
        print(f"{row['min_delta_e']:>6.1f} {str(row['vivid']):>5} {str(row['cleanup']):>7} {cells} "
              f"{row['de_median']:7.2f} {row['f1_median']:7.3f}")
    print()
    together = result["together"]
    if together:
        print("fidelity + separation + chroma on every run: " + ", ".join(
            f"min_delta_e={s:g} vivid={v} cleanup={c}" for s, v, c in together))
    else:
        print("fidelity + separation + chroma on every run: no configuration of this sweep")
    print("best edge F1 reached on each photo (any configuration, or a baseline): " + ", ".join(
        f"{name} {f:.3f}" for name, f in result["best_f1"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
