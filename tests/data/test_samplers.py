"""data/samplers.py: EpochSampler order, sharding, resume."""
from __future__ import annotations

import pytest
import torch

from data.samplers import EpochSampler


def test_serial_order():
    s = EpochSampler(5, shuffle=False, seed=0)
    assert list(s) == [0, 1, 2, 3, 4] and len(s) == 5
    s.set_epoch(3)
    assert list(s) == [0, 1, 2, 3, 4]


def test_shuffle_is_a_pure_function_of_seed_and_epoch():
    a = EpochSampler(20, shuffle=True, seed=3)
    b = EpochSampler(20, shuffle=True, seed=3)
    assert list(a) == list(b)
    gen = torch.Generator()
    gen.manual_seed(3)
    assert list(a) == torch.randperm(20, generator=gen).tolist()
    e0 = list(a)
    a.set_epoch(1)
    assert list(a) != e0 and sorted(a) == list(range(20))
    b.set_epoch(1)
    assert list(a) == list(b)
    assert list(EpochSampler(20, shuffle=True, seed=4)) != e0
    # seed + epoch: (seed 3, epoch 1) == (seed 4, epoch 0)
    assert list(a) == list(EpochSampler(20, shuffle=True, seed=4))


def test_global_rng_untouched():
    state = torch.random.get_rng_state()
    list(EpochSampler(50, shuffle=True, seed=1))
    assert torch.equal(torch.random.get_rng_state(), state)


@pytest.mark.parametrize("shuffle", [False, True])
def test_two_ranks_disjoint_and_covering(shuffle):
    r0 = EpochSampler(10, shuffle=shuffle, seed=5, rank=0, world_size=2)
    r1 = EpochSampler(10, shuffle=shuffle, seed=5, rank=1, world_size=2)
    for epoch in (0, 1):
        r0.set_epoch(epoch)
        r1.set_epoch(epoch)
        i0, i1 = list(r0), list(r1)
        assert len(i0) == len(i1) == len(r0) == 5
        assert not set(i0) & set(i1)
        assert sorted(i0 + i1) == list(range(10))
        full_e = EpochSampler(10, shuffle=shuffle, seed=5)
        full_e.set_epoch(epoch)
        full = list(full_e)
        assert i0 == full[0::2] and i1 == full[1::2]


def test_uneven_length_is_padded_by_repeating():
    shards = [list(EpochSampler(5, shuffle=False, seed=0, rank=r, world_size=2)) for r in (0, 1)]
    assert shards == [[0, 2, 4], [1, 3, 0]]
    tiny = [list(EpochSampler(2, shuffle=False, seed=0, rank=r, world_size=5)) for r in range(5)]
    assert tiny == [[0], [1], [0], [1], [0]]


def test_set_start_skips_and_set_epoch_resets():
    s = EpochSampler(8, shuffle=True, seed=2)
    s.set_epoch(4)
    full = list(s)
    s.set_start(3)
    assert list(s) == full[3:] and len(s) == 5
    s.set_start(8)
    assert list(s) == [] and len(s) == 0
    s.set_epoch(5)
    assert len(s) == 8 and s.start == 0


def test_max_samples_caps_each_rank():
    s = EpochSampler(10, shuffle=True, seed=0, max_samples=4)
    assert len(s) == 4 and list(s) == list(EpochSampler(10, shuffle=True, seed=0))[:4]
    r1 = EpochSampler(10, shuffle=False, seed=0, rank=1, world_size=2, max_samples=3)
    assert list(r1) == [1, 3, 5]


def test_empty_length():
    s = EpochSampler(0, shuffle=True, seed=0)
    assert list(s) == [] and len(s) == 0


def test_errors():
    with pytest.raises(ValueError, match=r"`rank` must be < world_size \(2\), got 2"):
        EpochSampler(4, shuffle=False, seed=0, rank=2, world_size=2)
    with pytest.raises(ValueError, match=r"`world_size` must be an integer >= 1, got 0"):
        EpochSampler(4, shuffle=False, seed=0, world_size=0)
    with pytest.raises(TypeError, match=r"`seed` must be an int, got None"):
        EpochSampler(4, shuffle=False, seed=None)
    s = EpochSampler(4, shuffle=False, seed=0)
    with pytest.raises(ValueError, match=r"cannot skip 5 samples: this rank has only 4 per epoch"):
        s.set_start(5)
    with pytest.raises(ValueError, match=r"`n_samples` must be an integer >= 0, got -1"):
        s.set_start(-1)
