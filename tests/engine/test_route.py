"""engine.route: --pretrained auto sends each image to the stage that suits its kind, loading only what it needs."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.generator import Guidance
from engine.route import STAGE_OF_KIND, AutoStage, Route, route_image


def photo_like(seed: int = 0, size: int = 160) -> np.ndarray:
    """Smooth multi-scale noise with a lighting gradient and sensor noise: no flat background, no grid."""
    rng = np.random.default_rng(seed)
    img = np.zeros((size, size, 3), np.float64)
    for scale in (4, 8, 16, 32):
        small = rng.normal(0, 1, (scale, scale, 3))
        img += cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC) * (40.0 / scale ** 0.5)
    img += np.linspace(-40, 40, size)[None, :, None] + 120
    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def drawing(size: int = 160) -> np.ndarray:
    """Flat coloured shapes with black outlines on white, anti-aliased like clip art."""
    img = np.full((size, size, 3), 255, np.uint8)
    cv2.circle(img, (60, 70), 40, (230, 60, 50), -1, cv2.LINE_AA)
    cv2.circle(img, (60, 70), 40, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.rectangle(img, (90, 90), (140, 140), (60, 120, 220), -1, cv2.LINE_AA)
    cv2.rectangle(img, (90, 90), (140, 140), (0, 0, 0), 3, cv2.LINE_AA)
    return img


def sprite(seed: int = 3, n: int = 20) -> np.ndarray:
    """A crisp random native sprite: a blob of 5 colours with a dark outline, on white."""
    rng = np.random.default_rng(seed)
    palette = rng.integers(30, 230, (5, 3))
    native = np.full((n, n, 3), 255, np.uint8)
    yy, xx = np.mgrid[:n, :n]
    blob = (yy - n / 2) ** 2 + (xx - n / 2) ** 2 < (n / 2.6) ** 2
    native[blob] = palette[rng.integers(0, 5, blob.sum())]
    ring = blob & ~cv2.erode(blob.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    native[ring] = (20, 20, 30)
    return native


def test_each_kind_gets_its_stage():
    crisp = np.repeat(np.repeat(sprite(), 6, 0), 6, 1)
    smooth = cv2.GaussianBlur(cv2.resize(sprite(), (130, 130), interpolation=cv2.INTER_CUBIC), (0, 0), 1.5)
    expected = {"photo": (photo_like(), None), "drawing": (drawing(), "cartoon2pixel"),
                "pixel_art": (crisp, None), "render": (smooth, "smooth2pixel")}
    for kind, (image, stage) in expected.items():
        route = route_image(image)
        assert (route.kind, route.stage) == (kind, stage), route
        assert 0.0 <= route.confidence <= 1.0 and route.reason
        assert route.describe().startswith(f"{kind} (") and (stage or "quantisation alone") in route.describe()
    assert set(STAGE_OF_KIND) == {"photo", "drawing", "render", "pixel_art"}


class FakeStage:
    """Stands in for a GeneratorStage: inverts the image and counts its calls."""

    def __init__(self, name: str) -> None:
        self.name, self.calls, self.guidance = name, [], Guidance(keep_tone=True)

    def __call__(self, images):
        self.calls.append(len(images))
        return [255 - im for im in images]


def test_auto_stage_loads_a_generator_only_when_an_image_needs_it():
    loaded: dict[str, FakeStage] = {}

    def load(name: str) -> FakeStage:
        loaded[name] = FakeStage(name)
        return loaded[name]

    auto = AutoStage(load)
    photos = auto([photo_like(1), photo_like(2)])
    assert [(out, stage) for out, stage, _ in photos] == [(None, None), (None, None)]
    assert loaded == {}  # a folder of photos never loads a generator
    cartoon = drawing()
    results = auto([photo_like(3), cartoon, drawing()])
    assert results[0][0] is None and results[0][2].kind == "photo"
    assert np.array_equal(results[1][0], 255 - cartoon) and results[1][1] is loaded["cartoon2pixel"]
    assert list(loaded) == ["cartoon2pixel"] and loaded["cartoon2pixel"].calls == [2]  # one batch of two
    auto([drawing()])
    assert list(loaded) == ["cartoon2pixel"]  # loaded once


def test_guidance_from_notes_and_flags():
    notes = {"color_match": True, "keep_white": True, "keep_tone": True, "despeckle": "yes"}
    g = Guidance.from_notes(notes)
    assert g == Guidance(color_match=True, keep_white=True, keep_tone=True, despeckle=False)  # only True counts
    assert Guidance.from_notes(notes, keep_tone=False, despeckle=True) == Guidance(True, True, False, True)
    assert Guidance.from_notes({}).describe() == "none"
    assert Guidance(keep_tone=True, keep_white=True).describe() == "keep_tone, keep_white"


def test_route_is_a_plain_record():
    r = Route("photo", None, 0.97, "no flat background")
    assert r.describe() == "photo (97%) -> quantisation alone: no flat background"
    with pytest.raises(AttributeError):
        r.kind = "drawing"  # frozen
