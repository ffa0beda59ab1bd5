"""Grid kernels of ``downsampling``: per-cell reduction of an image on a ``p``-pixel grid
(:func:`reduce_cells_u8`, :func:`reduce_cells_weighted`, :func:`centre_window_means`), the
edge-aware cell colour, sharpening and variation of a cell grid, and the clean-up passes on
the label grid (:func:`despeckle_labels`, :func:`halftone_labels`).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from postprocess._kernels._shared import _sq


@njit(cache=True, nogil=True)
def luma_u8(r: np.uint8, g: np.uint8, b: np.uint8) -> np.int32:
    """Rec. 601 luma of one uint8 pixel, rounded: ``(9798 R + 19235 G + 3735 B + 2^14) >> 15``
    (bit-identical to ``cv2.COLOR_RGB2GRAY`` on all 2^24 colours). int32 lanes, so loops over
    pixels vectorise.

    Reference: :func:`postprocess.reference.luma_u8`.
    """
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

    Reference: :func:`postprocess.reference.reduce_cells` (``weight=None``; its first four results).
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

    ``rgb`` C-contiguous uint8 ``(H, W, 3)``, ``weight`` float32 ``(H, W)`` in [0, 1]. Returns
    float64 ``(h, w, 3)`` weighted cell means, bright-half and dark-half means (the bright half:
    grey level above the cell's weighted mean luma; an empty half takes the mean; an empty cell
    is 0), float64 ``(h, w)`` the bright share of the weight, and float64 ``(h, w)`` the summed
    weight.

    Reference: :func:`postprocess.reference.reduce_cells`.
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

    Reference: :func:`postprocess.reference.edge_aware`.
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

    Reference: :func:`postprocess.reference.centre_window_means`.
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
    cells are copied. ``lo``/``hi`` float64 ``(h, w, 3)``. Returns float32 ``(h, w, 3)``.

    Reference: :func:`postprocess.reference.sharpen_grid`.
    """
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
    pairs first (the order of the numpy definition).

    Reference: :func:`postprocess.reference.capped_variation`.
    """
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
def despeckle_labels(
    labels: np.ndarray, cells: np.ndarray, pal: np.ndarray, passes: int, min_neighbours: int, max_shift: float
) -> np.ndarray:
    """Orphan removal on int64 ``(h, w)`` labels (-1 = transparent); see ``downsampling.despeckle``.

    ``cells`` float64 ``(h*w, 3)`` and ``pal`` float64 ``(K, 3)`` are CIELAB; costs are squared
    CIELAB distances, computed for orphans only. Every pass decides from the labels as they were
    at its start (a synchronous update).

    Reference: :func:`postprocess.reference.despeckle_labels`.
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

    Reference: :func:`postprocess.reference.halftone_labels`.
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
