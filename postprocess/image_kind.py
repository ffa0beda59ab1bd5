"""What kind of picture is this: a photo, a drawing, a smooth render of pixel art, or pixel art?

``pixelize.py --pretrained auto`` sends each input to the stage that helps it:

* ``photo``: quantisation alone (the cartoon generator makes photos worse);
* ``drawing``: a cartoon or clip art -- flat colours, usually on a flat (often white) background;
* ``render``: a smooth, blurred or bicubic-upscaled rendering of pixel art, maybe JPEG'd;
* ``pixel_art``: crisp pixel art, native or nearest-neighbour upscaled by an integer cell, maybe a sheet.

:func:`image_features` measures a few cheap, interpretable properties of the picture and
:func:`classify` weighs them with a small multinomial logistic regression (on the standardised
features and their squares, :class:`KindModel`) whose parameters live in ``image_kind_model.json``
next to this module, read once when first needed (fitted by ``benchmarks/bench_router.py --fit``,
which also measures its accuracy on pictures from sources held out of the fit).

The features (all floats, see :data:`FEATURE_NAMES`):

* ``background``: share of the picture covered by the flat background connected to its border
  (every channel within :data:`BG_TOL` of the border's most common colour);
* ``background_exact``: the same within :data:`BG_EXACT_TOL` -- a drawn background is flat to the
  level, a photographed one (a studio backdrop, the night sky) is noisy;
* ``equal_pairs``: share of exactly equal 4-neighbour pairs in the foreground;
* ``colour_ratio``: ``log(distinct colours) / log(foreground pixels)`` (scale-free colour count);
* ``coarse_entropy``: entropy in bits of the foreground colours on a 16-level-per-channel grid;
* ``sharpness``: how much of an edge's change happens in its single strongest step (1 for a clean
  step, 1/3 for a three-pixel ramp), weighted by the step;
* ``grid``: how strongly the colour changes line up on one integer period (2..16 px) in x and y;
* ``period_peak``: log peak-to-median of the gradient profile's spectrum at periods 2.5..24 px,
  the signature of a (possibly blurred, non-integer) upscale;
* ``fine_texture``: finest-scale detail against the next scale (noise, grain, texture);
* ``axis_aligned``: share of the (squared) gradient energy whose direction is within 11 degrees of
  horizontal or vertical -- pixel art, even blurred, is made of axis-aligned steps (0.25 when the
  directions are uniform);
* ``high_freq``: log of the luma's spectral energy above 1/4 cycle per pixel over the energy between
  1/50 and 1/4 -- an upscale has next to none (grain, texture and noise have some).

Pixel-level evidence (equal neighbours, changes at an integer period, edge steps, fine texture) is
measured at full resolution on a crop of at most :data:`CROP` pixels a side, placed where the
foreground is densest; the background is measured on a copy whose long side is at most
:data:`WORK_SIDE` pixels.
"""
from __future__ import annotations

import json
import logging
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

logger = logging.getLogger(__name__)

__all__ = [
    "KINDS",
    "FEATURE_NAMES",
    "MODEL_PATH",
    "KindResult",
    "KindModel",
    "image_features",
    "classify",
    "load_model",
    "as_rgb",
]

#: The classes, in the order of the model's rows.
KINDS: tuple[str, ...] = ("photo", "drawing", "render", "pixel_art")
#: The features the model may use, in the order of its columns.
FEATURE_NAMES: tuple[str, ...] = (
    "background",
    "background_exact",
    "equal_pairs",
    "colour_ratio",
    "coarse_entropy",
    "sharpness",
    "grid",
    "period_peak",
    "fine_texture",
    "axis_aligned",
    "high_freq",
)
#: The fitted model shipped with the package.
MODEL_PATH = Path(__file__).with_name("image_kind_model.json")

#: Long side of the working copy used for the background.
WORK_SIDE = 512
#: Side of the full-resolution crop used for the pixel-level evidence.
CROP = 320
#: A pixel belongs to the background when each channel is within this of the background colour.
BG_TOL = 10
#: ... and within this for ``background_exact``.
BG_EXACT_TOL = 2
#: A change between neighbours counts for the grid when its channels differ by more than this in sum.
CHANGE_MIN = 24
#: Smallest step (one channel) that counts as an edge for the sharpness.
EDGE_MIN = 32
#: Share of the lines a grid line must cross with a change for the grid to count fully.
GRID_COVERAGE = 0.1
#: Edge weight (sum of steps) that counts as much as the neutral prior in the sharpness.
SHARP_PRIOR_WEIGHT = 500.0
#: The sharpness of a picture without edges.
SHARP_PRIOR = 0.6
#: tan(11.25 degrees): a gradient this close to an axis counts as axis-aligned.
AXIS_TAN = 0.2
#: Periods tried for the integer grid.
GRID_PERIODS = range(2, 17)


# --------------------------------------------------------------------------- input
def as_rgb(image: np.ndarray) -> np.ndarray:
    """Any picture array -> uint8 ``(H, W, 3)``.

    Grey ``(H, W)`` or ``(H, W, 1)`` is repeated, grey + alpha and RGBA are composited on white,
    floats are read as ``[0, 1]`` when their maximum is at most 1 (else ``[0, 255]``), bools as 0/255,
    uint16 as 16-bit levels; other integers are clipped to ``[0, 255]``.
    """
    arr = np.asarray(image)
    if arr.ndim not in (2, 3) or arr.size == 0 or (arr.ndim == 3 and arr.shape[2] not in (1, 2, 3, 4)):
        raise ValueError(f"`image` must be (H, W), (H, W, 1|2|3|4) and non-empty, got shape {arr.shape}")
    if arr.dtype == bool:
        arr = arr.astype(np.float32)
    if np.issubdtype(arr.dtype, np.floating):
        a = np.nan_to_num(arr.astype(np.float32))
        if a.max(initial=0.0) <= 1.0:
            a = a * 255.0
        arr = np.clip(np.rint(a), 0, 255).astype(np.uint8)
    elif arr.dtype == np.uint16:
        arr = (arr >> 8).astype(np.uint8)
    elif arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    channels = arr.shape[2]
    if channels in (2, 4):
        alpha = arr[:, :, -1:].astype(np.float32) / 255.0
        colour = arr[:, :, :-1].astype(np.float32)
        arr = np.rint(colour * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
        channels -= 1
    if channels == 1:
        arr = np.repeat(arr, 3, axis=2)
    return np.ascontiguousarray(arr)


# --------------------------------------------------------------------------- helpers
def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def _border(rgb: np.ndarray) -> np.ndarray:
    return np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])


def _background_colour(rgb: np.ndarray) -> np.ndarray:
    """The most common colour of the border (mode on an 8-level grid, then the median inside it)."""
    border = _border(rgb).astype(np.int32)
    codes = (border[:, 0] >> 3) << 10 | (border[:, 1] >> 3) << 5 | (border[:, 2] >> 3)
    values, counts = np.unique(codes, return_counts=True)
    inside = border[codes == values[np.argmax(counts)]]
    return np.median(inside, axis=0)


def _near(rgb: np.ndarray, colour: np.ndarray, tol: int) -> np.ndarray:
    """bool mask: every channel within ``tol`` of ``colour``."""
    c = np.rint(colour).astype(int)
    lo = tuple(int(v) for v in np.clip(c - tol, 0, 255))
    hi = tuple(int(v) for v in np.clip(c + tol, 0, 255))
    return cv2.inRange(rgb, lo, hi) > 0


def _absdiff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``|a - b|`` of two uint8 arrays (OpenCV returns nothing for empty ones)."""
    return cv2.absdiff(a, b) if a.size else np.zeros(a.shape, np.uint8)


def _channel_sum(d: np.ndarray) -> np.ndarray:
    """uint8 ``(H, W, 3)`` -> int16 ``(H, W)``: the sum over channels."""
    out = d[..., 0].astype(np.int16)
    out += d[..., 1]
    out += d[..., 2]
    return out


def _border_connected(mask: np.ndarray) -> np.ndarray:
    n, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros(mask.shape, bool)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    keep = np.zeros(n, bool)
    keep[edge[edge > 0]] = True
    return keep[labels]


def _densest_window(fg: np.ndarray, win_h: int, win_w: int) -> tuple[int, int]:
    """Top-left corner of the ``win_h x win_w`` window of ``fg`` holding the most foreground."""
    h, w = fg.shape
    if win_h >= h and win_w >= w:
        return 0, 0
    integral = cv2.integral(fg.astype(np.uint8))
    ys = np.unique(np.linspace(0, h - win_h, 9).round().astype(int))
    xs = np.unique(np.linspace(0, w - win_w, 9).round().astype(int))
    y0, x0 = np.meshgrid(ys, xs, indexing="ij")
    sums = integral[y0 + win_h, x0 + win_w] - integral[y0, x0 + win_w] - integral[y0 + win_h, x0] + integral[y0, x0]
    i = int(np.argmax(sums))
    return int(y0.flat[i]), int(x0.flat[i])


def _sharpness(rgb: np.ndarray, axis: int) -> tuple[float, float]:
    """Sum of step-weighted sharpness and of weights along ``axis`` (see the module docstring)."""
    d = np.diff(rgb.astype(np.int16), axis=axis)
    if d.shape[axis] < 3:
        return 0.0, 0.0
    take = (lambda a, s: a[:, s]) if axis == 1 else (lambda a, s: a[s])
    s0, s1, s2 = take(d, slice(None, -2)), take(d, slice(1, -1)), take(d, slice(2, None))
    m1 = np.abs(s1)
    sign = np.sign(s1)
    keep = (m1 >= EDGE_MIN) & (m1 >= np.abs(s0)) & (m1 > np.abs(s2))
    if not keep.any():
        return 0.0, 0.0
    m = m1[keep].astype(np.float32)
    cont = np.maximum(0, (s0 * sign)[keep]) + np.maximum(0, (s2 * sign)[keep])
    return float((m * m / (m + cont)).sum()), float(m.sum())


def _grid_score(profile: np.ndarray, lines: int) -> tuple[float, int]:
    """How much of ``profile`` (changes per position, out of ``lines``) falls on one residue of the best period.

    The concentration ``(share - 1/p) / (1 - 1/p)`` is scaled down when the grid lines of the best
    residue carry a change in fewer than :data:`GRID_COVERAGE` of the lines on average (the few strong
    steps of JPEG blocks in a smooth photo line up on 8 px, too, but they are sparse).
    """
    total = float(profile.sum())
    n = profile.size
    if total < 8 or n < 8 or lines < 1:
        return 0.0, 1
    best, cell = 0.0, 1
    scores = []
    for p in GRID_PERIODS:
        if 3 * p > n:
            break
        folded = np.bincount(np.arange(n) % p, weights=profile, minlength=p)
        top = float(folded.max())
        concentration = (top / total - 1.0 / p) / (1.0 - 1.0 / p)
        coverage = top / (math.ceil(n / p) * lines)
        scores.append((concentration * min(1.0, coverage / GRID_COVERAGE), p))
    if scores:
        best = max(sc for sc, _ in scores)
        cell = max(p for sc, p in scores if sc >= 0.95 * best)
    return max(0.0, best), cell


def _period_peak(profile: np.ndarray) -> float:
    """log(peak / median) of the detrended profile's power at periods 2.5..24."""
    n = profile.size
    if n < 24:
        return 0.0
    x = profile.astype(np.float64)
    k = 31 if n > 62 else (n // 2) | 1
    trend = np.convolve(np.pad(x, k // 2, mode="edge"), np.ones(k) / k, mode="valid")
    x = (x - trend) * np.hanning(n)
    power = np.abs(np.fft.rfft(x)) ** 2
    freq = np.fft.rfftfreq(n)
    band = (freq >= 1 / 24) & (freq <= 1 / 2.5)
    if band.sum() < 4:
        return 0.0
    p = power[band]
    med = float(np.median(p))
    if med <= 0:
        return 0.0 if p.max() <= 0 else 5.0
    return float(np.log(p.max() / med))


def _high_freq(lum: np.ndarray) -> float:
    """log(energy above 1/4 cycle/px / energy in 1/50..1/4) of a luma image's spectrum."""
    power = np.abs(np.fft.rfft2(lum - lum.mean())) ** 2
    fy = np.fft.fftfreq(lum.shape[0])[:, None]
    fx = np.fft.rfftfreq(lum.shape[1])[None, :]
    radius = np.sqrt(fx * fx + fy * fy)
    high = float(power[radius > 0.25].sum())
    mid = float(power[(radius > 0.02) & (radius <= 0.25)].sum())
    return math.log((high + 1e-3) / (mid + 1e-3))


# --------------------------------------------------------------------------- features
def image_features(rgb: np.ndarray) -> dict[str, float]:
    """Measure the features of :data:`FEATURE_NAMES` (and ``cell``, the grid period found) on a picture.

    Args:
        rgb: the picture, uint8 ``(H, W, 3)``; anything :func:`as_rgb` takes is converted first.

    Returns:
        ``{name: value}`` for every name of :data:`FEATURE_NAMES`, plus ``cell`` (the integer period of
        the colour changes, 1 when none; meaningful when ``grid`` is high) and ``colours`` (distinct
        colours in the crop's foreground).
    """
    rgb = as_rgb(rgb)
    h, w = rgb.shape[:2]

    # Background on a working copy (area downscale keeps flat areas flat).
    scale = min(1.0, WORK_SIDE / max(h, w))
    work = rgb if scale == 1.0 else cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                                               interpolation=cv2.INTER_AREA)
    bg_colour = _background_colour(work)
    near_bg = _near(work, bg_colour, BG_TOL)
    bg_work = _border_connected(near_bg)
    background = float(bg_work.mean())
    background_exact = float(_border_connected(near_bg & _near(work, bg_colour, BG_EXACT_TOL)).mean())

    # Full-resolution crop where the foreground is densest.
    ch, cw = min(h, CROP), min(w, CROP)
    wy, wx = _densest_window(~bg_work, max(1, round(ch * scale)), max(1, round(cw * scale)))
    y0, x0 = min(h - ch, round(wy / scale)), min(w - cw, round(wx / scale))
    crop = rgb[y0:y0 + ch, x0:x0 + cw]
    bg = _near(crop, bg_colour, BG_TOL)
    if bg.all():
        bg = np.zeros_like(bg)
    fg = ~bg

    dx = _channel_sum(_absdiff(crop[:, 1:], crop[:, :-1]))
    dy = _channel_sum(_absdiff(crop[1:], crop[:-1]))
    pair_x = fg[:, 1:] | fg[:, :-1]
    pair_y = fg[1:] | fg[:-1]
    n_pairs = int(pair_x.sum() + pair_y.sum())
    equal = int(((dx == 0) & pair_x).sum() + ((dy == 0) & pair_y).sum())
    equal_pairs = equal / n_pairs if n_pairs else 1.0

    px = crop[fg]
    codes = (px[:, 0].astype(np.int32) << 16) | (px[:, 1].astype(np.int32) << 8) | px[:, 2]
    codes.sort()
    colours = int(np.count_nonzero(np.diff(codes))) + 1 if codes.size else 1
    n_fg = max(1, px.shape[0])
    colour_ratio = math.log(colours) / math.log(n_fg) if n_fg > 1 else 0.0
    coarse = (px[:, 0] >> 4).astype(np.int32) << 8 | (px[:, 1] >> 4).astype(np.int32) << 4 | (px[:, 2] >> 4)
    hist = np.bincount(coarse, minlength=4096).astype(np.float64)
    prob = hist[hist > 0] / max(1.0, hist.sum())
    coarse_entropy = float(-(prob * np.log2(prob)).sum())

    sx, wx_ = _sharpness(crop, 1)
    sy, wy_ = _sharpness(crop, 0)
    sharpness = (sx + sy + SHARP_PRIOR * SHARP_PRIOR_WEIGHT) / (wx_ + wy_ + SHARP_PRIOR_WEIGHT)

    col_profile = (dx > CHANGE_MIN).sum(axis=0).astype(np.float64)
    row_profile = (dy > CHANGE_MIN).sum(axis=1).astype(np.float64)
    gx, cell_x = _grid_score(col_profile, int(fg.any(axis=1).sum()))
    gy, cell_y = _grid_score(row_profile, int(fg.any(axis=0).sum()))
    grid = (gx + gy) / 2.0
    cell = cell_x if gx >= gy else cell_y
    period_peak = (_period_peak(dx.sum(axis=0)) + _period_peak(dy.sum(axis=1))) / 2.0

    lum = _luma(crop)
    if min(ch, cw) >= 8:
        g1 = cv2.GaussianBlur(lum, (0, 0), 1.0)
        g3 = cv2.GaussianBlur(lum, (0, 0), 3.0)
        fine = float(np.abs(lum - g1)[fg].mean())
        coarse_band = float(np.abs(g1 - g3)[fg].mean())
        fine_texture = math.log((fine + 0.05) / (coarse_band + 0.05))
        ax = np.abs(cv2.Sobel(g1, cv2.CV_32F, 1, 0))
        ay = np.abs(cv2.Sobel(g1, cv2.CV_32F, 0, 1))
        energy = (ax * ax + ay * ay) * fg
        aligned = np.minimum(ax, ay) <= AXIS_TAN * np.maximum(ax, ay)
        total = float(energy.sum())
        axis_aligned = float(energy[aligned].sum()) / total if total > 0 else 0.25
        high_freq = _high_freq(lum)
    else:  # too small to filter: middling values
        fine_texture, axis_aligned, high_freq = -0.6, 0.25, -3.5

    return {
        "background": background,
        "background_exact": background_exact,
        "equal_pairs": float(equal_pairs),
        "colour_ratio": float(colour_ratio),
        "coarse_entropy": coarse_entropy,
        "sharpness": float(sharpness),
        "grid": float(grid),
        "period_peak": float(period_peak),
        "fine_texture": float(fine_texture),
        "axis_aligned": axis_aligned,
        "high_freq": high_freq,
        "cell": float(cell),
        "colours": float(colours),
    }


# --------------------------------------------------------------------------- the model
#: Standardised features are clipped to this many standard deviations (a far-out value must not
#: swamp the others, least of all through its square).
Z_CLIP = 5.0


def _term_feature(term: str) -> str:
    return term[:-2] if term.endswith("^2") else term


@dataclass(frozen=True, eq=False)
class KindModel:
    """Multinomial logistic regression on standardised features and their squares.

    ``z = clip((x - mean) / scale, -Z_CLIP, Z_CLIP)`` per feature; each term is a feature's ``z``
    (``"sharpness"``) or its square (``"sharpness^2"``); ``p = softmax(weights @ terms + bias)``.

    Attributes:
        kinds: the classes, one per row of ``weights``.
        features: the feature names that ``mean`` and ``scale`` describe.
        mean: per-feature mean of the training set.
        scale: per-feature standard deviation of the training set.
        terms: the terms, one per column of ``weights``.
        weights: ``(len(kinds), len(terms))``.
        bias: ``(len(kinds),)``.
        meta: free-form facts about the fit (written to and read from the JSON file).
    """

    kinds: tuple[str, ...]
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    terms: tuple[str, ...]
    weights: np.ndarray
    bias: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", tuple(self.kinds))
        object.__setattr__(self, "features", tuple(self.features))
        object.__setattr__(self, "terms", tuple(self.terms))
        k, d, t = len(self.kinds), len(self.features), len(self.terms)
        for name, shape in {"mean": (d,), "scale": (d,), "weights": (k, t), "bias": (k,)}.items():
            value = np.asarray(getattr(self, name), np.float64)
            if value.shape != shape:
                raise ValueError(f"model `{name}` must have shape {shape}, got {value.shape}")
            object.__setattr__(self, name, value)
        if (self.scale <= 0).any():
            raise ValueError("model `scale` must be positive")
        unknown = set(self.features) - set(FEATURE_NAMES)
        if unknown:
            raise ValueError(f"model uses unknown features {sorted(unknown)}")
        stray = {term for term in self.terms if _term_feature(term) not in self.features}
        if stray:
            raise ValueError(f"model terms {sorted(stray)} name no feature of the model")
        index = [self.features.index(_term_feature(term)) for term in self.terms]
        object.__setattr__(self, "_index", np.array(index, int))
        object.__setattr__(self, "_square", np.array([term.endswith("^2") for term in self.terms]))

    def standardise(self, x: np.ndarray) -> np.ndarray:
        """Features ``(..., len(features))`` -> clipped z-scores."""
        return np.clip((np.asarray(x, np.float64) - self.mean) / self.scale, -Z_CLIP, Z_CLIP)

    def design(self, x: np.ndarray) -> np.ndarray:
        """Features ``(..., len(features))`` -> term values ``(..., len(terms))``."""
        z = self.standardise(x)[..., self._index]
        return np.where(self._square, z * z, z)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities ``(..., len(kinds))`` for feature rows ``(..., len(features))``."""
        logits = self.design(x) @ self.weights.T + self.bias
        logits -= logits.max(axis=-1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=-1, keepdims=True)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Index of the most probable kind for each feature row."""
        return np.argmax(self.probabilities(x), axis=-1)

    def contributions(self, x: np.ndarray, kind: int, other: int) -> np.ndarray:
        """Per feature: how much it adds to the logit of ``kind`` over that of ``other`` (one row ``x``)."""
        push = (self.weights[kind] - self.weights[other]) * self.design(x)
        return np.bincount(self._index, weights=push, minlength=len(self.features))

    def row(self, features: dict[str, float]) -> np.ndarray:
        """The model's feature vector from an :func:`image_features` dict."""
        return np.array([features[name] for name in self.features], np.float64)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (numbers rounded to 6 significant digits)."""
        def r(a: np.ndarray) -> list:
            return [float(f"{v:.6g}") for v in np.ravel(a)]

        return {
            "format": "postprocess.image_kind/1",
            "kinds": list(self.kinds),
            "features": list(self.features),
            "mean": dict(zip(self.features, r(self.mean), strict=True)),
            "scale": dict(zip(self.features, r(self.scale), strict=True)),
            "terms": list(self.terms),
            "weights": {kind: dict(zip(self.terms, r(w), strict=True))
                        for kind, w in zip(self.kinds, self.weights, strict=True)},
            "bias": dict(zip(self.kinds, r(self.bias), strict=True)),
            "meta": self.meta,
        }

    def to_json(self) -> str:
        """The model as indented JSON text."""
        return json.dumps(self.to_dict(), indent=1) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KindModel:
        """Inverse of :meth:`to_dict`."""
        if data.get("format") != "postprocess.image_kind/1":
            raise ValueError(f"not an image-kind model (format {data.get('format')!r})")
        kinds, feats, terms = tuple(data["kinds"]), tuple(data["features"]), tuple(data["terms"])
        return cls(kinds=kinds, features=feats, mean=[data["mean"][f] for f in feats],
                   scale=[data["scale"][f] for f in feats], terms=terms,
                   weights=[[data["weights"][k][t] for t in terms] for k in kinds],
                   bias=[data["bias"][k] for k in kinds], meta=dict(data.get("meta", {})))


_MODEL: KindModel | None = None
_MODEL_LOCK = threading.Lock()


def load_model(path: str | Path | None = None) -> KindModel:
    """The model in ``path``; without a path, the shipped model, read once and cached."""
    global _MODEL
    if path is not None:
        return KindModel.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    with _MODEL_LOCK:
        if _MODEL is None:
            _MODEL = KindModel.from_dict(json.loads(MODEL_PATH.read_text(encoding="utf-8")))
            if tuple(_MODEL.kinds) != KINDS:
                raise ValueError(f"{MODEL_PATH} holds kinds {_MODEL.kinds}, expected {KINDS}")
            logger.debug("image-kind model loaded from %s", MODEL_PATH)
        return _MODEL


# --------------------------------------------------------------------------- classify
@dataclass(frozen=True)
class KindResult:
    """What :func:`classify` decided.

    Attributes:
        kind: one of :data:`KINDS`.
        confidence: the probability of ``kind``, in ``[0, 1]``.
        reason: a short sentence naming the evidence that decided, e.g.
            ``"drawing: flat background 62 %, 9 colours, anti-aliased edges (0.71)"``.
        scores: ``{kind: probability}`` over :data:`KINDS` (sums to 1).
        features: the measurements of :func:`image_features`.
    """

    kind: str
    confidence: float
    reason: str
    scores: dict[str, float]
    features: dict[str, float]


def _describe(name: str, f: dict[str, float], high: bool) -> str:
    """A feature's value in words; ``high``: above the training mean (the words say "little" otherwise)."""
    v = f[name]
    if name == "background":
        return f"flat background {100 * v:.0f} %" if high else f"little flat background ({100 * v:.0f} %)"
    if name == "background_exact":
        if high:
            return f"exactly flat background {100 * v:.0f} %"
        return f"little exactly flat background ({100 * v:.0f} %)" if v >= 0.01 else "no exactly flat background"
    if name == "equal_pairs":
        return f"{100 * v:.0f} % equal neighbours" if high else f"few equal neighbours ({100 * v:.0f} %)"
    if name == "colour_ratio":
        return f"{'many' if high else 'few'} colours ({int(f.get('colours', 0))})"
    if name == "coarse_entropy":
        return f"{'varied' if high else 'few'} colour families (entropy {v:.1f} bits)"
    if name == "sharpness":
        word = "sharp" if v >= 0.85 else "anti-aliased" if v >= 0.6 else "soft"
        return f"{word} edges ({v:.2f})"
    if name == "grid":
        if v >= 0.5:
            return f"changes on a {int(f.get('cell', 1))}-px grid ({100 * v:.0f} %)"
        return f"no integer grid ({100 * v:.0f} %)"
    if name == "period_peak":
        return f"{'periodic' if high else 'no periodic'} edge spacing (peak {v:.1f})"
    if name == "fine_texture":
        return f"{'fine texture' if high else 'little fine texture'} ({v:.2f})"
    if name == "axis_aligned":
        if high:
            return f"edges mostly horizontal or vertical ({100 * v:.0f} %)"
        return f"edges in all directions ({100 * v:.0f} % axis-aligned)"
    if name == "high_freq":
        return f"{'fine detail' if high else 'almost no fine detail'} ({v:.1f})"
    return f"{name} {v:.3g}"


def classify(rgb: np.ndarray, *, model: KindModel | None = None) -> KindResult:
    """Classify a picture as one of :data:`KINDS`.

    Args:
        rgb: the picture, uint8 ``(H, W, 3)``, or anything :func:`as_rgb` takes (grey, RGBA on white, floats).
        model: the model to use (default: the shipped one, :func:`load_model`).

    Returns:
        The :class:`KindResult`; its ``reason`` names the three features that pushed the decision
        most towards the winner and away from the runner-up.
    """
    model = load_model() if model is None else model
    feats = image_features(rgb)
    x = model.row(feats)
    p = model.probabilities(x)
    order = np.argsort(-p)
    win, second = int(order[0]), int(order[1])
    push = model.contributions(x, win, second)
    top = [model.features[i] for i in np.argsort(-push)[:3] if push[i] > 0] or [model.features[int(np.argmax(push))]]
    kind = model.kinds[win]
    high = dict(zip(model.features, model.standardise(x) > 0, strict=True))
    reason = f"{kind}: " + ", ".join(_describe(name, feats, bool(high[name])) for name in top)
    logger.debug("classified as %s (%.2f): %s", kind, p[win], reason)
    return KindResult(kind=kind, confidence=float(p[win]), reason=reason,
                      scores={k: float(v) for k, v in zip(model.kinds, p, strict=True)}, features=feats)
