"""Compiled inner loops of the postprocess package (numba, compiled on first use and cached).

Each kernel does in one pass what the numpy formulation did in many small array calls, whose
fixed per-call cost dominated at the sizes used here (a few thousand colours, a dozen centres).
The orchestration (random draws, merging, stopping rules) stays in Python.

Conventions: colour arrays are C-contiguous float64 ``(N, 3)``; weights float64 ``(N,)``;
labels int64. "First minimum wins" everywhere, as ``np.argmin`` does, so results match the
array formulations exactly.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "nearest",
    "centroids",
    "lloyd",
    "weiszfeld",
    "min_sqdist_update",
    "de00",
    "de00_sq",
    "map_de00",
    "despeckle_labels",
    "luma_u8",
    "reduce_cells_u8",
    "minority_group",
    "pairwise_de00",
    "edge_aware",
    "scaled_chroma",
    "rescale_chroma",
    "repel",
    "hue_and_chroma_u8",
    "hue_families_k",
    "kmeanspp",
    "bin_means",
    "restore_chroma",
    "centre_window_means",
    "halftone_labels",
    "sharpen_grid",
    "capped_variation",
    "reduce_cells_weighted",
    "srgb_u8_to_xyzn",
    "srgb_float_to_xyzn",
    "xyzn_to_lab",
    "lab_to_linear",
    "linear_to_srgb",
]

_TWO_PI = 2.0 * math.pi
_POW25_7 = 25.0**7
_COS30, _SIN30 = math.cos(math.radians(30.0)), math.sin(math.radians(30.0))
_COS6, _SIN6 = math.cos(math.radians(6.0)), math.sin(math.radians(6.0))
_COS63, _SIN63 = math.cos(math.radians(63.0)), math.sin(math.radians(63.0))
_RAD275 = math.radians(275.0)
_INV_RAD25 = 1.0 / math.radians(25.0)
_RAD30 = math.radians(30.0)


@njit(cache=True, nogil=True)
def _sq(x: np.ndarray, i: int, c: np.ndarray, j: int) -> float:
    d0 = x[i, 0] - c[j, 0]
    d1 = x[i, 1] - c[j, 1]
    d2 = x[i, 2] - c[j, 2]
    return d0 * d0 + d1 * d1 + d2 * d2


@njit(cache=True, nogil=True)
def _soa(x: np.ndarray) -> np.ndarray:
    """``(N, 3)`` -> contiguous ``(3, N)``: the distance loops below run over samples innermost,
    where the compiler vectorises them."""
    return np.ascontiguousarray(x.T)


@njit(cache=True, nogil=True)
def _nearest_soa(xt: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = xt.shape[1]
    assign = np.zeros(n, np.int64)
    dmin = np.full(n, np.inf)
    x0, x1, x2 = xt[0], xt[1], xt[2]
    for j in range(c.shape[0]):
        c0, c1, c2 = c[j, 0], c[j, 1], c[j, 2]
        for i in range(n):
            d0 = x0[i] - c0
            d1 = x1[i] - c1
            d2 = x2[i] - c2
            d = d0 * d0 + d1 * d1 + d2 * d2
            lt = d < dmin[i]
            dmin[i] = d if lt else dmin[i]
            assign[i] = j if lt else assign[i]
    return assign, dmin


@njit(cache=True, nogil=True)
def _sqdist_soa(xt: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Squared distances float64 ``(K, N)`` (centre-major)."""
    n = xt.shape[1]
    out = np.empty((c.shape[0], n))
    x0, x1, x2 = xt[0], xt[1], xt[2]
    for j in range(c.shape[0]):
        c0, c1, c2 = c[j, 0], c[j, 1], c[j, 2]
        row = out[j]
        for i in range(n):
            d0 = x0[i] - c0
            d1 = x1[i] - c1
            d2 = x2[i] - c2
            row[i] = d0 * d0 + d1 * d1 + d2 * d2
    return out


@njit(cache=True, nogil=True)
def nearest(x: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre of each row: (int64 ``(N,)`` index, float64 ``(N,)`` squared distance)."""
    return _nearest_soa(_soa(x), c)


@njit(cache=True, nogil=True)
def _weighted_sums(x: np.ndarray, w: np.ndarray, assign: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-group weight sums float64 ``(k,)`` and weighted row sums ``(k, 3)``."""
    ws = np.zeros(k)
    sums = np.zeros((k, 3))
    for i in range(x.shape[0]):
        a = assign[i]
        wi = w[i]
        ws[a] += wi
        sums[a, 0] += wi * x[i, 0]
        sums[a, 1] += wi * x[i, 1]
        sums[a, 2] += wi * x[i, 2]
    return ws, sums


@njit(cache=True, nogil=True)
def centroids(x: np.ndarray, w: np.ndarray, assign: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Weighted means of the rows of each cluster -> float64 ``(K, 3)``; empty clusters keep ``c``."""
    k = c.shape[0]
    ws, sums = _weighted_sums(x, w, assign, k)
    for j in range(k):
        if ws[j] > 0:
            for t in range(3):
                sums[j, t] /= ws[j]
        else:
            for t in range(3):
                sums[j, t] = c[j, t]
    return sums


@njit(cache=True, nogil=True)
def lloyd(x: np.ndarray, w: np.ndarray, c: np.ndarray, iters: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted Lloyd iterations from centres ``c`` -> (centres, assignment, squared distance to the
    assigned centre). Stops early once the assignment is stable; empty clusters keep their centre."""
    xt = _soa(x)
    assign, dmin = _nearest_soa(xt, c)
    c = c.copy()
    for _ in range(iters):
        c = centroids(x, w, assign, c)
        nxt, dmin = _nearest_soa(xt, c)
        same = True
        for i in range(x.shape[0]):
            if nxt[i] != assign[i]:
                same = False
                break
        if same:
            break
        assign = nxt
    return c, assign, dmin


@njit(cache=True, nogil=True)
def weiszfeld(x: np.ndarray, w: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One Weiszfeld step towards each cluster's weighted geometric median -> (centres, assignment
    to the *input* centres). Distances are floored at 0.5 so a sample on a centre cannot dominate."""
    assign, dmin = nearest(x, c)
    wd = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        wd[i] = w[i] / max(math.sqrt(dmin[i]), 0.5)
    return centroids(x, wd, assign, c), assign


@njit(cache=True, nogil=True)
def min_sqdist_update(x: np.ndarray, centre: np.ndarray, d: np.ndarray) -> None:
    """``d = min(d, |x - centre|^2)`` in place (k-means++ seeding)."""
    for i in range(x.shape[0]):
        d0 = x[i, 0] - centre[0]
        d1 = x[i, 1] - centre[1]
        d2 = x[i, 2] - centre[2]
        v = d0 * d0 + d1 * d1 + d2 * d2
        if v < d[i]:
            d[i] = v


@njit(cache=True, nogil=True)
def _pow7(v: float) -> float:
    v2 = v * v
    return v2 * v2 * v2 * v


#: ``cos`` of 125 degrees: below that mean hue, CIEDE2000's rotation term is negligible (see :func:`de00_sq`).
_COS125 = math.cos(math.radians(125.0))


@njit(cache=True, nogil=True)
def de00_sq(l1: float, a1: float, b1: float, cab1: float, l2: float, a2: float, b2: float, cab2: float) -> float:
    """Squared CIEDE2000 between two CIELAB colours given their chromas ``cab = hypot(a*, b*)``
    (Sharma, Wu and Dalal 2005; kL = kC = kH = 1). :func:`de00` is its square root.

    Same formula as :func:`postprocess.color.delta_e00` with fewer transcendentals: the hue
    difference term comes from ``dH'^2 = 2 (C1' C2' - a1' a2' - b1 b2)`` with the sign of the
    cross product, and the mean hue's cosine and sine from the bisector of the two hue
    directions (which is what the formula's +-180 degree cases select). The rotation term
    ``R_T`` has the factor ``exp(-((h' - 275) / 25)^2)``, below 2.4e-16 for a mean hue
    ``h' < 125`` degrees; it is skipped there (the result moves by at most one rounding step),
    which saves the arctangent, exponential and sine for reds, oranges, skin and yellows.
    """
    c_bar = 0.5 * (cab1 + cab2)
    c7 = _pow7(c_bar)
    g1 = 1.5 - 0.5 * math.sqrt(c7 / (c7 + _POW25_7))
    a1p = g1 * a1
    a2p = g1 * a2
    c1p = math.sqrt(a1p * a1p + b1 * b1)
    c2p = math.sqrt(a2p * a2p + b2 * b2)
    dlp = l2 - l1
    dcp = c2p - c1p
    cprod = c1p * c2p
    if cprod == 0.0:
        dhp = 0.0
        # h' of a zero-chroma colour is 0, so the mean hue is the other colour's hue.
        if c1p == 0.0 and c2p == 0.0:
            co1, si1 = 1.0, 0.0
        elif c1p == 0.0:
            co1, si1 = a2p / c2p, b2 / c2p
        else:
            co1, si1 = a1p / c1p, b1 / c1p
    else:
        cross = a1p * b2 - b1 * a2p
        dhp = math.sqrt(max(2.0 * (cprod - a1p * a2p - b1 * b2), 0.0))
        if cross < 0.0:
            dhp = -dhp
        bx = a1p / c1p + a2p / c2p
        by = b1 / c1p + b2 / c2p
        nb = math.sqrt(bx * bx + by * by)
        if nb > 1e-9:
            co1, si1 = bx / nb, by / nb
        else:
            # Opposite hues: the formula takes the mean of the two angles in [0, 2 pi).
            h1p = math.atan2(b1, a1p)
            if h1p < 0.0:
                h1p += _TWO_PI
            h2p = math.atan2(b2, a2p)
            if h2p < 0.0:
                h2p += _TWO_PI
            hm = 0.5 * (h1p + h2p)
            co1, si1 = math.cos(hm), math.sin(hm)
    lbp = 0.5 * (l1 + l2)
    cbp = 0.5 * (c1p + c2p)
    co2 = co1 * co1 - si1 * si1
    si2 = 2.0 * si1 * co1
    co3 = co2 * co1 - si2 * si1
    si3 = si2 * co1 + co2 * si1
    co4 = co2 * co2 - si2 * si2
    si4 = 2.0 * si2 * co2
    t = (
        1.0
        - 0.17 * (co1 * _COS30 + si1 * _SIN30)
        + 0.24 * co2
        + 0.32 * (co3 * _COS6 - si3 * _SIN6)
        - 0.20 * (co4 * _COS63 + si4 * _SIN63)
    )
    lb50 = (lbp - 50.0) ** 2
    sl = 1.0 + 0.015 * lb50 / math.sqrt(20.0 + lb50)
    sc = 1.0 + 0.045 * cbp
    sh = 1.0 + 0.015 * cbp * t
    tl = dlp / sl
    tc = dcp / sc
    th = dhp / sh
    rt = 0.0
    if not (si1 >= 0.0 and co1 > _COS125):
        hbp = math.atan2(si1, co1)
        if hbp < 0.0:
            hbp += _TWO_PI
        z = (hbp - _RAD275) * _INV_RAD25
        cbp7 = _pow7(cbp)
        rt = -math.sin(2.0 * _RAD30 * math.exp(-(z * z))) * 2.0 * math.sqrt(cbp7 / (cbp7 + _POW25_7))
    return max(tl * tl + tc * tc + th * th + rt * tc * th, 0.0)


@njit(cache=True, nogil=True)
def de00(l1: float, a1: float, b1: float, l2: float, a2: float, b2: float) -> float:
    """CIEDE2000 between two CIELAB colours (kL = kC = kH = 1); see :func:`de00_sq`."""
    return math.sqrt(de00_sq(l1, a1, b1, math.sqrt(a1 * a1 + b1 * b1), l2, a2, b2, math.sqrt(a2 * a2 + b2 * b2)))


@njit(cache=True, nogil=True)
def map_de00(cells: np.ndarray, cells_u: np.ndarray, pal: np.ndarray, pal_u: np.ndarray, ratio: float) -> np.ndarray:
    """CIEDE2000-nearest palette entry of each CIELAB row -> int64 labels ``(N,)``.

    ``cells_u``/``pal_u`` are the same colours in ``color.to_de_space``, where Euclidean
    distance approximates CIEDE2000. Entries whose squared distance there is below ``ratio``
    times the nearest one's are the candidates; CIEDE2000 picks among them (ties keep the
    nearest). Farther entries cannot win in practice, so CIEDE2000 runs on a few colours only.
    """
    n, k = cells.shape[0], pal.shape[0]
    labels = np.zeros(n, np.int64)
    if k == 1:
        return labels
    du = _sqdist_soa(_soa(cells_u), pal_u)  # (K, N)
    bd = du[0].copy()
    for j in range(1, k):  # nearest in the approximate space, samples innermost (vectorised)
        row = du[j]
        for i in range(n):
            lt = row[i] < bd[i]
            bd[i] = row[i] if lt else bd[i]
            labels[i] = j if lt else labels[i]
    lim = ratio * bd
    ncand = np.zeros(n, np.int64)
    for j in range(k):
        row = du[j]
        for i in range(n):
            ncand[i] += row[i] < lim[i]
    pc = np.empty(k)
    for j in range(k):
        pc[j] = math.sqrt(pal[j, 1] * pal[j, 1] + pal[j, 2] * pal[j, 2])
    for i in range(n):
        if ncand[i] < 2:
            continue
        best = labels[i]
        l1, a1, b1 = cells[i, 0], cells[i, 1], cells[i, 2]
        c1 = math.sqrt(a1 * a1 + b1 * b1)
        pick = best
        pe = de00_sq(l1, a1, b1, c1, pal[best, 0], pal[best, 1], pal[best, 2], pc[best])
        for j in range(k):
            if j == best or du[j, i] >= lim[i]:
                continue
            e = de00_sq(l1, a1, b1, c1, pal[j, 0], pal[j, 1], pal[j, 2], pc[j])
            if e < pe:
                pick, pe = j, e
        labels[i] = pick
    return labels


@njit(cache=True, nogil=True)
def despeckle_labels(
    labels: np.ndarray, cells: np.ndarray, pal: np.ndarray, passes: int, min_neighbours: int, max_shift: float
) -> np.ndarray:
    """Orphan removal on int64 ``(h, w)`` labels (-1 = transparent); see ``downsampling.despeckle``.

    ``cells`` float64 ``(h*w, 3)`` and ``pal`` float64 ``(K, 3)`` are CIELAB; costs are squared
    CIELAB distances, computed for orphans only. Every pass decides from the labels as they were
    at its start (a synchronous update).
    """
    h, w = labels.shape
    out = labels.copy()
    nbv = np.empty(8, np.int64)
    for _ in range(passes):
        prev = out.copy()
        changed = False
        for y in range(h):
            for x in range(w):
                own = prev[y, x]
                if own < 0:
                    continue
                n_valid = 0
                same = False
                t = 0
                for dy in range(-1, 2):
                    for dx in range(-1, 2):
                        if dy == 0 and dx == 0:
                            continue
                        yy, xx = y + dy, x + dx
                        v = -1
                        if 0 <= yy < h and 0 <= xx < w:
                            v = prev[yy, xx]
                        nbv[t] = v
                        t += 1
                        if v >= 0:
                            n_valid += 1
                            if v == own:
                                same = True
                if same or n_valid < min_neighbours:
                    continue
                flat = y * w + x
                pick, pc = -1, np.inf
                for t in range(8):
                    v = nbv[t]
                    if v >= 0:
                        c = _sq(cells, flat, pal, v)
                        if c < pc:
                            pick, pc = v, c
                if pick >= 0 and math.sqrt(pc) - math.sqrt(_sq(cells, flat, pal, own)) <= max_shift:
                    out[y, x] = pick
                    changed = True
        if not changed:
            break
    return out


@njit(cache=True, nogil=True)
def luma_u8(r: np.uint8, g: np.uint8, b: np.uint8) -> np.int32:
    """Rec. 601 luma of one uint8 pixel, rounded: ``(9798 R + 19235 G + 3735 B + 2^14) >> 15``
    (bit-identical to ``cv2.COLOR_RGB2GRAY`` on all 2^24 colours). int32 lanes, so loops over
    pixels vectorise."""
    return (np.int32(r) * 9798 + np.int32(g) * 19235 + np.int32(b) * 3735 + 16384) >> 15


@njit(cache=True, nogil=True)
def reduce_cells_u8(
    rgb: np.ndarray, p: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-cell statistics of a C-contiguous uint8 ``(H, W, 3)`` image on a ``p``-pixel grid
    (partial last cells cover their real pixels only).

    Returns float64 ``(h, w, 3)`` cell means, the means of the pixels whose :func:`luma_u8`
    exceeds ``floor`` of the cell's mean luma (``hi``) and of the others (``lo``; either is the
    cell mean when that half is empty), and float64 ``(h, w)`` the bright share.

    One band of ``p`` rows at a time, twice while it is in cache: the rows are summed into a
    column buffer (a contiguous, vectorisable loop) and folded into cells, which gives the
    thresholds; then the bright pixels are summed the same way with branch-free masks (the
    comparison is a coin flip at edges).
    """
    big_h, big_w = rgb.shape[0], rgb.shape[1]
    flat = rgb.reshape(big_h, big_w * 3)
    h, w = (big_h + p - 1) // p, (big_w + p - 1) // p
    mean = np.empty((h, w, 3))
    hi = np.empty((h, w, 3))
    lo = np.empty((h, w, 3))
    frac = np.empty((h, w))
    acc = np.zeros(big_w * 3, np.int32)
    bacc = np.zeros(big_w * 3, np.int32)
    cnt = np.zeros(big_w, np.int32)
    tcol = np.empty(big_w, np.int32)
    lum = np.empty(big_w, np.int32)
    m3 = np.empty(big_w * 3, np.uint8)
    sums = np.empty(3, np.int64)
    bright = np.empty(4, np.int64)
    for cy in range(h):
        y0, y1 = cy * p, min(cy * p + p, big_h)
        acc[:] = 0
        for y in range(y0, y1):
            row = flat[y]
            for i in range(big_w * 3):
                acc[i] += row[i]
        for cx in range(w):
            x0, x1 = cx * p, min(cx * p + p, big_w)
            sums[:] = 0
            for x in range(x0, x1):
                for c in range(3):
                    sums[c] += acc[3 * x + c]
            n = (y1 - y0) * (x1 - x0)
            for c in range(3):
                mean[cy, cx, c] = sums[c] / n
            t = math.floor(0.299 * mean[cy, cx, 0] + 0.587 * mean[cy, cx, 1] + 0.114 * mean[cy, cx, 2])
            for x in range(x0, x1):
                tcol[x] = t
        bacc[:] = 0
        cnt[:] = 0
        for y in range(y0, y1):
            row = flat[y]
            for x in range(big_w):  # the compiler vectorises the interleaved loads
                lum[x] = luma_u8(row[3 * x], row[3 * x + 1], row[3 * x + 2])
            for x in range(big_w):
                m = np.uint8(255) if lum[x] > tcol[x] else np.uint8(0)
                m3[3 * x] = m
                m3[3 * x + 1] = m
                m3[3 * x + 2] = m
                cnt[x] += m & 1
            for i in range(big_w * 3):
                bacc[i] += row[i] & m3[i]
        for cx in range(w):
            x0, x1 = cx * p, min(cx * p + p, big_w)
            bright[:] = 0
            sums[:] = 0
            for x in range(x0, x1):
                for c in range(3):
                    bright[c] += bacc[3 * x + c]
                    sums[c] += acc[3 * x + c]
                bright[3] += cnt[x]
            n = (y1 - y0) * (x1 - x0)
            nh = bright[3]
            frac[cy, cx] = nh / n
            for c in range(3):
                hi[cy, cx, c] = bright[c] / nh if nh > 0 else mean[cy, cx, c]
                lo[cy, cx, c] = (sums[c] - bright[c]) / (n - nh) if nh < n else mean[cy, cx, c]
    return mean, hi, lo, frac


@njit(cache=True, nogil=True)
def minority_group(
    x: np.ndarray,
    lab: np.ndarray,
    w: np.ndarray,
    c: np.ndarray,
    assign: np.ndarray,
    min_chroma: float,
    wrong_hue: float,
    radius: float,
    n_seeds: int,
) -> tuple[np.ndarray, float]:
    """The largest group of mis-coloured samples (see ``palette_gen._grow_minorities``) ->
    (float64 ``(3,)`` weighted mean of ``x`` over the group, the group's weight; 0 when none).

    ``lab`` is ``x`` with the grouping axis weights applied. A sample with chroma
    ``C >= min_chroma`` is mis-coloured when its centre's (a*, b*) lies farther than
    ``wrong_hue * (C + 5)`` from its own; its score is ``w`` times the excess. The ``n_seeds``
    worst samples (ties in index order) each gather the mis-coloured samples within ``radius``;
    the seed whose group has the largest total score (first on ties) wins.
    """
    n = x.shape[0]
    excess = np.zeros(n)
    bad = np.empty(n, np.int64)
    nbad = 0
    for i in range(n):
        ca = math.sqrt(lab[i, 1] * lab[i, 1] + lab[i, 2] * lab[i, 2])
        if ca < min_chroma:
            continue
        a = assign[i]
        da, db = lab[i, 1] - c[a, 1], lab[i, 2] - c[a, 2]
        wrong = math.sqrt(da * da + db * db)
        e = w[i] * max(wrong - wrong_hue * (ca + 5.0), 0.0)
        if e > 0.0:
            excess[i] = e
            bad[nbad] = i
            nbad += 1
    out = np.zeros(3)
    if nbad == 0:
        return out, 0.0
    bad = bad[:nbad]
    order = np.argsort(-excess[bad], kind="mergesort")
    r2 = radius * radius
    best_seed, best_score = -1, -1.0
    for s in range(min(n_seeds, nbad)):
        si = bad[order[s]]
        score = 0.0
        for t in range(nbad):
            if _sq(lab, bad[t], lab, si) <= r2:
                score += excess[bad[t]]
        if score > best_score:
            best_seed, best_score = si, score
    mass = 0.0
    for t in range(nbad):
        j = bad[t]
        if _sq(lab, j, lab, best_seed) <= r2:
            mass += w[j]
            out[0] += w[j] * x[j, 0]
            out[1] += w[j] * x[j, 1]
            out[2] += w[j] * x[j, 2]
    if mass > 0.0:
        out /= mass
    return out, mass


@njit(cache=True, nogil=True)
def pairwise_de00(c: np.ndarray) -> np.ndarray:
    """CIEDE2000 between all rows of CIELAB ``(K, 3)`` -> float64 ``(K, K)``, ``inf`` on the diagonal."""
    k = c.shape[0]
    out = np.empty((k, k))
    for i in range(k):
        out[i, i] = np.inf
        for j in range(i + 1, k):
            d = de00(c[i, 0], c[i, 1], c[i, 2], c[j, 0], c[j, 1], c[j, 2])
            out[i, j] = d
            out[j, i] = d
    return out


@njit(cache=True, nogil=True)
def edge_aware(
    mean: np.ndarray,
    hi: np.ndarray,
    lo: np.ndarray,
    frac: np.ndarray,
    prev_side: np.ndarray,
    use_prev: bool,
    side_band: float,
    low: float,
    high: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Edge-aware cell colours float32 ``(h, w, 3)`` and the chosen side bool ``(h, w)`` from the
    statistics of :func:`reduce_cells_u8` (see ``downsampling`` for the rule).

    A cell whose halves differ by ``contrast`` luma levels moves from its mean towards its
    majority half by ``clip((contrast - low) / (high - low), 0, 1)``; ``prev_side`` (when
    ``use_prev``) adds hysteresis ``side_band`` to the majority vote.
    """
    h, w = frac.shape
    colors = np.empty((h, w, 3), np.float32)
    side = np.empty((h, w), np.bool_)
    for y in range(h):
        for x in range(w):
            f = frac[y, x]
            has_hi = f > 1e-6
            has_lo = f < 1.0 - 1e-6
            if use_prev:
                s = f >= 0.5 - side_band if prev_side[y, x] else f > 0.5 + side_band
            else:
                s = f > 0.5
            s = (s and has_hi) or not has_lo
            side[y, x] = s
            contrast = 0.0
            if has_hi and has_lo:
                contrast = (
                    0.299 * (hi[y, x, 0] - lo[y, x, 0])
                    + 0.587 * (hi[y, x, 1] - lo[y, x, 1])
                    + 0.114 * (hi[y, x, 2] - lo[y, x, 2])
                )
            t = min(max((contrast - low) / (high - low), 0.0), 1.0)
            for ch in range(3):
                m = mean[y, x, ch]
                chosen = hi[y, x, ch] if s else lo[y, x, ch]
                colors[y, x, ch] = min(max(m + t * (chosen - m), 0.0), 255.0)
    return colors, side


@njit(cache=True, nogil=True)
def scaled_chroma(x: np.ndarray, k: float) -> np.ndarray:
    """``k * C`` of each CIELAB row of float64 ``(N, 3)``, ``C = sqrt(a*^2 + b*^2)`` -> float64 ``(N,)``."""
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = k * math.sqrt(x[i, 1] * x[i, 1] + x[i, 2] * x[i, 2])
    return out


@njit(cache=True, nogil=True)
def rescale_chroma(x: np.ndarray, kc: np.ndarray, new_kc: np.ndarray, tiny: float) -> np.ndarray:
    """Rows of ``(N, 3)`` with (a*, b*) scaled by ``new_kc / kc`` (1 where ``kc <= tiny``); ``L*``
    and hue kept -> float64 ``(N, 3)``. With :func:`scaled_chroma` this is the chroma warp of
    ``color.to_de_space``; the transcendental step between them runs vectorised in numpy."""
    out = np.empty((x.shape[0], 3))
    for i in range(x.shape[0]):
        s = new_kc[i] / kc[i] if kc[i] > tiny else 1.0
        out[i, 0] = x[i, 0]
        out[i, 1] = x[i, 1] * s
        out[i, 2] = x[i, 2] * s
    return out


@njit(cache=True, nogil=True)
def repel(c: np.ndarray, wc: np.ndarray, min_de: float, passes: int) -> np.ndarray:
    """Push CIELAB centre pairs closer than ``min_de`` (CIEDE2000) apart along their difference
    -> new float64 ``(K, 3)``; the lighter cluster (weight ``wc``, > 0) moves more. Each pass
    moves every violating pair at once (from the positions at the pass start); ``L*`` is kept
    in [0, 100]. Stops early when no pair is too close."""
    c = c.copy()
    k = c.shape[0]
    move = np.zeros((k, 3))
    for _ in range(passes):
        d = pairwise_de00(c)
        move[:] = 0.0
        any_close = False
        for i in range(k):
            for j in range(i + 1, k):
                if not d[i, j] < min_de:
                    continue
                any_close = True
                v0, v1, v2 = c[i, 0] - c[j, 0], c[i, 1] - c[j, 1], c[i, 2] - c[j, 2]
                n = math.sqrt(v0 * v0 + v1 * v1 + v2 * v2)
                if n < 1e-6:
                    v0, v1, v2, n = 1.0, 0.0, 0.0, 1.0
                grow = n * (min_de / max(d[i, j], 0.25) * 1.05 - 1.0)
                si = grow * wc[j] / (wc[i] + wc[j]) / n
                sj = grow * wc[i] / (wc[i] + wc[j]) / n
                move[i, 0] += v0 * si
                move[i, 1] += v1 * si
                move[i, 2] += v2 * si
                move[j, 0] -= v0 * sj
                move[j, 1] -= v1 * sj
                move[j, 2] -= v2 * sj
        if not any_close:
            break
        for i in range(k):
            for t in range(3):
                c[i, t] += move[i, t]
            c[i, 0] = min(max(c[i, 0], 0.0), 100.0)
    return c


@njit(cache=True, nogil=True)
def _ramp(lum: np.ndarray, w: np.ndarray, sel: np.ndarray, l_step: float, max_ramp: int) -> int:
    """``clip(1 + round(std / l_step), 1, max_ramp)`` of the weighted L* of the selected samples."""
    sw = 0.0
    swl = 0.0
    for i in range(lum.shape[0]):
        if sel[i]:
            sw += w[i]
            swl += w[i] * lum[i]
    mu = swl / sw
    var = 0.0
    for i in range(lum.shape[0]):
        if sel[i]:
            var += w[i] * (lum[i] - mu) ** 2
    return min(max(1 + int(np.round(math.sqrt(var / sw) / l_step)), 1), max_ramp)


@njit(cache=True, nogil=True)
def hue_and_chroma_u8(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """HSV hue in degrees [0, 360) and ``V * S`` (= (max - min) / 255, in [0, 1]) of uint8 RGB rows
    ``(N, 3)`` -> two float64 ``(N,)``; the hue follows OpenCV's float RGB -> HSV (red first, then
    green; 0 for greys)."""
    n = rgb.shape[0]
    hue = np.zeros(n)
    vs = np.empty(n)
    for i in range(n):
        r, g, b = np.int64(rgb[i, 0]), np.int64(rgb[i, 1]), np.int64(rgb[i, 2])
        v = max(r, g, b)
        diff = v - min(r, g, b)
        vs[i] = diff / 255.0
        if diff == 0:
            continue
        if v == r:
            h = 60.0 * (g - b) / diff
        elif v == g:
            h = 120.0 + 60.0 * (b - r) / diff
        else:
            h = 240.0 + 60.0 * (r - g) / diff
        hue[i] = h + 360.0 if h < 0.0 else h
    return hue, vs


@njit(cache=True, nogil=True)
def hue_families_k(
    hue: np.ndarray,
    hsv_chroma: np.ndarray,
    lum: np.ndarray,
    w: np.ndarray,
    kernel: np.ndarray,
    grey_chroma: float,
    family_min: float,
    l_step: float,
    max_ramp: int,
) -> int:
    """Automatic palette size before clipping (``palette_gen.auto_n_colors``; rule in its docstring).

    ``hue`` in degrees [0, 360), ``hsv_chroma`` = S * V in [0, 1], ``lum`` = L*, ``w`` > 0 weights;
    ``kernel`` the circular smoothing weights for bin offsets ``-r..r``.
    """
    nb = 36
    n = hue.shape[0]
    total = 0.0
    for i in range(n):
        total += w[i]
    chromatic = hsv_chroma >= grey_chroma
    hbin = np.zeros(n, np.int64)
    hist = np.zeros(nb)
    n_chromatic = 0
    for i in range(n):
        if chromatic[i]:
            b = min(int(hue[i] / 360.0 * nb), nb - 1)
            hbin[i] = b
            hist[b] += w[i]
            n_chromatic += 1
    k = 0
    if n_chromatic > 0:
        r = kernel.shape[0] // 2
        smooth = np.zeros(nb)
        for t in range(kernel.shape[0]):
            for b in range(nb):
                smooth[b] += kernel[t] * hist[(b - (t - r)) % nb]
        # Hill-climb every bin to its local maximum (previous neighbour first, then next).
        step = np.arange(nb)
        for b in range(nb):
            for nbr in ((b - 1) % nb, (b + 1) % nb):
                if smooth[nbr] > smooth[step[b]] + 1e-12:
                    step[b] = nbr
        parent = np.arange(nb)
        for _ in range(nb):
            changed = False
            for b in range(nb):
                q = step[parent[b]]
                if q != parent[b]:
                    parent[b] = q
                    changed = True
            if not changed:
                break
        mass = np.zeros(nb)
        for b in range(nb):
            mass[parent[b]] += hist[b]
        for f in range(nb):
            if mass[f] <= 0.0 or mass[f] < family_min * total:
                continue
            sel = np.zeros(n, np.bool_)
            for i in range(n):
                sel[i] = chromatic[i] and parent[hbin[i]] == f
            k += _ramp(lum, w, sel, l_step, max_ramp)
    grey = ~chromatic
    grey_mass = 0.0
    for i in range(n):
        if grey[i]:
            grey_mass += w[i]
    if grey_mass >= family_min * total or k == 0:
        if not grey.any():
            grey = np.ones(n, np.bool_)
        k += _ramp(lum, w, grey, l_step, max_ramp)
    return k


@njit(cache=True, nogil=True)
def _draw_index(p: np.ndarray, r: float) -> int:
    """Inverse-CDF draw: the first index whose normalised cumulative weight exceeds ``r`` in [0, 1)."""
    n = p.shape[0]
    cdf = np.empty(n)
    acc = 0.0
    for i in range(n):
        acc += p[i]
        cdf[i] = acc
    last = cdf[n - 1]
    for i in range(n):
        if cdf[i] / last > r:
            return i
    return n - 1


@njit(cache=True, nogil=True)
def kmeanspp(x: np.ndarray, w: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Weighted k-means++ seeding -> ``(k', 3)`` centres, ``k = len(uniforms)``; draw ``i`` uses
    ``uniforms[i]`` (``rng.random(k)``). ``k' < k`` only when every remaining sample coincides with
    a centre already chosen."""
    n, k = x.shape[0], uniforms.shape[0]
    centres = np.empty((k, 3))
    first = _draw_index(w, uniforms[0])
    centres[0] = x[first]
    d = np.full(n, np.inf)
    min_sqdist_update(x, x[first], d)
    p = np.empty(n)
    m = 1
    for t in range(1, k):
        s = 0.0
        for i in range(n):
            p[i] = w[i] * d[i]
            s += p[i]
        if s <= 0.0:
            break
        idx = _draw_index(p, uniforms[t])
        centres[m] = x[idx]
        m += 1
        min_sqdist_update(x, x[idx], d)
    return centres[:m].copy()


@njit(cache=True, nogil=True)
def bin_means(colors: np.ndarray, weights: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge uint8 ``(N, 3)`` colours falling in the same ``2^bits``-level RGB bin -> (float64
    ``(M, 3)`` weighted means, float64 ``(M,)`` weights), bins in ascending code order.
    Dense table of ``2^(3 bits)`` entries: for ``bits <= 6``."""
    shift = 8 - bits
    size = 1 << (3 * bits)
    code = np.empty(colors.shape[0], np.int64)
    slot = np.full(size, -1, np.int64)
    for i in range(colors.shape[0]):
        q = ((np.int64(colors[i, 0]) >> shift) << (2 * bits)) | ((np.int64(colors[i, 1]) >> shift) << bits)
        q |= np.int64(colors[i, 2]) >> shift
        code[i] = q
        slot[q] = 0
    m = 0
    for b in range(size):
        if slot[b] == 0:
            slot[b] = m
            m += 1
    assign = np.empty(colors.shape[0], np.int64)
    for i in range(colors.shape[0]):
        assign[i] = slot[code[i]]
    ws, sums = _weighted_sums(colors, weights, assign, m)
    for j in range(m):
        for t in range(3):
            sums[j, t] /= ws[j]
    return sums, ws


@njit(cache=True, nogil=True)
def restore_chroma(
    lab: np.ndarray, w: np.ndarray, c: np.ndarray, assign: np.ndarray, target: float, margin: float
) -> np.ndarray:
    """Raise each CIELAB centre's chroma to its members' weighted mean chroma (at most x1.6), then,
    when ``target > 0``, every centre by one factor (1 to 1.3) so that the usage-weighted chroma
    reaches ``margin * target``; hue and L* kept -> new float64 ``(K, 3)``."""
    k = c.shape[0]
    ws = np.zeros(k)
    wc = np.zeros(k)
    for i in range(lab.shape[0]):
        a = assign[i]
        ws[a] += w[i]
        wc[a] += w[i] * math.sqrt(lab[i, 1] * lab[i, 1] + lab[i, 2] * lab[i, 2])
    out = c.copy()
    for j in range(k):
        cc = math.sqrt(c[j, 1] * c[j, 1] + c[j, 2] * c[j, 2])
        s = 1.0
        if cc > 1e-6 and ws[j] > 0:
            s = min(max((wc[j] / max(ws[j], 1e-12)) / max(cc, 1e-6), 1.0), 1.6)
        out[j, 1] *= s
        out[j, 2] *= s
    if target > 0:
        have = 0.0
        tot = 0.0
        for j in range(k):
            have += ws[j] * math.sqrt(out[j, 1] * out[j, 1] + out[j, 2] * out[j, 2])
            tot += ws[j]
        have /= max(tot, 1e-12)
        if have > 1e-6:
            f = min(max(margin * target / have, 1.0), 1.3)
            for j in range(k):
                out[j, 1] *= f
                out[j, 2] *= f
    return out


@njit(cache=True, nogil=True)
def _weighted_cell_sums(
    flat: np.ndarray, weight: np.ndarray, p: int, thr: np.ndarray, use_thr: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell weight sums ``(h, w)`` and weighted RGB sums ``(h, w, 3)`` of a uint8 ``(H, W * 3)``
    image; with ``use_thr`` only pixels whose :func:`luma_u8` exceeds their cell's ``thr`` count. Rows are
    accumulated into column buffers (contiguous multiply-adds), folded once per cell row."""
    big_h, big_w = weight.shape
    h, w = (big_h + p - 1) // p, (big_w + p - 1) // p
    wsum = np.zeros((h, w))
    sums = np.zeros((h, w, 3))
    acc = np.zeros(big_w * 3)
    accw = np.zeros(big_w)
    w3 = np.empty(big_w * 3)
    tcol = np.zeros(big_w)
    for cy in range(h):
        acc[:] = 0.0
        accw[:] = 0.0
        if use_thr:
            for x in range(big_w):
                tcol[x] = thr[cy, x // p]
        for y in range(cy * p, min(cy * p + p, big_h)):
            row = flat[y]
            for x in range(big_w):
                m = np.float64(weight[y, x])
                if use_thr and not luma_u8(row[3 * x], row[3 * x + 1], row[3 * x + 2]) > tcol[x]:
                    m = 0.0
                accw[x] += m
                w3[3 * x] = m
                w3[3 * x + 1] = m
                w3[3 * x + 2] = m
            for i in range(big_w * 3):
                acc[i] += w3[i] * row[i]
        for cx in range(w):
            for x in range(cx * p, min(cx * p + p, big_w)):
                wsum[cy, cx] += accw[x]
                for c in range(3):
                    sums[cy, cx, c] += acc[3 * x + c]
    return wsum, sums


@njit(cache=True, nogil=True)
def reduce_cells_weighted(
    rgb: np.ndarray, weight: np.ndarray, p: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`reduce_cells_u8` with per-pixel weights (alpha / 255): transparent pixels do not count.

    ``rgb`` C-contiguous uint8 ``(H, W, 3)``, ``weight`` float32 ``(H, W)`` in [0, 1]. Returns float64 ``(h, w, 3)`` weighted cell means, bright-half and
    dark-half means (the bright half: grey level above the cell's weighted mean luma; an empty
    half takes the mean; an empty cell is 0), float64 ``(h, w)`` the bright share of the weight,
    and float64 ``(h, w)`` the summed weight.
    """
    big_h, big_w = weight.shape
    flat = rgb.reshape(big_h, big_w * 3)
    h, w = (big_h + p - 1) // p, (big_w + p - 1) // p
    ym = np.zeros((h, w))
    s0, sums = _weighted_cell_sums(flat, weight, p, ym, False)
    mean = np.zeros((h, w, 3))
    for cy in range(h):
        for cx in range(w):
            if s0[cy, cx] > 1e-12:
                for c in range(3):
                    mean[cy, cx, c] = sums[cy, cx, c] / s0[cy, cx]
            ym[cy, cx] = 0.299 * mean[cy, cx, 0] + 0.587 * mean[cy, cx, 1] + 0.114 * mean[cy, cx, 2]
    h0, hsum = _weighted_cell_sums(flat, weight, p, ym, True)
    hi = np.empty((h, w, 3))
    lo = np.empty((h, w, 3))
    frac = np.zeros((h, w))
    for cy in range(h):
        for cx in range(w):
            tot, hw = s0[cy, cx], h0[cy, cx]
            if tot > 1e-12:
                frac[cy, cx] = hw / tot
            for c in range(3):
                hi[cy, cx, c] = hsum[cy, cx, c] / hw if hw > 1e-12 else mean[cy, cx, c]
                rest = tot - hw
                lo[cy, cx, c] = (sums[cy, cx, c] - hsum[cy, cx, c]) / rest if rest > 1e-12 else mean[cy, cx, c]
    return mean, hi, lo, frac, s0


@njit(cache=True, nogil=True)
def centre_window_means(
    rgb: np.ndarray, weight: np.ndarray, use_weight: bool, p: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean, minimum and maximum colour of the central window of every ``p``-pixel cell of a uint8
    ``(H, W, 3)`` image.

    A cell spanning ``n`` pixels along an axis (``p``, or fewer for the partial last cell) has a
    window of ``m = max(1, n // 2)`` pixels starting ``(n - m) // 2`` pixels in (the central half).
    With ``use_weight`` the pixels are weighted by float32 ``weight`` ``(H, W)`` and pixels of
    weight 0 are left out. Returns float64 ``(h, w, 3)`` means, float64 ``(h, w)`` window weights,
    and float64 ``(h, w, 3)`` per-channel minima and maxima (all 0 where the window's weight is 0).
    """
    big_h, big_w = rgb.shape[0], rgb.shape[1]
    h, w = (big_h + p - 1) // p, (big_w + p - 1) // p
    means = np.zeros((h, w, 3))
    wsum = np.zeros((h, w))
    lo = np.zeros((h, w, 3))
    hi = np.zeros((h, w, 3))
    mn = np.empty(3)
    mx3 = np.empty(3)
    s = np.empty(3)
    for cy in range(h):
        ny = min(p, big_h - cy * p)
        my = max(1, ny // 2)
        y0 = cy * p + (ny - my) // 2
        for cx in range(w):
            nx = min(p, big_w - cx * p)
            mx = max(1, nx // 2)
            x0 = cx * p + (nx - mx) // 2
            s[:] = 0.0
            mn[:] = 255.0
            mx3[:] = 0.0
            tot = 0.0
            if not use_weight:  # integer sums, no weight branch (the common, opaque case)
                i0 = 0
                i1 = 0
                i2 = 0
                a0, a1, a2 = 255, 255, 255
                b0, b1, b2 = 0, 0, 0
                for y in range(y0, y0 + my):
                    for x in range(x0, x0 + mx):
                        r, g, b = np.int32(rgb[y, x, 0]), np.int32(rgb[y, x, 1]), np.int32(rgb[y, x, 2])
                        i0 += r
                        i1 += g
                        i2 += b
                        a0, a1, a2 = min(a0, r), min(a1, g), min(a2, b)
                        b0, b1, b2 = max(b0, r), max(b1, g), max(b2, b)
                s[0], s[1], s[2] = i0, i1, i2
                mn[0], mn[1], mn[2] = a0, a1, a2
                mx3[0], mx3[1], mx3[2] = b0, b1, b2
                tot = np.float64(my * mx)
            else:
                for y in range(y0, y0 + my):
                    for x in range(x0, x0 + mx):
                        wt = np.float64(weight[y, x])
                        if wt <= 0.0:
                            continue
                        for c in range(3):
                            v = np.float64(rgb[y, x, c])
                            s[c] += wt * v
                            mn[c] = min(mn[c], v)
                            mx3[c] = max(mx3[c], v)
                        tot += wt
            wsum[cy, cx] = tot
            if tot > 1e-12:
                for c in range(3):
                    means[cy, cx, c] = s[c] / tot
                    lo[cy, cx, c] = mn[c]
                    hi[cy, cx, c] = mx3[c]
    return means, wsum, lo, hi


@njit(cache=True, nogil=True)
def sharpen_grid(
    c: np.ndarray, strength: float, valid: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """``clip(clip(c + strength * (c - m), lo, hi), 0, 255)`` per cell of float64 ``(h, w, 3)``, where
    ``m`` is the mean of the cell's valid 4-neighbours (``c`` itself when it has none); invalid
    cells are copied. ``lo``/``hi`` float64 ``(h, w, 3)``. Returns float32 ``(h, w, 3)``."""
    h, w = valid.shape
    out = np.empty((h, w, 3), np.float32)
    for y in range(h):
        for x in range(w):
            if not valid[y, x]:
                for ch in range(3):
                    out[y, x, ch] = c[y, x, ch]
                continue
            n = 0
            s0 = 0.0
            s1 = 0.0
            s2 = 0.0
            for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                yy, xx = y + dy, x + dx
                if 0 <= yy < h and 0 <= xx < w and valid[yy, xx]:
                    n += 1
                    s0 += c[yy, xx, 0]
                    s1 += c[yy, xx, 1]
                    s2 += c[yy, xx, 2]
            for ch in range(3):
                m = c[y, x, ch]
                if n > 0:
                    m = (s0 if ch == 0 else (s1 if ch == 1 else s2)) / n
                v = c[y, x, ch] + strength * (c[y, x, ch] - m)
                v = min(max(v, lo[y, x, ch]), hi[y, x, ch])
                out[y, x, ch] = min(max(v, 0.0), 255.0)
    return out


@njit(cache=True, nogil=True)
def capped_variation(lab: np.ndarray, valid: np.ndarray, cap: float) -> float:
    """Mean over 4-adjacent pairs of valid cells of ``min(|lab_a - lab_b|, cap)`` (float64
    ``(h, w, 3)``); 0 when there is no such pair. Pairs are summed in row-major order, vertical
    pairs first (the order of the numpy definition)."""
    h, w = valid.shape
    total = 0.0
    count = 0
    for y in range(1, h):
        for x in range(w):
            if valid[y, x] and valid[y - 1, x]:
                d = 0.0
                for ch in range(3):
                    e = lab[y, x, ch] - lab[y - 1, x, ch]
                    d += e * e
                total += min(math.sqrt(d), cap)
                count += 1
    for y in range(h):
        for x in range(1, w):
            if valid[y, x] and valid[y, x - 1]:
                d = 0.0
                for ch in range(3):
                    e = lab[y, x, ch] - lab[y, x - 1, ch]
                    d += e * e
                total += min(math.sqrt(d), cap)
                count += 1
    return total / count if count > 0 else 0.0


@njit(cache=True, nogil=True)
def halftone_labels(
    labels: np.ndarray, cells_lab: np.ndarray, pal: np.ndarray, min_contrast: float, max_off: float, band: float,
    flat_tol: float,
) -> np.ndarray:
    """Anti-aliasing cleanup: a cell whose two opposite neighbours (left/right, then up/down) carry two
    other labels, each repeated one cell further out, with those four cells within ``flat_tol``
    (CIELAB distance) of their palette colour (flat on both sides), and whose colour lies on the
    segment between those two palette colours takes the nearer one.

    ``labels`` int64 ``(h, w)`` (-1 transparent, left alone); ``cells_lab`` float64 ``(h*w, 3)``;
    ``pal`` float64 ``(K, 3)`` CIELAB. The two colours must differ by at least ``min_contrast``
    (CIELAB distance); the cell's distance from their segment must be at most ``max_off`` times
    its length; its position along the segment ``t`` must lie in ``[band, 1 - band]``. Reads the
    input labels only (one pass); returns a new array.
    """
    h, w = labels.shape
    out = labels.copy()
    for y in range(h):
        for x in range(w):
            lc = labels[y, x]
            if lc < 0:
                continue
            for axis in range(2):
                if axis == 0:
                    if x < 2 or x > w - 3:
                        continue
                    la, la2, lb, lb2 = labels[y, x - 1], labels[y, x - 2], labels[y, x + 1], labels[y, x + 2]
                else:
                    if y < 2 or y > h - 3:
                        continue
                    la, la2, lb, lb2 = labels[y - 1, x], labels[y - 2, x], labels[y + 1, x], labels[y + 2, x]
                if la < 0 or lb < 0 or la == lb or la == lc or lb == lc or la2 != la or lb2 != lb:
                    continue
                flat = True
                for k in range(1, 3):
                    for sgn in (-1, 1):
                        i = (y * w + x + sgn * k) if axis == 0 else ((y + sgn * k) * w + x)
                        lab_i = la if sgn < 0 else lb
                        e2 = 0.0
                        for c in range(3):
                            e = cells_lab[i, c] - pal[lab_i, c]
                            e2 += e * e
                        if e2 > flat_tol * flat_tol:
                            flat = False
                if not flat:
                    continue
                seg2 = 0.0
                dot = 0.0
                for c in range(3):
                    d = pal[lb, c] - pal[la, c]
                    seg2 += d * d
                    dot += (cells_lab[y * w + x, c] - pal[la, c]) * d
                if seg2 < min_contrast * min_contrast:
                    continue
                t = dot / seg2
                if t < band or t > 1.0 - band:
                    continue
                off2 = 0.0
                for c in range(3):
                    e = cells_lab[y * w + x, c] - (pal[la, c] + t * (pal[lb, c] - pal[la, c]))
                    off2 += e * e
                if off2 > max_off * max_off * seg2:
                    continue
                out[y, x] = la if t < 0.5 else lb
                break
    return out


@njit(cache=True, nogil=True)
def _times_matrix(lin: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Rows of float64 ``(N, 3)`` times ``m.T`` (``m`` float64 ``(3, 3)``) -> float64 ``(N, 3)``."""
    out = np.empty((lin.shape[0], 3))
    for i in range(lin.shape[0]):
        r, g, b = lin[i, 0], lin[i, 1], lin[i, 2]
        for c in range(3):
            out[i, c] = r * m[c, 0] + g * m[c, 1] + b * m[c, 2]
    return out


@njit(cache=True, nogil=True)
def srgb_u8_to_xyzn(rgb: np.ndarray, lut: np.ndarray, m: np.ndarray) -> np.ndarray:
    """uint8 sRGB rows ``(N, 3)`` -> float64 ``(N, 3)`` CIE XYZ divided by the white point.
    ``lut``: linear light of the 256 levels; ``m``: float64 ``(3, 3)`` sRGB -> normalised XYZ."""
    lin = np.empty((rgb.shape[0], 3))
    for i in range(rgb.shape[0]):
        for c in range(3):
            lin[i, c] = lut[rgb[i, c]]
    return _times_matrix(lin, m)


@njit(cache=True, nogil=True)
def srgb_float_to_xyzn(rgb: np.ndarray, fine: np.ndarray, steps: float, m: np.ndarray) -> np.ndarray:
    """:func:`srgb_u8_to_xyzn` for float64 sRGB rows ``(N, 3)`` in [0, 255].

    Linear light comes from linear interpolation in ``fine``, the exact curve at multiples of
    ``1 / steps`` (exact at those points, so at every uint8 level; within 1e-8 between them).
    Below 0 the interpolation continues the curve's linear segment exactly; above 255 the power
    law itself is used.
    """
    n = rgb.shape[0]
    flat = rgb.reshape(-1)
    lin = np.empty(flat.shape[0])
    last = fine.shape[0] - 2
    for i in range(flat.shape[0]):  # branch-free: the compiler vectorises it
        t = flat[i] * steps
        j = min(max(int(t), 0), last)
        lin[i] = fine[j] + (t - j) * (fine[j + 1] - fine[j])
    for i in range(flat.shape[0]):
        if flat[i] > 255.0:
            lin[i] = ((flat[i] / 255.0 + 0.055) / 1.055) ** 2.4
    return _times_matrix(lin.reshape(n, 3), m)


@njit(cache=True, nogil=True)
def xyzn_to_lab(xyz: np.ndarray, cube_root: np.ndarray, eps: float, kappa: float) -> np.ndarray:
    """White-normalised XYZ ``(N, 3)`` and its element-wise cube root -> float64 CIELAB ``(N, 3)``
    (the cube root comes from numpy, whose vectorised ``cbrt`` is several times faster)."""
    n = xyz.shape[0]
    out = np.empty((n, 3))
    f = np.empty(3)
    for i in range(n):
        for c in range(3):
            v = xyz[i, c]
            f[c] = cube_root[i, c] if v > eps else (kappa * v + 16.0) / 116.0
        out[i, 0] = 116.0 * f[1] - 16.0
        out[i, 1] = 500.0 * (f[0] - f[1])
        out[i, 2] = 200.0 * (f[1] - f[2])
    return out


@njit(cache=True, nogil=True)
def lab_to_linear(lab: np.ndarray, m: np.ndarray, eps: float, kappa: float) -> np.ndarray:
    """CIELAB rows ``(N, 3)`` -> float64 ``(N, 3)`` linear sRGB clipped to [0, 1]; ``m`` is the
    normalised-XYZ -> linear sRGB matrix (white point folded in)."""
    n = lab.shape[0]
    out = np.empty((n, 3))
    xyz = np.empty(3)
    for i in range(n):
        fy = (lab[i, 0] + 16.0) / 116.0
        fx = fy + lab[i, 1] / 500.0
        fz = fy - lab[i, 2] / 200.0
        for c, f in enumerate((fx, fy, fz)):
            f3 = f * f * f
            xyz[c] = f3 if f3 > eps else (116.0 * f - 16.0) / kappa
        for c in range(3):
            v = m[c, 0] * xyz[0] + m[c, 1] * xyz[1] + m[c, 2] * xyz[2]
            out[i, c] = min(max(v, 0.0), 1.0)
    return out


@njit(cache=True, nogil=True)
def linear_to_srgb(lin: np.ndarray, root: np.ndarray, round_u8: bool) -> np.ndarray:
    """Linear sRGB in [0, 1] and ``max(lin, 0.0031308) ** (1 / 2.4)`` (from numpy, vectorised) ->
    float64 sRGB in [0, 255], rounded to integers when ``round_u8``."""
    out = np.empty(lin.shape)
    for i in range(lin.shape[0]):
        for c in range(3):
            v = lin[i, c]
            e = 255.0 * (v * 12.92 if v <= 0.0031308 else 1.055 * root[i, c] - 0.055)
            out[i, c] = min(max(np.rint(e), 0.0), 255.0) if round_u8 else e
    return out
