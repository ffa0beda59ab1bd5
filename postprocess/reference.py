"""Plain definitions of what the compiled kernels of :mod:`postprocess._kernels` compute.

Each function here is the readable form of one kernel (same name, same arguments unless noted):
array expressions or short Python loops that follow the rule as it is stated, without the
kernels' single-pass accumulation, branch-free masks or skipped terms. They are slow and exist
to be read and to be tested against (``tests/postprocess/test_kernels.py``): where the kernel
sums in the same order the results are identical, elsewhere they agree to rounding.

No numba here; only numpy and :mod:`math`. The CIEDE2000 constants are defined once, in this
module, and imported by the kernels and by :mod:`postprocess.color`.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = [
    # CIEDE2000 constants
    "TWO_PI",
    "POW25_7",
    "COS30",
    "SIN30",
    "COS6",
    "SIN6",
    "COS63",
    "SIN63",
    "RAD275",
    "INV_RAD25",
    "RAD30",
    # colour
    "de00",
    "de00_sq",
    "pairwise_de00",
    "map_de00",
    "scaled_chroma",
    "rescale_chroma",
    "hue_and_chroma_u8",
    "srgb_to_xyzn",
    "xyzn_to_lab",
    "lab_to_linear",
    "linear_to_srgb",
    "srgb_to_lab",
    # cells
    "luma_u8",
    "reduce_cells",
    "edge_aware",
    "centre_window_means",
    "sharpen_grid",
    "capped_variation",
    "despeckle_labels",
    "halftone_labels",
    # palette
    "sqdist",
    "nearest",
    "centroids",
    "lloyd",
    "weiszfeld",
    "min_sqdist_update",
    "kmeanspp",
    "bin_means",
    "minority_group",
    "restore_chroma",
    "repel",
    "hue_families_k",
]

# ---------------------------------------------------------------------------------------------
# CIEDE2000 constants (Sharma, Wu and Dalal 2005), angles in radians.

TWO_PI = 2.0 * math.pi
#: ``25^7``, in the chroma terms ``G`` and ``R_C``.
POW25_7 = 25.0**7
#: ``cos``/``sin`` of the phase shifts of ``T``: ``cos(h - 30)``, ``cos(3h + 6)``, ``cos(4h - 63)``.
COS30, SIN30 = math.cos(math.radians(30.0)), math.sin(math.radians(30.0))
COS6, SIN6 = math.cos(math.radians(6.0)), math.sin(math.radians(6.0))
COS63, SIN63 = math.cos(math.radians(63.0)), math.sin(math.radians(63.0))
#: Centre and inverse width of the rotation term's Gaussian, ``exp(-((h - 275) / 25)^2)``.
RAD275 = math.radians(275.0)
INV_RAD25 = 1.0 / math.radians(25.0)
#: Amplitude of the rotation angle ``d_theta = 30 exp(...)`` degrees.
RAD30 = math.radians(30.0)


# ---------------------------------------------------------------------------------------------
# Colour


def de00(l1: float, a1: float, b1: float, l2: float, a2: float, b2: float) -> float:
    """CIEDE2000 between two CIELAB colours, kL = kC = kH = 1, written step by step from the
    published formula (Sharma, Wu and Dalal 2005, equations 2-22), angles in degrees."""
    # 1. a* is stretched by 1 + G so that near-neutral colours get more hue resolution.
    c_bar = 0.5 * (math.hypot(a1, b1) + math.hypot(a2, b2))
    g = 0.5 * (1.0 - math.sqrt(c_bar**7 / (c_bar**7 + POW25_7)))
    a1p, a2p = (1.0 + g) * a1, (1.0 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360.0 if c1p > 0.0 else 0.0
    h2p = math.degrees(math.atan2(b2, a2p)) % 360.0 if c2p > 0.0 else 0.0
    # 2. Differences in lightness, chroma and hue.
    dlp = l2 - l1
    dcp = c2p - c1p
    if c1p * c2p == 0.0:
        dhp = 0.0
    elif abs(h2p - h1p) <= 180.0:
        dhp = h2p - h1p
    elif h2p - h1p > 180.0:
        dhp = h2p - h1p - 360.0
    else:
        dhp = h2p - h1p + 360.0
    d_big_hp = 2.0 * math.sqrt(c1p * c2p) * math.sin(math.radians(dhp / 2.0))
    # 3. Means and weighting functions.
    lbp = (l1 + l2) / 2.0
    cbp = (c1p + c2p) / 2.0
    if c1p * c2p == 0.0:
        hbp = h1p + h2p
    elif abs(h1p - h2p) <= 180.0:
        hbp = (h1p + h2p) / 2.0
    elif h1p + h2p < 360.0:
        hbp = (h1p + h2p + 360.0) / 2.0
    else:
        hbp = (h1p + h2p - 360.0) / 2.0
    t = (
        1.0
        - 0.17 * math.cos(math.radians(hbp - 30.0))
        + 0.24 * math.cos(math.radians(2.0 * hbp))
        + 0.32 * math.cos(math.radians(3.0 * hbp + 6.0))
        - 0.20 * math.cos(math.radians(4.0 * hbp - 63.0))
    )
    d_theta = 30.0 * math.exp(-(((hbp - 275.0) / 25.0) ** 2))
    r_c = 2.0 * math.sqrt(cbp**7 / (cbp**7 + POW25_7))
    s_l = 1.0 + 0.015 * (lbp - 50.0) ** 2 / math.sqrt(20.0 + (lbp - 50.0) ** 2)
    s_c = 1.0 + 0.045 * cbp
    s_h = 1.0 + 0.015 * cbp * t
    r_t = -math.sin(math.radians(2.0 * d_theta)) * r_c
    # 4. The weighted difference.
    tl, tc, th = dlp / s_l, dcp / s_c, d_big_hp / s_h
    return math.sqrt(max(tl * tl + tc * tc + th * th + r_t * tc * th, 0.0))


def de00_sq(l1: float, a1: float, b1: float, cab1: float, l2: float, a2: float, b2: float, cab2: float) -> float:
    """Squared :func:`de00`. The chromas ``cab = hypot(a*, b*)`` are the kernel's precomputed
    inputs and are not needed here."""
    return de00(l1, a1, b1, l2, a2, b2) ** 2


def pairwise_de00(c: np.ndarray) -> np.ndarray:
    """:func:`de00` between all rows of CIELAB ``(K, 3)`` -> float64 ``(K, K)``, ``inf`` on the diagonal."""
    c = np.asarray(c, np.float64)
    k = len(c)
    out = np.full((k, k), np.inf)
    for i in range(k):
        for j in range(k):
            if i != j:
                out[i, j] = de00(*c[i], *c[j])
    return out


def map_de00(cells: np.ndarray, cells_u: np.ndarray, pal: np.ndarray, pal_u: np.ndarray, ratio: float) -> np.ndarray:
    """CIEDE2000-nearest palette entry of each CIELAB row -> int64 labels ``(N,)``.

    ``cells_u``/``pal_u`` are the same colours in ``color.to_de_space``. Each row starts from its
    nearest entry there (squared Euclidean distance ``d``, first minimum); the candidates are
    the entries with ``d < ratio * d_nearest``. With at least two candidates, the label is the
    candidate of smallest :func:`de00`, the nearest one winning ties and then the lower index;
    otherwise it is the nearest entry.
    """
    d = sqdist(cells_u, pal_u)
    labels = np.argmin(d, axis=1).astype(np.int64)
    if len(pal) == 1:
        return labels
    for i in range(len(cells)):
        best = labels[i]
        cand = [j for j in range(len(pal)) if d[i, j] < ratio * d[i, best]]
        if len(cand) < 2:
            continue
        pick, pick_e = best, de00(*cells[i], *pal[best])
        for j in cand:
            e = de00(*cells[i], *pal[j])
            if j != best and e < pick_e:
                pick, pick_e = j, e
        labels[i] = pick
    return labels


def _chroma(lab: np.ndarray) -> np.ndarray:
    """``C*ab = sqrt(a*^2 + b*^2)`` of CIELAB rows (as the kernels write it, not ``hypot``)."""
    return np.sqrt(lab[..., 1] * lab[..., 1] + lab[..., 2] * lab[..., 2])


def scaled_chroma(x: np.ndarray, k: float) -> np.ndarray:
    """``k * C*ab`` of each CIELAB row of ``(N, 3)`` -> float64 ``(N,)``."""
    return k * _chroma(np.asarray(x, np.float64))


def rescale_chroma(x: np.ndarray, kc: np.ndarray, new_kc: np.ndarray, tiny: float) -> np.ndarray:
    """CIELAB rows with (a*, b*) multiplied by ``new_kc / kc`` (by 1 where ``kc <= tiny``): the
    chroma changes, ``L*`` and hue stay -> float64 ``(N, 3)``."""
    x = np.asarray(x, np.float64)
    big = kc > tiny
    s = np.ones(len(x))
    s[big] = new_kc[big] / kc[big]
    return np.column_stack([x[:, 0], x[:, 1] * s, x[:, 2] * s])


def hue_and_chroma_u8(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """HSV hue in degrees [0, 360) and ``V * S = (max - min) / 255`` of uint8 RGB rows ``(N, 3)``.

    The hue is measured from the largest channel, red taking precedence over green over blue
    on ties (as OpenCV's float RGB -> HSV): ``60 (G - B) / diff``, ``120 + 60 (B - R) / diff`` or
    ``240 + 60 (R - G) / diff``, wrapped into [0, 360); greys (``diff = 0``) get hue 0.
    """
    r, g, b = (np.asarray(rgb, np.int64)[:, i] for i in range(3))
    v = np.maximum(np.maximum(r, g), b)
    diff = v - np.minimum(np.minimum(r, g), b)
    safe = np.maximum(diff, 1)
    hue = np.select(
        [v == r, v == g], [60.0 * (g - b) / safe, 120.0 + 60.0 * (b - r) / safe], 240.0 + 60.0 * (r - g) / safe
    )
    hue = np.where(hue < 0.0, hue + 360.0, hue)
    return np.where(diff == 0, 0.0, hue), diff / 255.0


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] -> linear light (IEC 61966-2-1); below 0 the linear segment continues."""
    return np.where(c <= 0.04045, c / 12.92, ((np.maximum(c, 0.04045) + 0.055) / 1.055) ** 2.4)


def _times_matrix(v: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Each row ``v[i]`` times the ``(3, 3)`` matrix ``m`` (``m @ v[i]``), summed left to right."""
    return np.stack([v[:, 0] * m[c, 0] + v[:, 1] * m[c, 1] + v[:, 2] * m[c, 2] for c in range(3)], axis=1)


def srgb_to_xyzn(rgb: np.ndarray, m: np.ndarray) -> np.ndarray:
    """sRGB rows ``(N, 3)`` (uint8, or float in [0, 255]; the power law applies beyond either end)
    -> CIE XYZ divided by the white point, ``m`` the sRGB -> normalised XYZ matrix.

    Reference of ``srgb_u8_to_xyzn`` and ``srgb_float_to_xyzn`` (which read linear light from
    tables instead of evaluating the power law).
    """
    return _times_matrix(_srgb_to_linear(np.asarray(rgb, np.float64) / 255.0), m)


def xyzn_to_lab(xyz: np.ndarray, eps: float, kappa: float) -> np.ndarray:
    """White-normalised XYZ ``(N, 3)`` -> CIELAB: ``f(t) = cbrt(t)`` above ``eps``, else
    ``(kappa t + 16) / 116``; ``L* = 116 f(Y) - 16``, ``a* = 500 (f(X) - f(Y))``,
    ``b* = 200 (f(Y) - f(Z))``. The kernel takes the cube roots as an input."""
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16.0) / 116.0)
    return np.stack([116.0 * f[:, 1] - 16.0, 500.0 * (f[:, 0] - f[:, 1]), 200.0 * (f[:, 1] - f[:, 2])], axis=1)


def lab_to_linear(lab: np.ndarray, m: np.ndarray, eps: float, kappa: float) -> np.ndarray:
    """CIELAB ``(N, 3)`` -> linear sRGB clipped to [0, 1]: the inverse of :func:`xyzn_to_lab`
    (``t = f^3`` above ``eps``, else ``(116 f - 16) / kappa``), then the normalised-XYZ ->
    linear sRGB matrix ``m``."""
    fy = (lab[:, 0] + 16.0) / 116.0
    f = np.stack([fy + lab[:, 1] / 500.0, fy, fy - lab[:, 2] / 200.0], axis=1)
    xyz = np.where(f * f * f > eps, f * f * f, (116.0 * f - 16.0) / kappa)
    return np.clip(_times_matrix(xyz, m), 0.0, 1.0)


def linear_to_srgb(lin: np.ndarray, round_u8: bool) -> np.ndarray:
    """Linear sRGB in [0, 1] ``(N, 3)`` -> sRGB in [0, 255] (IEC 61966-2-1: ``12.92 v`` up to
    0.0031308, ``1.055 v^(1/2.4) - 0.055`` above), rounded and clipped to integers when
    ``round_u8``. The kernel takes the power ``max(v, 0.0031308)^(1/2.4)`` as an input."""
    root = np.power(np.maximum(lin, 0.0031308), 1 / 2.4)
    e = 255.0 * np.where(lin <= 0.0031308, lin * 12.92, 1.055 * root - 0.055)
    return np.clip(np.rint(e), 0.0, 255.0) if round_u8 else e


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """Textbook sRGB (D65, IEC 61966-2-1 primaries) -> CIELAB of rows ``(N, 3)``, constants
    written out: the end-to-end check of ``srgb_*_to_xyzn`` followed by ``xyzn_to_lab``."""
    m = np.array(
        [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
    )
    white = np.array([0.95047, 1.0, 1.08883])
    return xyzn_to_lab(srgb_to_xyzn(rgb, m / white[:, None]), 216.0 / 24389.0, 24389.0 / 27.0)


# ---------------------------------------------------------------------------------------------
# Cells


def luma_u8(rgb: np.ndarray) -> np.ndarray:
    """Rec. 601 luma of uint8 RGB ``(..., 3)`` -> int64 ``(...)``, as OpenCV's RGB -> grey computes
    it: ``0.299 R + 0.587 G + 0.114 B`` in 15-bit fixed point, ``(9798 R + 19235 G + 3735 B +
    2^14) >> 15`` (the weights rounded so that they sum to ``2^15``; this is not always
    ``round(0.299 R + ...)``, so the fixed-point form is the definition). The kernel takes one
    pixel's three channels."""
    v = np.asarray(rgb, np.int64)
    return (9798 * v[..., 0] + 19235 * v[..., 1] + 3735 * v[..., 2] + (1 << 14)) >> 15


def reduce_cells(
    rgb: np.ndarray, p: int, weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-cell statistics of a uint8 ``(H, W, 3)`` image on a ``p``-pixel grid, partial last cells
    covering their real pixels -> float64 ``(h, w, 3)`` mean, bright-half mean, dark-half mean,
    float64 ``(h, w)`` bright share and float64 ``(h, w)`` total weight.

    Each pixel has weight ``weight`` (float ``(H, W)``, e.g. alpha / 255) or 1. The bright half
    of a cell is its pixels whose :func:`luma_u8` exceeds ``y = 0.299 R + 0.587 G + 0.114 B`` of the
    cell's mean (for integer luma the same as exceeding ``floor(y)``); an empty half takes the
    mean, an empty cell is all 0. Reference of ``reduce_cells_u8`` (``weight=None``, first four
    results) and ``reduce_cells_weighted`` (all five).
    """
    big_h, big_w = rgb.shape[:2]
    wt = np.ones((big_h, big_w)) if weight is None else np.asarray(weight, np.float64)
    grey = luma_u8(rgb)
    h, w = -(-big_h // p), -(-big_w // p)
    mean, hi, lo = np.zeros((h, w, 3)), np.zeros((h, w, 3)), np.zeros((h, w, 3))
    frac, wsum = np.zeros((h, w)), np.zeros((h, w))
    for cy in range(h):
        for cx in range(w):
            cell = (slice(cy * p, cy * p + p), slice(cx * p, cx * p + p))
            px = rgb[cell].reshape(-1, 3).astype(np.float64)
            pw = wt[cell].reshape(-1)
            total = pw.sum()
            wsum[cy, cx] = total
            if total <= 1e-12:
                continue
            m = (pw[:, None] * px).sum(0) / total
            y = 0.299 * m[0] + 0.587 * m[1] + 0.114 * m[2]
            bright = np.where(grey[cell].reshape(-1) > y, pw, 0.0)
            dark = pw - bright
            mean[cy, cx] = m
            frac[cy, cx] = bright.sum() / total
            hi[cy, cx] = (bright[:, None] * px).sum(0) / bright.sum() if bright.sum() > 1e-12 else m
            lo[cy, cx] = (dark[:, None] * px).sum(0) / dark.sum() if dark.sum() > 1e-12 else m
    return mean, hi, lo, frac, wsum


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
    """Edge-aware cell colours float32 ``(h, w, 3)`` and chosen side bool ``(h, w)`` from the
    statistics of :func:`reduce_cells`.

    The side is the bright half when the bright share ``frac > 0.5`` (with ``use_prev``:
    ``>= 0.5 - side_band`` where ``prev_side`` was bright, ``> 0.5 + side_band`` elsewhere), and
    it must exist (``frac > 1e-6``); a cell with no dark half (``frac >= 1 - 1e-6``) is bright.
    The contrast is the luma difference of the halves (0 unless both exist); the colour moves
    from the mean towards the chosen half by ``clip((contrast - low) / (high - low), 0, 1)``,
    clipped to [0, 255].
    """
    has_hi = frac > 1e-6
    has_lo = frac < 1.0 - 1e-6
    if use_prev:
        side = np.where(prev_side, frac >= 0.5 - side_band, frac > 0.5 + side_band)
    else:
        side = frac > 0.5
    side = (side & has_hi) | ~has_lo
    d = hi - lo
    contrast = np.where(has_hi & has_lo, 0.299 * d[..., 0] + 0.587 * d[..., 1] + 0.114 * d[..., 2], 0.0)
    t = np.clip((contrast - low) / (high - low), 0.0, 1.0)[..., None]
    chosen = np.where(side[..., None], hi, lo)
    return np.clip(mean + t * (chosen - mean), 0.0, 255.0).astype(np.float32), side


def centre_window_means(
    rgb: np.ndarray, p: int, weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean, total weight, per-channel minimum and maximum of the central window of every
    ``p``-pixel cell of a uint8 ``(H, W, 3)`` image.

    A cell spanning ``n`` pixels along an axis has a window of ``m = max(1, n // 2)`` pixels
    starting ``(n - m) // 2`` pixels in. With ``weight`` (float ``(H, W)``) the pixels are weighted
    and those of weight 0 do not count for the range. Everything is 0 where the window's weight
    is 0. (The kernel takes ``weight`` and a ``use_weight`` flag instead of ``None``.)
    """
    big_h, big_w = rgb.shape[:2]
    h, w = -(-big_h // p), -(-big_w // p)
    means, wsum = np.zeros((h, w, 3)), np.zeros((h, w))
    lo, hi = np.zeros((h, w, 3)), np.zeros((h, w, 3))
    for cy in range(h):
        ny = min(p, big_h - cy * p)
        my = max(1, ny // 2)
        y0 = cy * p + (ny - my) // 2
        for cx in range(w):
            nx = min(p, big_w - cx * p)
            mx = max(1, nx // 2)
            x0 = cx * p + (nx - mx) // 2
            win = rgb[y0 : y0 + my, x0 : x0 + mx].reshape(-1, 3).astype(np.float64)
            if weight is None:
                wt = np.ones(len(win))
            else:
                wt = weight[y0 : y0 + my, x0 : x0 + mx].reshape(-1).astype(np.float64)
            wsum[cy, cx] = wt.sum()
            if wt.sum() > 1e-12:
                means[cy, cx] = (win * wt[:, None]).sum(0) / wt.sum()
                lo[cy, cx] = win[wt > 0].min(0)
                hi[cy, cx] = win[wt > 0].max(0)
    return means, wsum, lo, hi


def sharpen_grid(c: np.ndarray, strength: float, valid: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``clip(clip(c + strength * (c - m), lo, hi), 0, 255)`` per valid cell of ``(h, w, 3)``, ``m``
    the mean of its valid 4-neighbours (``c`` itself when it has none); invalid cells are
    copied -> float32 ``(h, w, 3)``."""
    v = valid.astype(np.float64)
    pc = np.pad(c * v[..., None], ((1, 1), (1, 1), (0, 0)))
    pv = np.pad(v, 1)
    s = pc[:-2, 1:-1] + pc[2:, 1:-1] + pc[1:-1, :-2] + pc[1:-1, 2:]
    n = pv[:-2, 1:-1] + pv[2:, 1:-1] + pv[1:-1, :-2] + pv[1:-1, 2:]
    m = np.where(n[..., None] > 0, s / np.maximum(n, 1.0)[..., None], c)
    out = np.clip(np.clip(c + strength * (c - m), lo, hi), 0.0, 255.0)
    out[~valid] = c[~valid]
    return out.astype(np.float32)


def capped_variation(lab: np.ndarray, valid: np.ndarray, cap: float) -> float:
    """Mean over 4-adjacent pairs of valid cells of ``min(|lab_a - lab_b|, cap)`` (Euclidean, over
    ``(h, w, 3)``); 0 when there is no such pair."""
    total, count = 0.0, 0
    for a, b, va, vb in (
        (lab[1:], lab[:-1], valid[1:], valid[:-1]),
        (lab[:, 1:], lab[:, :-1], valid[:, 1:], valid[:, :-1]),
    ):
        both = va & vb
        d = np.sqrt(((a - b) ** 2).sum(-1))[both]
        total += float(np.minimum(d, cap).sum())
        count += int(both.sum())
    return total / count if count else 0.0


def despeckle_labels(
    labels: np.ndarray, cells: np.ndarray, pal: np.ndarray, passes: int, min_neighbours: int, max_shift: float
) -> np.ndarray:
    """Orphan removal on int64 ``(h, w)`` labels (-1 transparent, never changed).

    An orphan has no 8-neighbour with its own label and at least ``min_neighbours`` opaque
    8-neighbours. It takes the neighbour label whose palette colour is nearest its CIELAB cell
    colour (``cells`` ``(h*w, 3)``; first in row-major neighbour order on ties), unless that fits
    more than ``max_shift`` worse (CIELAB distance) than its own. Each of up to ``passes``
    passes reads the labels as they were at its start; a pass that changes nothing ends it.
    """
    h, w = labels.shape
    out = labels.copy()
    for _ in range(passes):
        prev = out.copy()
        changed = False
        for y in range(h):
            for x in range(w):
                own = prev[y, x]
                if own < 0:
                    continue
                nbrs = [
                    prev[y + dy, x + dx]
                    for dy in (-1, 0, 1)
                    for dx in (-1, 0, 1)
                    if (dy, dx) != (0, 0) and 0 <= y + dy < h and 0 <= x + dx < w and prev[y + dy, x + dx] >= 0
                ]
                if own in nbrs or len(nbrs) < min_neighbours or not nbrs:
                    continue

                cell = cells[y * w + x]
                cost = {j: float(((cell - pal[j]) ** 2).sum()) for j in (own, *nbrs)}
                pick = min(nbrs, key=cost.__getitem__)
                if math.sqrt(cost[pick]) - math.sqrt(cost[own]) <= max_shift:
                    out[y, x] = pick
                    changed = True
        if not changed:
            break
    return out


def halftone_labels(
    labels: np.ndarray,
    cells_lab: np.ndarray,
    pal: np.ndarray,
    min_contrast: float,
    max_off: float,
    band: float,
    flat_tol: float,
) -> np.ndarray:
    """Anti-aliasing clean-up in one pass over int64 ``(h, w)`` labels (-1 left alone).

    Along each axis (horizontal first) look at the five cells ``a2 a c b b2`` centred on the cell
    ``c``: when ``a2 = a`` and ``b2 = b`` are two other opaque labels, those four cells lie within
    ``flat_tol`` of their palette colours, the palette colours ``A``, ``B`` are at least
    ``min_contrast`` apart, and the cell's colour projects onto segment ``AB`` at ``t`` in
    ``[band, 1 - band]`` at most ``max_off * |AB|`` off it, the cell takes the nearer of ``a``
    (``t < 0.5``) and ``b``. Distances are CIELAB; ``cells_lab`` is ``(h*w, 3)``.
    """
    h, w = labels.shape
    out = labels.copy()
    idx = np.arange(h * w).reshape(h, w)
    for y in range(h):
        for x in range(w):
            if labels[y, x] < 0:
                continue
            lines = []
            if 2 <= x <= w - 3:
                lines.append((labels[y, x - 2 : x + 3], idx[y, x - 2 : x + 3]))
            if 2 <= y <= h - 3:
                lines.append((labels[y - 2 : y + 3, x], idx[y - 2 : y + 3, x]))
            for line, cells in lines:
                a2, a, c, b, b2 = line
                if a < 0 or b < 0 or len({a, b, c}) < 3 or a2 != a or b2 != b:
                    continue
                sides = [cells_lab[cells[i]] - pal[line[i]] for i in (0, 1, 3, 4)]
                if max(float(np.sqrt(e @ e)) for e in sides) > flat_tol:
                    continue
                seg = pal[b] - pal[a]
                if seg @ seg < min_contrast**2:
                    continue
                t = (cells_lab[y * w + x] - pal[a]) @ seg / (seg @ seg)
                off = cells_lab[y * w + x] - (pal[a] + t * seg)
                if band <= t <= 1 - band and off @ off <= max_off**2 * (seg @ seg):
                    out[y, x] = a if t < 0.5 else b
                    break
    return out


# ---------------------------------------------------------------------------------------------
# Palette (weighted k-means and its helpers)


def sqdist(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between the rows of ``x`` ``(N, 3)`` and ``c`` ``(K, 3)`` -> ``(N, K)``."""
    return ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1)


def nearest(x: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre of each row (first minimum on ties) and the squared distance to it."""
    d = sqdist(x, c)
    assign = np.argmin(d, axis=1)
    return assign, d[np.arange(len(x)), assign]


def centroids(x: np.ndarray, w: np.ndarray, assign: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Weighted mean of the rows assigned to each centre -> ``(K, 3)``; an empty cluster keeps ``c``."""
    k = len(c)
    ws = np.bincount(assign, weights=w, minlength=k)
    sums = np.stack([np.bincount(assign, weights=w * x[:, t], minlength=k) for t in range(3)], axis=1)
    out = np.array(c, np.float64)
    out[ws > 0] = sums[ws > 0] / ws[ws > 0, None]
    return out


def lloyd(x: np.ndarray, w: np.ndarray, c: np.ndarray, iters: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Up to ``iters`` weighted Lloyd steps (assign to the nearest centre, move each centre to its
    cluster's weighted mean) from ``c``, stopping once the assignment repeats -> (centres,
    assignment, squared distance to the assigned centre)."""
    c = np.array(c, np.float64)
    assign, dmin = nearest(x, c)
    for _ in range(iters):
        c = centroids(x, w, assign, c)
        nxt, dmin = nearest(x, c)
        if np.array_equal(nxt, assign):
            break
        assign = nxt
    return c, assign, dmin


def weiszfeld(x: np.ndarray, w: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One Weiszfeld step towards each cluster's weighted geometric median: the centroids with
    weights ``w / max(distance to the centre, 0.5)`` -> (centres, assignment to the input centres)."""
    assign, dmin = nearest(x, c)
    return centroids(x, w / np.maximum(np.sqrt(dmin), 0.5), assign, c), assign


def min_sqdist_update(x: np.ndarray, centre: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``min(d, |x - centre|^2)`` per row (the kernel updates ``d`` in place instead of returning it)."""
    return np.minimum(d, ((x - centre) ** 2).sum(1))


def _draw(p: np.ndarray, u: float) -> int:
    """Inverse-CDF draw: the first index whose normalised cumulative weight exceeds ``u``."""
    cdf = np.cumsum(p)
    return min(int(np.searchsorted(cdf / cdf[-1], u, side="right")), len(p) - 1)


def kmeanspp(x: np.ndarray, w: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Weighted k-means++ seeding, ``k = len(uniforms)``: the first centre drawn with probability
    ~ ``w``, each next one ~ ``w`` times the squared distance to the nearest centre so far, draw
    ``t`` by inverse CDF at ``uniforms[t]``. Stops early when every sample is on a centre."""
    idx = [_draw(w, uniforms[0])]
    d = ((x - x[idx[0]]) ** 2).sum(1)
    for u in uniforms[1:]:
        p = w * d
        if p.sum() <= 0.0:
            break
        idx.append(_draw(p, u))
        d = np.minimum(d, ((x - x[idx[-1]]) ** 2).sum(1))
    return x[idx].astype(np.float64)


def bin_means(colors: np.ndarray, weights: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge uint8 colours ``(N, 3)`` that share a ``2^bits``-level RGB bin (the top ``bits`` bits of
    each channel) -> (weighted mean colour ``(M, 3)``, total weight ``(M,)``), bins in ascending
    ``R G B`` code order."""
    q = np.asarray(colors, np.int64) >> (8 - bits)
    code = (q[:, 0] << (2 * bits)) | (q[:, 1] << bits) | q[:, 2]
    _, inv = np.unique(code, return_inverse=True)
    ws = np.bincount(inv, weights=weights)
    sums = np.stack([np.bincount(inv, weights=weights * colors[:, t]) for t in range(3)], axis=1)
    return sums / ws[:, None], ws


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
    """The largest group of mis-coloured samples -> (weighted mean of ``x`` over it, its weight).

    ``lab`` is ``x`` with the grouping axis weights applied. A sample of chroma ``C >= min_chroma``
    (in ``lab``) is mis-coloured when its centre's (a*, b*) lies more than ``wrong_hue * (C + 5)``
    from its own; its score is ``w`` times the excess. Each of the ``n_seeds`` highest-scoring
    samples (stable order) gathers the mis-coloured samples within ``radius`` (in ``lab``); the
    group of largest total score wins (the first on ties). Nothing mis-coloured: ``(0, 0)``.
    """
    chroma = _chroma(lab)
    cab = c[assign, 1:]
    wrong = np.sqrt((lab[:, 1] - cab[:, 0]) ** 2 + (lab[:, 2] - cab[:, 1]) ** 2)
    excess = w * np.where(chroma >= min_chroma, np.maximum(wrong - wrong_hue * (chroma + 5.0), 0.0), 0.0)
    bad = np.nonzero(excess > 0)[0]
    if len(bad) == 0:
        return np.zeros(3), 0.0
    seeds = bad[np.argsort(-excess[bad], kind="stable")[:n_seeds]]
    near = sqdist(lab[bad], lab[seeds]) <= radius * radius  # (bad, seeds)
    group = bad[near[:, int(np.argmax((excess[bad][:, None] * near).sum(axis=0)))]]
    mass = w[group].sum()
    return (w[group, None] * x[group]).sum(axis=0) / mass, float(mass)


def restore_chroma(
    lab: np.ndarray, w: np.ndarray, c: np.ndarray, assign: np.ndarray, target: float, margin: float
) -> np.ndarray:
    """Give CIELAB centres back the chroma averaging took away; hue and ``L*`` kept -> ``(K, 3)``.

    First each centre's chroma is raised to its members' weighted mean chroma (factor in
    [1, 1.6]; centres of chroma <= 1e-6 or without members stay). Then, when ``target > 0``,
    all centres are scaled by one factor in [1, 1.3] so that the usage-weighted mean chroma
    reaches ``margin * target``.
    """
    k = len(c)
    ws = np.bincount(assign, weights=w, minlength=k)
    member_c = np.bincount(assign, weights=w * _chroma(lab), minlength=k)
    cc = _chroma(c)
    s = np.ones(k)
    ok = (cc > 1e-6) & (ws > 0)
    s[ok] = np.clip(member_c[ok] / np.maximum(ws[ok], 1e-12) / np.maximum(cc[ok], 1e-6), 1.0, 1.6)
    out = np.array(c, np.float64)
    out[:, 1:] *= s[:, None]
    if target > 0:
        have = (ws * _chroma(out)).sum() / max(ws.sum(), 1e-12)
        if have > 1e-6:
            out[:, 1:] *= min(max(margin * target / have, 1.0), 1.3)
    return out


def repel(c: np.ndarray, wc: np.ndarray, min_de: float, passes: int) -> np.ndarray:
    """Push CIELAB centres closer than ``min_de`` (:func:`de00`) apart -> ``(K, 3)``.

    Each pass moves every too-close pair along the difference of the pair, both at once from the
    positions at the pass start, growing its Euclidean distance by the factor
    ``min_de / max(dE, 0.25) * 1.05``; the lighter cluster (weight ``wc``) takes the larger share.
    Coincident centres separate along ``L*``. ``L*`` is clipped to [0, 100] after each pass;
    the passes stop once no pair is too close.
    """
    c = np.array(c, np.float64)
    for _ in range(passes):
        d = pairwise_de00(c)
        close = [(i, j) for i in range(len(c)) for j in range(i + 1, len(c)) if d[i, j] < min_de]
        if not close:
            break
        move = np.zeros_like(c)
        for i, j in close:
            v = c[i] - c[j]
            n = float(np.linalg.norm(v))
            if n < 1e-6:
                v, n = np.array([1.0, 0.0, 0.0]), 1.0
            grow = n * (min_de / max(d[i, j], 0.25) * 1.05 - 1.0)
            move[i] += v / n * grow * wc[j] / (wc[i] + wc[j])
            move[j] -= v / n * grow * wc[i] / (wc[i] + wc[j])
        c += move
        c[:, 0] = np.clip(c[:, 0], 0.0, 100.0)
    return c


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
    """Automatic palette size (before clipping): a lightness ramp per hue family, plus one for greys.

    Samples with ``hsv_chroma >= grey_chroma`` are chromatic. Their weights go into a 36-bin hue
    histogram, smoothed circularly with ``kernel`` (weights of bin offsets ``-r..r``); every bin
    climbs to the higher of its neighbours while one is higher (by 1e-12), and the bins reaching
    the same peak form a family. A family holding at least ``family_min`` of the total weight
    adds a ramp of ``clip(1 + round(std(L*) / l_step), 1, max_ramp)`` colours (weighted std of its
    samples' ``lum``). The greys add a ramp when they hold ``family_min`` of the weight or when
    nothing else did (all samples then, if there are no greys).
    """
    nb = 36
    total = w.sum()
    chromatic = hsv_chroma >= grey_chroma

    def ramp(sel: np.ndarray) -> int:
        mu = (w[sel] * lum[sel]).sum() / w[sel].sum()
        std = np.sqrt((w[sel] * (lum[sel] - mu) ** 2).sum() / w[sel].sum())
        return int(np.clip(1 + np.round(std / l_step), 1, max_ramp))

    k = 0
    if chromatic.any():
        hbin = np.minimum((hue / 360.0 * nb).astype(np.int64), nb - 1)
        hist = np.bincount(hbin[chromatic], weights=w[chromatic], minlength=nb)
        r = len(kernel) // 2
        smooth = sum(kernel[t] * np.roll(hist, t - r) for t in range(len(kernel)))
        step = np.arange(nb)
        for nbr in (np.roll(np.arange(nb), 1), np.roll(np.arange(nb), -1)):  # previous, then next bin
            step = np.where(smooth[nbr] > smooth[step] + 1e-12, nbr, step)
        parent = np.arange(nb)
        for _ in range(nb):
            parent = step[parent]
        mass = np.bincount(parent, weights=hist, minlength=nb)
        for f in range(nb):
            if mass[f] > 0.0 and mass[f] >= family_min * total:
                k += ramp(chromatic & (parent[hbin] == f))
    grey = ~chromatic
    if w[grey].sum() >= family_min * total or k == 0:
        k += ramp(grey if grey.any() else np.ones_like(grey))
    return k
