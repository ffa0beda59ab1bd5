"""util.image_pool.ImagePool: reference semantics with an explicit random.Random, and state round trips."""
from __future__ import annotations

import random

import pytest
import torch

from util.image_pool import ImagePool


def _img(value: float, size: int = 2) -> torch.Tensor:
    return torch.full((1, 3, size, size), float(value))


def _ids(batch: torch.Tensor) -> list[float]:
    """Each pooled image is constant; read its value back as an id."""
    return [float(img[0, 0, 0]) for img in batch]


def test_pool_size_zero_returns_input_itself():
    pool = ImagePool(0)
    x = torch.rand(4, 3, 2, 2, requires_grad=True)
    assert pool.query(x) is x
    assert pool.num_imgs == 0


def test_fill_then_swap_with_probability_half_matches_rng():
    pool = ImagePool(3, rng=random.Random(5))
    # while filling, inputs come back as they are (detached)
    first = torch.cat([_img(0), _img(1)]).requires_grad_(True)
    out = pool.query(first)
    assert _ids(out) == [0, 1] and not out.requires_grad and pool.num_imgs == 2
    assert _ids(pool.query(_img(2))) == [2] and pool.num_imgs == 3

    # afterwards each image is swapped or passed through, exactly as the rng decides
    mirror = random.Random(5)
    stored = [0.0, 1.0, 2.0]
    for value in range(3, 60):
        got = _ids(pool.query(_img(value)))
        if mirror.uniform(0, 1) > 0.5:
            slot = mirror.randint(0, 2)
            expected, stored[slot] = stored[slot], float(value)
        else:
            expected = float(value)
        assert got == [expected]
    assert sorted(_ids(torch.cat(pool.images))) == sorted(stored)


def test_swap_rate_is_about_half_and_batches_keep_shape():
    pool = ImagePool(4, rng=random.Random(1))
    pool.query(torch.cat([_img(-i - 1) for i in range(4)]))
    swapped = 0
    for start in range(0, 2000, 8):
        batch = torch.cat([_img(v) for v in range(start, start + 8)])
        out = pool.query(batch)
        assert out.shape == batch.shape
        swapped += sum(a != b for a, b in zip(_ids(out), range(start, start + 8), strict=True))
    assert 0.45 < swapped / 2000 < 0.55


def test_returned_history_is_a_copy():
    pool = ImagePool(1, rng=random.Random(0))
    pool.query(_img(7))
    for v in range(20):
        out = pool.query(_img(v))
        out.add_(100)  # caller modifies the result in place
    assert all(float(img.min()) < 100 for img in pool.images)


def test_default_rng_is_deterministic():
    a, b = ImagePool(2), ImagePool(2)
    outs_a = [_ids(a.query(_img(v))) for v in range(30)]
    outs_b = [_ids(b.query(_img(v))) for v in range(30)]
    assert outs_a == outs_b


def test_state_round_trip_through_weights_only_file(tmp_path):
    pool = ImagePool(3, rng=random.Random(11))
    for v in range(10):
        pool.query(_img(v, size=2 + v % 2 * 2))  # mixed image sizes, as with scale_width
    path = tmp_path / "pool.pth"
    torch.save(pool.state_dict(), path)
    state = torch.load(path, weights_only=True)
    assert all(t.device.type == "cpu" for t in state["images"])

    restored = ImagePool(3, rng=random.Random(999))
    restored.load_state_dict(state)
    assert restored.num_imgs == 3
    for v in range(10, 40):
        x = _img(v, size=2 + v % 2 * 2)
        assert torch.equal(pool.query(x), restored.query(x))


def test_bad_arguments():
    with pytest.raises(ValueError, match="pool_size .*non-negative integer, got -1"):
        ImagePool(-1)
    with pytest.raises(ValueError, match="pool_size"):
        ImagePool(2.5)
    with pytest.raises(TypeError, match="rng must be a random.Random"):
        ImagePool(2, rng=3)
    with pytest.raises(ValueError, match="4-D"):
        ImagePool(2).query(torch.zeros(3, 2, 2))
    pool = ImagePool(2)
    with pytest.raises(ValueError, match="pool_size=5.*pool_size=2.*--pool_size"):
        pool.load_state_dict({"pool_size": 5, "images": [], "rng_state": random.Random(0).getstate()})
    with pytest.raises(ValueError, match="keys 'pool_size', 'images', 'rng_state'"):
        pool.load_state_dict({"images": []})
    with pytest.raises(ValueError, match="at most 2 4-D tensors"):
        pool.load_state_dict({"pool_size": 2, "images": [_img(0)] * 3, "rng_state": random.Random(0).getstate()})
