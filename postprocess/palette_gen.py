"""PaletteGen: a small, distinct, vivid palette by weighted k-means in CIELAB.

Automatic palette size (``n_colors=None``)
    1. Samples with HSV chroma ``V*S >= 0.15`` are *chromatic*; the rest (greys, near
       black, near white) are *achromatic*.
    2. A 36-bin (10 degree) hue histogram of the chromatic samples, weighted by sample
       weight, is smoothed with a circular Gaussian (sigma = 1 bin). Every bin climbs to
       its local maximum; each maximum is a hue *family* whose weight is the sum of the
       bins that climb to it. Families holding less than 3 % of the total weight are
       folded into their neighbours (they are noise, not a hue).
    3. Each family gets ``1 + round(std(L*) / 5)`` colours (1..6): a flat patch needs
       one colour, a shaded object needs a light-to-dark ramp. Achromatic content
       holding at least 3 % of the weight gets ``1 + round(std(L*) / 5)`` greys (1..6).
       (The sample photos get 8-11 colours; with a step of 10 L* they got 5-8, which
       lost mid-tones such as skin.)
    4. ``k`` is the sum, clipped to ``[1, 24]`` and to the number of distinct colours.
    The smoothing and the 3 % floor make ``k`` stable under sensor noise.

Fitting (:func:`fit_palette`)
    1. Samples are weighted colours (in the pipeline: the cells, with their unrounded CIELAB).
       A coarse stage merges them into 16-level RGB bins (weighted means) and runs weighted
       k-means++ (seeded by ``seed``) + Lloyd in CIELAB there: fast and deterministic.
    2. Minority colours (applied after the separation of step 3): only ``k - round(0.34 k)``
       centres come from k-means++; the others are added one at a time at the largest group
       of *mis-coloured* samples
       (chromatic samples whose nearest centre has a clearly different hue or much less
       chroma, e.g. a face drawn grey) holding >= 1 % of the weight, or else drawn as in
       k-means++. So a small skin or saturated region gets its own colour.
    3. Separation: while two centres are closer than ``min_delta_e`` they are merged and
       the freed slot is re-seeded at the worst-represented sample (preferring one that
       is itself distinct), so the palette keeps its size but stops wasting slots.
    4. Fine stage on the samples (merged into 64-level RGB bins above 16384 samples), in
       :func:`to_de_space` (chroma compressed like CIEDE2000, so Euclidean distance
       approximates the fidelity measure): three Lloyd steps, two Weiszfeld (geometric-median)
       steps, since fidelity is a *mean* ΔE00, then one step that assigns by CIEDE2000
       exactly as the final mapping does. The loops run as compiled kernels
       (:mod:`postprocess._kernels`).
    5. Remaining close pairs are pushed apart along their difference until they are
       ``min_delta_e`` (CIEDE2000) apart; the lighter cluster moves more.
    6. Vividness: a centroid of different hues is greyer than its members, so each
       centre's chroma is raised to its members' mean chroma; given ``chroma_target``
       (the original pixels' mean chroma) the palette's usage-weighted chroma is raised
       to 1.04 x that target (at most x1.3), restoring what cell averaging removed.
    7. The result is rounded to sRGB, de-duplicated and sorted by ``L*`` (dark to light),
       then hue. Never more colours than requested, never duplicates; an image with at
       most ``n_colors`` distinct colours gets exactly those colours back.
"""
from __future__ import annotations

import logging

import numpy as np

from postprocess import _kernels as K
from postprocess.color import check_image, from_de_space, lab_to_srgb, srgb_to_lab, to_de_space
from postprocess.downsampling import map_to_palette, reduce_cells

logger = logging.getLogger(__name__)

__all__ = ["extract_palette", "auto_n_colors", "fit_palette", "MAX_AUTO_COLORS", "check_n_colors", "check_seed"]

#: Upper bound for the automatic palette size.
MAX_AUTO_COLORS = 24
#: Largest number of pixels sampled directly; larger images are first reduced to cells.
_MAX_SAMPLE_PIXELS = 16384
_HUE_BINS = 36
_GREY_CHROMA = 0.15
_FAMILY_MIN = 0.03
_L_STEP = 5.0
_MAX_RAMP = 6
_RESTARTS = 1
_DE00_STEPS = 1
_MEDIAN_STEPS = 2
_FINE_STEPS = 3
#: Above this many samples the fine stage runs on ``2^_FINE_BITS``-level RGB bins.
_FINE_MAX_SAMPLES = 16384
_FINE_BITS = 6
#: Share of the palette (rounded) added after k-means by :func:`_grow_minorities`.
_MINORITY_SHARE = 0.34
#: Least CIELAB chroma of a sample that can count as mis-coloured.
_MINORITY_CHROMA = 8.0
#: Usage-weighted palette chroma aimed for, relative to the original pixels.
_CHROMA_MARGIN = 1.04
#: A sample is mis-coloured when its centre's (a*, b*) is farther than this x (C + 5) away.
_WRONG_HUE = 0.5
#: Least weight (fraction of the samples) of a mis-coloured group that earns its own colour.
_MINORITY_MASS = 0.01
#: Axis weights (L*, a*, b*) of the minority grouping distance: hue and chroma count double.
_HUE_FIRST = np.array([0.5, 1.0, 1.0])
#: Radius (CIELAB, L* at half weight) of a group of mis-coloured samples.
_VISIBLE_DE = 10.0
#: Circular Gaussian (sigma = 1 bin) smoothing weights for offsets -3..3.
_HUE_KERNEL = np.exp(-0.5 * np.arange(-3, 4) ** 2) / np.exp(-0.5 * np.arange(-3, 4) ** 2).sum()


def check_n_colors(n_colors: int | None) -> int | None:
    """Validate a palette size: an int ``>= 1`` or None (automatic); returns int or None."""
    if n_colors is None:
        return None
    if isinstance(n_colors, bool) or not isinstance(n_colors, (int, np.integer)):
        raise TypeError(f"`n_colors` must be an int >= 1 or None (automatic), got {n_colors!r}")
    if n_colors < 1:
        raise ValueError(f"`n_colors` must be >= 1 (or None for automatic), got {n_colors}")
    return int(n_colors)


def check_seed(seed: int) -> int:
    """Validate a random seed (any int); returns it as int."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"`seed` must be an int, got {seed!r}")
    return int(seed)


def _unique_inverse(code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(code, return_inverse=True)`` for a 1-D int array, via a stable argsort
    (several times faster than numpy's default sort on packed colour codes; same result)."""
    perm = np.argsort(code, kind="stable")
    ordered = code[perm]
    first = np.empty(len(ordered), bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    inverse = np.empty(len(ordered), np.intp)
    inverse[perm] = np.cumsum(first) - 1
    return ordered[first], inverse


def unique_samples(rgb: np.ndarray, weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Distinct colours of ``rgb`` (uint8 ``(N, 3)``) with summed weights -> (uint8 ``(M, 3)``, float64 ``(M,)``).

    Colours are returned in ascending packed-RGB order; zero-weight colours are dropped.
    """
    code = (rgb[:, 0].astype(np.int32) << 16) | (rgb[:, 1].astype(np.int32) << 8) | rgb[:, 2].astype(np.int32)
    uniq, inverse = _unique_inverse(code)
    wsum = np.bincount(inverse, weights=None if weight is None else weight, minlength=len(uniq))
    keep = wsum > 0
    uniq = uniq[keep]
    cols = np.stack([(uniq >> 16) & 255, (uniq >> 8) & 255, uniq & 255], axis=1).astype(np.uint8)
    return cols, wsum[keep].astype(np.float64)


def auto_n_colors(colors: np.ndarray, weights: np.ndarray, lab: np.ndarray | None = None) -> int:
    """Palette size from the hue histogram and grey content (see module docstring).

    Args:
        colors: uint8 ``(N, 3)`` sample colours.
        weights: float ``(N,)`` sample weights (> 0).
        lab: optional precomputed CIELAB of ``colors``.

    Returns:
        int in ``[1, MAX_AUTO_COLORS]``, at most ``N``.
    """
    if not isinstance(colors, np.ndarray) or colors.dtype != np.uint8 or colors.ndim != 2 or colors.shape[1] != 3:
        raise TypeError(f"`colors` must be a uint8 array of shape (N, 3), got {getattr(colors, 'dtype', type(colors))} "
                        f"{getattr(colors, 'shape', '')}")
    if lab is None:
        lab = srgb_to_lab(colors)
    hue, chroma = K.hue_and_chroma_u8(np.ascontiguousarray(colors))
    k = K.hue_families_k(
        hue, chroma, np.ascontiguousarray(lab[:, 0], dtype=np.float64),
        np.ascontiguousarray(weights, dtype=np.float64), _HUE_KERNEL, _GREY_CHROMA, _FAMILY_MIN, _L_STEP, _MAX_RAMP,
    )
    return int(np.clip(k, 1, min(MAX_AUTO_COLORS, len(colors))))


def _draw(rng: np.random.Generator, p: np.ndarray) -> int:
    """Index drawn with float64 probabilities ``p`` ``(N,)`` (non-negative, summing to 1).

    Same draw and generator state as ``rng.choice(len(p), p=p)`` (inverse CDF of one
    ``rng.random()``), without its argument checks, which cost more than the draw.
    """
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    return int(cdf.searchsorted(rng.random(), side="right"))


def _grow_minorities(x: np.ndarray, w: np.ndarray, c: np.ndarray, n_add: int, rng: np.random.Generator) -> np.ndarray:
    """Add ``n_add`` centres where minority colours (skin, small saturated objects) are drawn wrong.

    ``x``/``c`` are CIELAB. A sample with chroma ``C >= _MINORITY_CHROMA``
    is *mis-coloured* when its nearest centre's (a*, b*) is farther than ``_WRONG_HUE * (C + 5)``
    from its own (skin drawn grey, a red drawn brown); its score is the weighted excess.
    Each step groups the mis-coloured samples within :data:`_VISIBLE_DE` (CIELAB with ``L*`` at
    half weight, :data:`_HUE_FIRST`) of the 16 worst ones, takes the best-scoring group and,
    when it holds at least :data:`_MINORITY_MASS` of the weight, adds its weighted mean as a
    centre; otherwise the centre is drawn as in k-means++ (probability ~ weighted squared
    error). Two Lloyd steps follow each addition.
    """
    lab = np.ascontiguousarray(x * _HUE_FIRST)
    a, dmin = K.nearest(x, c)
    for _ in range(n_add):
        cand, mass = K.minority_group(x, lab, w, c, a, _MINORITY_CHROMA, _WRONG_HUE, _VISIBLE_DE, 16)
        if mass >= _MINORITY_MASS:
            logger.debug("palette: minority colour %s (%.1f %% of the weight)", cand, 100 * mass)
        else:
            p = w * dmin
            cand = x[_draw(rng, p / p.sum())] if p.sum() > 0 else x[int(np.argmax(w))]
        c, a, dmin = K.lloyd(x, w, np.vstack([c, cand[None, :]]), 2)
    return c


def _pairwise_lab(c: np.ndarray) -> np.ndarray:
    d = np.sqrt(((c[:, None, :] - c[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    return d


def _separate(lab: np.ndarray, w: np.ndarray, c: np.ndarray, min_delta_e: float) -> np.ndarray:
    """Merge the closest centre pair while it is closer than ``min_delta_e`` (CIELAB distance, a
    cheap stand-in for CIEDE2000 here; :func:`_repel` enforces CIEDE2000 at the end); re-seed the
    freed slot at the worst-represented sample, preferring one distinct from every centre."""
    for _ in range(len(c)):
        if len(c) < 2:
            break
        d = _pairwise_lab(c)
        i, j = np.unravel_index(np.argmin(d), d.shape)
        if d[i, j] >= min_delta_e:
            break
        assign, _ = K.nearest(lab, c)
        wi, wj = w[assign == i].sum(), w[assign == j].sum()
        merged = (c[i] * wi + c[j] * wj) / max(wi + wj, 1e-12)
        c = np.delete(c, j, axis=0)
        c[i if i < j else i - 1] = merged
        _, dmin = K.nearest(lab, c)
        err = w * dmin
        top = np.argsort(-err, kind="stable")[:8] if len(err) <= 8 else np.argpartition(-err, 7)[:8]
        top = top[np.argsort(-err[top], kind="stable")]
        top = top[err[top] > 0]
        if len(top):
            ok = dmin[top] >= min_delta_e * min_delta_e
            c = np.vstack([c, lab[top[int(np.argmax(ok)) if ok.any() else 0]][None, :]])
    return c


def _repel(c: np.ndarray, wc: np.ndarray, min_delta_e: float, passes: int = 8) -> np.ndarray:
    """Push centre pairs closer than ``min_delta_e`` (CIEDE2000) apart along their difference;
    the lighter cluster (weight ``wc``) moves more. Keeps the palette size."""
    if len(c) < 2 or min_delta_e <= 0:
        return c.copy()
    return K.repel(np.ascontiguousarray(c, dtype=np.float64), np.maximum(wc, 1e-9), float(min_delta_e), int(passes))


def _compress(colors: np.ndarray, weights: np.ndarray, bits: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Merge samples falling in the same ``2^bits``-level RGB bin: (float64 weighted-mean colours, weights)."""
    if bits <= 6:
        return K.bin_means(np.ascontiguousarray(colors), np.ascontiguousarray(weights, dtype=np.float64), bits)
    q = colors.astype(np.int32) >> (8 - bits)
    code = (q[:, 0] << (2 * bits)) | (q[:, 1] << bits) | q[:, 2]
    _, inv = _unique_inverse(code)
    m = int(inv.max()) + 1
    ws = np.bincount(inv, weights=weights, minlength=m)
    mean = np.empty((m, 3))
    for j in range(3):
        mean[:, j] = np.bincount(inv, weights=weights * colors[:, j], minlength=m)
    return mean / ws[:, None], ws


def fit_palette(
    colors: np.ndarray,
    weights: np.ndarray,
    n_colors: int | None = None,
    *,
    seed: int = 0,
    min_delta_e: float = 8.0,
    vivid: bool = True,
    chroma_target: float | None = None,
    lab: np.ndarray | None = None,
) -> np.ndarray:
    """Fit a palette to weighted sample colours (the core of :func:`extract_palette`).

    Args:
        colors: uint8 ``(N, 3)`` sample colours (repeats allowed; :func:`unique_samples`
            merges them when that is cheaper).
        weights: float ``(N,)`` non-negative weights, not all zero.
        n_colors: palette size (upper bound) or None for automatic.
        seed: seed of the k-means++ initialisation.
        min_delta_e: minimum CIEDE2000 between palette colours the fit aims for.
        vivid: restore member chroma on each centre.
        chroma_target: with ``vivid``, the mean C*ab of the original pixels; the palette's
            usage-weighted chroma is raised to it (at most x1.3), which gives back the
            chroma lost by averaging pixels into cells.
        lab: optional float ``(N, 3)`` CIELAB of the samples, used instead of the Lab of
            ``colors`` (e.g. the unrounded colours of cells).

    Returns:
        uint8 ``(K, 3)``, ``1 <= K <= n_colors``, distinct, sorted by ``L*`` then hue.
    """
    if len(colors) == 0:
        raise ValueError("the image has no opaque pixels to fit a palette to; give a `palette` instead")
    weights = np.asarray(weights, np.float64)
    full_lab = srgb_to_lab(colors) if lab is None else np.ascontiguousarray(lab, dtype=np.float64)
    if n_colors is None:
        n_colors = auto_n_colors(colors, weights, full_lab)
    # Coarse 16-level RGB bins: more bins than n_colors means more distinct colours than that.
    coarse_rgb, coarse_w = _compress(colors, weights, bits=4)
    if len(coarse_rgb) <= n_colors:
        distinct, _ = unique_samples(colors, weights)
        if len(distinct) <= n_colors:
            return _sort_palette(distinct)
    rng = np.random.default_rng(seed)
    k = n_colors
    if len(colors) > _FINE_MAX_SAMPLES:
        # Fine stage on 6-bit RGB bins (weighted means): bounded work for very large grids.
        fine_rgb, fine_w = _compress(colors, weights, bits=_FINE_BITS)
        full_lab = srgb_to_lab(fine_rgb)
    else:
        fine_w = weights
    full_w = fine_w / fine_w.sum()
    full_u = to_de_space(full_lab)
    # Coarse stage on 16-level RGB bins (weighted means): cheap enough for restarts.
    # The coarse stage decides which colours exist: in plain CIELAB, where saturated minority
    # colours stand out; the fine stage positions them in the CIEDE2000-like space.
    if len(coarse_rgb) < len(full_lab):
        u = srgb_to_lab(coarse_rgb)
        w = coarse_w / coarse_w.sum()
    else:
        u, w = full_lab, full_w
    n_add = min(k - 1, int(round(k * _MINORITY_SHARE)))
    best_c, best_sse = None, np.inf
    for _ in range(_RESTARTS):
        c0 = K.kmeanspp(u, w, rng.random(k - n_add))
        c0, _, d0 = K.lloyd(u, w, c0, 10)
        sse = float((w * d0).sum())
        if sse < best_sse - 1e-12:
            best_c, best_sse = c0, sse
    c = _separate(u, w, best_c, min_delta_e)
    if n_add:
        c = _grow_minorities(u, w, c, n_add, rng)
    # Fine stage on the exact sample colours; the last update assigns by CIEDE2000 like the mapping does.
    c, assign, _ = K.lloyd(full_u, full_w, to_de_space(c), _FINE_STEPS)
    for _ in range(_MEDIAN_STEPS):
        c, assign = K.weiszfeld(full_u, full_w, c)
    c = from_de_space(c)
    for _ in range(_DE00_STEPS):
        assign = map_to_palette(full_lab, c, full_u)
        c = from_de_space(K.centroids(full_u, full_w, assign, to_de_space(c)))
    c = _repel(c, np.bincount(assign, weights=full_w, minlength=len(c)), min_delta_e)
    lab, w = full_lab, full_w
    if vivid:
        c = _restore_chroma(lab, w, c, assign, chroma_target)
    return _sort_palette(_unique_rows(lab_to_srgb(c)))


def _unique_rows(pal: np.ndarray) -> np.ndarray:
    """Distinct rows of uint8 ``(K, 3)`` (via packed 24-bit codes; cheaper than ``np.unique(axis=0)``)."""
    code = (pal[:, 0].astype(np.int32) << 16) | (pal[:, 1].astype(np.int32) << 8) | pal[:, 2].astype(np.int32)
    u = np.unique(code)
    return np.stack([(u >> 16) & 255, (u >> 8) & 255, u & 255], axis=1).astype(np.uint8)


def _restore_chroma(
    lab: np.ndarray, w: np.ndarray, c: np.ndarray, assign: np.ndarray, target: float | None = None
) -> np.ndarray:
    """Raise each centre's chroma to its members' mean chroma, then (optionally) all of them
    so that the usage-weighted chroma reaches ``target``; hue and L* are kept."""
    return K.restore_chroma(
        np.ascontiguousarray(lab, dtype=np.float64), np.ascontiguousarray(w, dtype=np.float64),
        np.ascontiguousarray(c, dtype=np.float64), np.ascontiguousarray(assign, dtype=np.int64),
        0.0 if target is None else float(target), _CHROMA_MARGIN,
    )


def _sort_palette(pal: np.ndarray) -> np.ndarray:
    """Sort uint8 ``(K, 3)`` by L* (dark to light), then hue angle, then RGB (stable, total order)."""
    lab = srgb_to_lab(pal)
    hue = np.degrees(np.arctan2(lab[:, 2], lab[:, 1])) % 360.0
    order = np.lexsort((pal[:, 2], pal[:, 1], pal[:, 0], np.round(hue, 6), np.round(lab[:, 0], 6)))
    return np.ascontiguousarray(pal[order])


def extract_palette(
    image: np.ndarray,
    n_colors: int | None = None,
    *,
    seed: int = 0,
    min_delta_e: float = 8.0,
    vivid: bool = True,
) -> np.ndarray:
    """PaletteGen: a palette of at most ``n_colors`` distinct colours for ``image``.

    Args:
        image: uint8 ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA (alpha weights the pixels;
            fully transparent pixels are ignored).
        n_colors: requested size (an upper bound: fewer are returned when the image has
            fewer distinct colours or colours closer than ``min_delta_e`` merge), or
            ``None`` to choose it from the hue histogram and grey content.
        seed: k-means++ seed; the same input and seed give the same palette.
        min_delta_e: CIEDE2000 separation the fit aims for between palette colours.
        vivid: keep palette chroma at the image's level (see module docstring).

    Returns:
        uint8 ``(K, 3)`` with ``1 <= K``, no duplicates, sorted dark to light.
    """
    check_image(image)
    n_colors = check_n_colors(n_colors)
    seed = check_seed(seed)
    rgb = image[..., :3]
    weight = image[..., 3].astype(np.float32) / 255.0 if image.shape[2] == 4 else None
    npix = image.shape[0] * image.shape[1]
    if npix > _MAX_SAMPLE_PIXELS:
        factor = int(np.ceil(np.sqrt(npix / _MAX_SAMPLE_PIXELS)))
        factor = min(factor, image.shape[0], image.shape[1])
        grid = reduce_cells(np.ascontiguousarray(rgb), factor, weight=weight)
        samples = np.clip(np.rint(grid.colors), 0, 255).astype(np.uint8).reshape(-1, 3)
        sw = grid.coverage.reshape(-1).astype(np.float64)
    else:
        samples = rgb.reshape(-1, 3)
        sw = None if weight is None else weight.reshape(-1).astype(np.float64)
    colors, weights = unique_samples(samples, sw)
    return fit_palette(colors, weights, n_colors, seed=seed, min_delta_e=min_delta_e, vivid=vivid)
