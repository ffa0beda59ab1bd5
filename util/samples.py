"""Built-in sample images: four scikit-image photos and four cartoons drawn here, no download.

The cartoons are what the shipped cartoon -> pixel-art generator was trained for: a single object with
dark outlines and soft shading on white. They are drawn with OpenCV at 4x and area-downsampled, so
their edges are anti-aliased like real clip art, and they are identical on every machine.
"""
from __future__ import annotations

import cv2
import numpy as np

SAMPLE_PHOTOS: tuple[str, ...] = ("astronaut", "chelsea", "coffee", "rocket")
SAMPLE_CARTOONS: tuple[str, ...] = ("mushroom", "house", "face", "potion")
SAMPLES: tuple[str, ...] = SAMPLE_PHOTOS + SAMPLE_CARTOONS

_SIZE = 256
_SS = 4  # supersampling factor
_OUTLINE = (34, 24, 30)


def _canvas() -> np.ndarray:
    return np.full((_SIZE * _SS, _SIZE * _SS, 3), 255, dtype=np.uint8)


def _p(*xy: float) -> tuple[int, ...]:
    """Scale canvas coordinates (0..256) to the supersampled canvas."""
    return tuple(int(round(v * _SS)) for v in xy)


def _shade(img: np.ndarray, mask: np.ndarray, light: tuple[int, int, int], dark: tuple[int, int, int],
           direction: tuple[float, float] = (0.6, 0.8)) -> None:
    """Fill ``mask`` with a linear gradient from ``light`` (top-left) to ``dark`` (bottom-right)."""
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return
    t = xs * direction[0] + ys * direction[1]
    t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
    colour = (1 - t)[:, None] * np.array(light, np.float64) + t[:, None] * np.array(dark, np.float64)
    img[ys, xs] = np.clip(np.rint(colour), 0, 255).astype(np.uint8)


def _shape_mask(draw) -> np.ndarray:
    mask = np.zeros((_SIZE * _SS, _SIZE * _SS), dtype=np.uint8)
    draw(mask)
    return mask > 0


def _outline(img: np.ndarray, mask: np.ndarray, width: int = 3) -> None:
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(img, contours, -1, _OUTLINE, width * _SS, lineType=cv2.LINE_AA)


def _finish(img: np.ndarray) -> np.ndarray:
    return cv2.resize(img, (_SIZE, _SIZE), interpolation=cv2.INTER_AREA)


def mushroom() -> np.ndarray:
    """A red-capped mushroom with white spots."""
    img = _canvas()
    stem = _shape_mask(lambda m: cv2.ellipse(m, _p(128, 170), _p(30, 60), 0, 0, 360, 255, -1))
    stem &= np.arange(img.shape[0])[:, None] > _p(120)[0]
    _shade(img, stem, (250, 236, 210), (196, 170, 130))
    _outline(img, stem)
    cap = _shape_mask(lambda m: cv2.ellipse(m, _p(128, 128), _p(92, 78), 0, 180, 360, 255, -1))
    _shade(img, cap, (240, 70, 60), (150, 20, 30))
    for cx, cy, r in ((90, 90, 14), (140, 72, 12), (172, 110, 10), (118, 112, 9)):
        cv2.circle(img, _p(cx, cy), _p(r)[0], (252, 250, 244), -1, lineType=cv2.LINE_AA)
    _outline(img, cap)
    return _finish(img)


def house() -> np.ndarray:
    """A small house: brick walls, a roof, a door and two windows."""
    img = _canvas()
    walls = _shape_mask(lambda m: cv2.rectangle(m, _p(56, 118), _p(200, 216), 255, -1))
    _shade(img, walls, (236, 200, 150), (190, 140, 96))
    roof_pts = np.array([_p(40, 124), _p(128, 44), _p(216, 124)], np.int32)
    roof = _shape_mask(lambda m: cv2.fillPoly(m, [roof_pts], 255))
    _shade(img, roof, (80, 120, 200), (30, 50, 120))
    door = _shape_mask(lambda m: cv2.rectangle(m, _p(112, 160), _p(144, 216), 255, -1))
    _shade(img, door, (150, 90, 50), (90, 50, 24))
    for x in (72, 162):
        window = _shape_mask(lambda m, x=x: cv2.rectangle(m, _p(x, 140), _p(x + 24, 164), 255, -1))
        _shade(img, window, (220, 240, 255), (120, 180, 230))
        _outline(img, window, 2)
    for part in (walls, roof, door):
        _outline(img, part)
    return _finish(img)


def face() -> np.ndarray:
    """A round cartoon face: eyes with highlights, rosy cheeks, a smile."""
    img = _canvas()
    head = _shape_mask(lambda m: cv2.circle(m, _p(128, 128), _p(96)[0], 255, -1))
    _shade(img, head, (255, 226, 120), (230, 160, 40))
    _outline(img, head)
    for x in (94, 162):
        cv2.ellipse(img, _p(x, 108), _p(12, 20), 0, 0, 360, _OUTLINE, -1, lineType=cv2.LINE_AA)
        cv2.circle(img, _p(x + 4, 100), _p(5)[0], (255, 255, 255), -1, lineType=cv2.LINE_AA)
        cv2.circle(img, _p(x - 8 if x < 128 else x + 8, 150), _p(13)[0], (240, 130, 120), -1, lineType=cv2.LINE_AA)
    cv2.ellipse(img, _p(128, 150), _p(40, 30), 0, 20, 160, _OUTLINE, 5 * _SS, lineType=cv2.LINE_AA)
    return _finish(img)


def potion() -> np.ndarray:
    """A round flask of green potion with a cork."""
    img = _canvas()
    glass = _shape_mask(lambda m: (cv2.circle(m, _p(128, 160), _p(66)[0], 255, -1),
                                   cv2.rectangle(m, _p(108, 50), _p(148, 110), 255, -1)))
    _shade(img, glass, (235, 245, 250), (170, 200, 215))
    liquid = glass & (np.arange(img.shape[0])[:, None] > _p(138)[0])
    _shade(img, liquid, (110, 230, 120), (20, 120, 60))
    cv2.ellipse(img, _p(104, 150), _p(10, 22), 20, 0, 360, (255, 255, 255), -1, lineType=cv2.LINE_AA)
    _outline(img, glass)
    cork = _shape_mask(lambda m: cv2.rectangle(m, _p(112, 30), _p(144, 54), 255, -1))
    _shade(img, cork, (200, 150, 100), (130, 90, 50))
    _outline(img, cork)
    return _finish(img)


_CARTOONS = {"mushroom": mushroom, "house": house, "face": face, "potion": potion}


def is_cartoon(name: str) -> bool:
    """True for the names of the built-in cartoons."""
    return name in _CARTOONS


def load_sample(name: str) -> np.ndarray:
    """uint8 RGB ``(H, W, 3)`` of a built-in sample (a scikit-image photo or a drawn cartoon)."""
    if name in _CARTOONS:
        return _CARTOONS[name]()
    if name in SAMPLE_PHOTOS:
        import skimage.data

        image = getattr(skimage.data, name)()
        return image[..., :3] if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
    raise ValueError(f"unknown sample {name!r}; choose one of: {', '.join(SAMPLES)}")
