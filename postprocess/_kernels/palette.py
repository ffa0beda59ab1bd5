"""Palette kernels of ``palette_gen``: weighted k-means (:func:`nearest`, :func:`centroids`,
:func:`lloyd`, :func:`weiszfeld`), k-means++ seeding (:func:`kmeanspp`, :func:`min_sqdist_update`),
sample reduction (:func:`bin_means`), centre adjustments (:func:`minority_group`,
:func:`restore_chroma`, :func:`repel`) and the automatic palette size (:func:`hue_families_k`).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from postprocess._kernels._shared import _soa, _sq
from postprocess._kernels.colour import pairwise_de00


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
def nearest(x: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre of each row: (int64 ``(N,)`` index, float64 ``(N,)`` squared distance).

    Reference: :func:`postprocess.reference.nearest`.
    """
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
    """Weighted means of the rows of each cluster -> float64 ``(K, 3)``; empty clusters keep ``c``.

    Reference: :func:`postprocess.reference.centroids`.
    """
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
    assigned centre). Stops early once the assignment is stable; empty clusters keep their centre.

    Reference: :func:`postprocess.reference.lloyd`.
    """
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
    to the *input* centres). Distances are floored at 0.5 so a sample on a centre cannot dominate.

    Reference: :func:`postprocess.reference.weiszfeld`.
    """
    assign, dmin = nearest(x, c)
    wd = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        wd[i] = w[i] / max(math.sqrt(dmin[i]), 0.5)
    return centroids(x, wd, assign, c), assign


@njit(cache=True, nogil=True)
def min_sqdist_update(x: np.ndarray, centre: np.ndarray, d: np.ndarray) -> None:
    """``d = min(d, |x - centre|^2)`` in place (k-means++ seeding).

    Reference: :func:`postprocess.reference.min_sqdist_update`.
    """
    for i in range(x.shape[0]):
        d0 = x[i, 0] - centre[0]
        d1 = x[i, 1] - centre[1]
        d2 = x[i, 2] - centre[2]
        v = d0 * d0 + d1 * d1 + d2 * d2
        if v < d[i]:
            d[i] = v


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
    a centre already chosen.

    Reference: :func:`postprocess.reference.kmeanspp`.
    """
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
    Dense table of ``2^(3 bits)`` entries: for ``bits <= 6``.

    Reference: :func:`postprocess.reference.bin_means`.
    """
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

    Reference: :func:`postprocess.reference.minority_group`.
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
def restore_chroma(
    lab: np.ndarray, w: np.ndarray, c: np.ndarray, assign: np.ndarray, target: float, margin: float
) -> np.ndarray:
    """Raise each CIELAB centre's chroma to its members' weighted mean chroma (at most x1.6), then,
    when ``target > 0``, every centre by one factor (1 to 1.3) so that the usage-weighted chroma
    reaches ``margin * target``; hue and L* kept -> new float64 ``(K, 3)``.

    Reference: :func:`postprocess.reference.restore_chroma`.
    """
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
def repel(c: np.ndarray, wc: np.ndarray, min_de: float, passes: int) -> np.ndarray:
    """Push CIELAB centre pairs closer than ``min_de`` (CIEDE2000) apart along their difference
    -> new float64 ``(K, 3)``; the lighter cluster (weight ``wc``, > 0) moves more. Each pass
    moves every violating pair at once (from the positions at the pass start); ``L*`` is kept
    in [0, 100]. Stops early when no pair is too close.

    Reference: :func:`postprocess.reference.repel`.
    """
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

    Reference: :func:`postprocess.reference.hue_families_k`.
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
