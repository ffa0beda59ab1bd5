"""Colour kernels: sRGB <-> XYZ <-> CIELAB conversion loops, scalar CIEDE2000 (:func:`de00`,
:func:`de00_sq`) and what is built on it (:func:`pairwise_de00`, :func:`map_de00`), the chroma warp
of ``color.to_de_space`` and the HSV hue/chroma of uint8 colours.

The CIEDE2000 constants come from :mod:`postprocess.reference`, where the textbook formula is.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from postprocess._kernels._shared import _soa
from postprocess.reference import COS6 as _COS6
from postprocess.reference import COS30 as _COS30
from postprocess.reference import COS63 as _COS63
from postprocess.reference import INV_RAD25 as _INV_RAD25
from postprocess.reference import POW25_7 as _POW25_7
from postprocess.reference import RAD30 as _RAD30
from postprocess.reference import RAD275 as _RAD275
from postprocess.reference import SIN6 as _SIN6
from postprocess.reference import SIN30 as _SIN30
from postprocess.reference import SIN63 as _SIN63
from postprocess.reference import TWO_PI as _TWO_PI


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

    Reference: :func:`postprocess.reference.de00_sq`.
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
    """CIEDE2000 between two CIELAB colours (kL = kC = kH = 1); see :func:`de00_sq`.

    Reference: :func:`postprocess.reference.de00`.
    """
    return math.sqrt(de00_sq(l1, a1, b1, math.sqrt(a1 * a1 + b1 * b1), l2, a2, b2, math.sqrt(a2 * a2 + b2 * b2)))


@njit(cache=True, nogil=True)
def pairwise_de00(c: np.ndarray) -> np.ndarray:
    """CIEDE2000 between all rows of CIELAB ``(K, 3)`` -> float64 ``(K, K)``, ``inf`` on the diagonal.

    Reference: :func:`postprocess.reference.pairwise_de00`.
    """
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
def map_de00(cells: np.ndarray, cells_u: np.ndarray, pal: np.ndarray, pal_u: np.ndarray, ratio: float) -> np.ndarray:
    """CIEDE2000-nearest palette entry of each CIELAB row -> int64 labels ``(N,)``.

    ``cells_u``/``pal_u`` are the same colours in ``color.to_de_space``, where Euclidean
    distance approximates CIEDE2000. Entries whose squared distance there is below ``ratio``
    times the nearest one's are the candidates; CIEDE2000 picks among them (ties keep the
    nearest). Farther entries cannot win in practice, so CIEDE2000 runs on a few colours only.

    Reference: :func:`postprocess.reference.map_de00`.
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
def scaled_chroma(x: np.ndarray, k: float) -> np.ndarray:
    """``k * C`` of each CIELAB row of float64 ``(N, 3)``, ``C = sqrt(a*^2 + b*^2)`` -> float64 ``(N,)``.

    Reference: :func:`postprocess.reference.scaled_chroma`.
    """
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = k * math.sqrt(x[i, 1] * x[i, 1] + x[i, 2] * x[i, 2])
    return out


@njit(cache=True, nogil=True)
def rescale_chroma(x: np.ndarray, kc: np.ndarray, new_kc: np.ndarray, tiny: float) -> np.ndarray:
    """Rows of ``(N, 3)`` with (a*, b*) scaled by ``new_kc / kc`` (1 where ``kc <= tiny``); ``L*``
    and hue kept -> float64 ``(N, 3)``. With :func:`scaled_chroma` this is the chroma warp of
    ``color.to_de_space``; the transcendental step between them runs vectorised in numpy.

    Reference: :func:`postprocess.reference.rescale_chroma`.
    """
    out = np.empty((x.shape[0], 3))
    for i in range(x.shape[0]):
        s = new_kc[i] / kc[i] if kc[i] > tiny else 1.0
        out[i, 0] = x[i, 0]
        out[i, 1] = x[i, 1] * s
        out[i, 2] = x[i, 2] * s
    return out


@njit(cache=True, nogil=True)
def hue_and_chroma_u8(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """HSV hue in degrees [0, 360) and ``V * S`` (= (max - min) / 255, in [0, 1]) of uint8 RGB rows
    ``(N, 3)`` -> two float64 ``(N,)``; the hue follows OpenCV's float RGB -> HSV (red first, then
    green; 0 for greys).

    Reference: :func:`postprocess.reference.hue_and_chroma_u8`.
    """
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
    ``lut``: linear light of the 256 levels; ``m``: float64 ``(3, 3)`` sRGB -> normalised XYZ.

    Reference: :func:`postprocess.reference.srgb_to_xyzn`.
    """
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

    Reference: :func:`postprocess.reference.srgb_to_xyzn`.
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
    (the cube root comes from numpy, whose vectorised ``cbrt`` is several times faster).

    Reference: :func:`postprocess.reference.xyzn_to_lab`.
    """
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
    normalised-XYZ -> linear sRGB matrix (white point folded in).

    Reference: :func:`postprocess.reference.lab_to_linear`.
    """
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
    float64 sRGB in [0, 255], rounded to integers when ``round_u8``.

    Reference: :func:`postprocess.reference.linear_to_srgb`.
    """
    out = np.empty(lin.shape)
    for i in range(lin.shape[0]):
        for c in range(3):
            v = lin[i, c]
            e = 255.0 * (v * 12.92 if v <= 0.0031308 else 1.055 * root[i, c] - 0.055)
            out[i, c] = min(max(np.rint(e), 0.0), 255.0) if round_u8 else e
    return out
