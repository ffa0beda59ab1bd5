"""data.create_dataset / DatasetLoader: batches, epochs, workers, resume, sharding, errors."""
from __future__ import annotations

import logging
import re

import pytest
import torch

import data
from util.image import ImageLoadError


def _collect(loader):
    return [(b["A"].clone(), b["B"].clone(), list(b["A_paths"]), list(b["B_paths"])) for b in loader]


def _same(x, y):
    return len(x) == len(y) and all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and a[2:] == b[2:]
                                    for a, b in zip(x, y, strict=True))


def test_loader_batches_and_log(make_opt, unaligned_root, caplog):
    with caplog.at_level(logging.INFO, logger="data"):
        loader = data.create_dataset(make_opt(dataroot=str(unaligned_root), batch_size=2))
    assert "dataset [UnalignedDataset] was created (5 images)" in caplog.messages
    assert loader.load_data() is loader
    assert len(loader) == 5 and loader.batches_per_epoch() == 3
    assert len(loader.dataset) == 5
    batches = list(loader)
    assert [b["A"].shape[0] for b in batches] == [2, 2, 1]
    assert batches[0]["A"].shape == (2, 3, 32, 32) and batches[0]["A"].dtype == torch.float32
    assert isinstance(batches[0]["A_paths"], list) and isinstance(batches[0]["A_paths"][0], str)


def test_same_epoch_same_batches_and_epochs_differ(make_opt, unaligned_root):
    opt = make_opt(dataroot=str(unaligned_root), batch_size=2, preprocess="crop", seed=3)
    first = _collect(data.create_dataset(opt))
    loader = data.create_dataset(opt)
    assert _same(_collect(loader), first)
    loader.set_epoch(1)
    e1 = _collect(loader)
    assert not _same(e1, first)
    loader.set_epoch(0)
    assert _same(_collect(loader), first)


def test_global_rngs_untouched(make_opt, unaligned_root):
    import random

    loader = data.create_dataset(make_opt(dataroot=str(unaligned_root), batch_size=2, num_threads=0))
    torch_state, py_state = torch.random.get_rng_state(), random.getstate()
    list(loader)
    assert torch.equal(torch.random.get_rng_state(), torch_state) and random.getstate() == py_state


def test_workers_give_identical_batches(make_opt, unaligned_root):
    opt = make_opt(dataroot=str(unaligned_root), batch_size=2, preprocess="crop", seed=1)
    serial = data.create_dataset(opt)
    serial.set_epoch(2)
    opt2 = make_opt(dataroot=str(unaligned_root), batch_size=2, preprocess="crop", seed=1, num_threads=2)
    parallel = data.create_dataset(opt2)
    parallel.set_epoch(2)
    assert _same(_collect(serial), _collect(parallel))


def test_skip_resumes_mid_epoch(make_opt, unaligned_root):
    opt = make_opt(dataroot=str(unaligned_root), batch_size=1, preprocess="crop")
    loader = data.create_dataset(opt)
    loader.set_epoch(4)
    full = _collect(loader)
    loader.skip(2)
    assert _same(_collect(loader), full[2:])
    loader.set_epoch(4)  # resets the skip
    assert _same(_collect(loader), full)
    with pytest.raises(ValueError, match=r"skip: n_samples must be an integer in \[0, 5\] \(images per epoch on "
                                         r"this rank\), got 6"):
        loader.skip(6)


def test_max_dataset_size_caps_the_epoch(make_opt, unaligned_root):
    loader = data.create_dataset(make_opt(dataroot=str(unaligned_root), batch_size=2, max_dataset_size=3))
    assert len(loader.dataset) == 3 and len(loader) == 3 and loader.batches_per_epoch() == 2
    assert sum(b["A"].shape[0] for b in loader) == 3
    with pytest.raises(TypeError, match=r"--max_dataset_size must be an integer or inf"):
        data.create_dataset(make_opt(dataroot=str(unaligned_root), max_dataset_size="3"))


def test_single_mode_with_max_smaller_than_length(make_opt, tmp_path, write_png):
    for i in range(4):
        write_png(tmp_path / f"{i}.png", w=8, h=8)
    opt = make_opt(dataroot=str(tmp_path), dataset_mode="single", preprocess="none", max_dataset_size=None,
                   serial_batches=True, batch_size=3)
    loader = data.create_dataset(opt)
    assert [len(b["A_paths"]) for b in loader] == [3, 1]


def test_rank_sharding(make_opt, unaligned_root):
    opt = make_opt(dataroot=str(unaligned_root), batch_size=1, serial_batches=False)
    shards = [data.DatasetLoader(opt, rank=r, world_size=2) for r in (0, 1)]
    assert [len(s) for s in shards] == [3, 3]  # 5 items padded to 6
    paths = [[p for b in s for p in b["A_paths"]] for s in shards]
    idx = [list(s.sampler) for s in shards]
    assert sorted(set(idx[0]) | set(idx[1])) == [0, 1, 2, 3, 4]
    assert len(paths[0]) == len(paths[1]) == 3


def test_corrupt_file_error_survives_worker(make_opt, unaligned_root):
    bad = unaligned_root / "trainB" / "b0.png"
    bad.write_bytes(b"garbage")
    opt = make_opt(dataroot=str(unaligned_root), serial_batches=True, num_threads=1)
    with pytest.raises(ImageLoadError, match=re.escape(str(bad))) as info:
        list(data.create_dataset(opt))
    assert str(info.value) == f"{bad}: not an image file (unrecognised data)"
    assert info.value.path == str(bad)


def test_corrupt_file_error_in_main_process(make_opt, unaligned_root):
    bad = unaligned_root / "trainB" / "b0.png"
    bad.write_bytes(b"")
    with pytest.raises(ImageLoadError, match=re.escape(f"{bad}: empty file (0 bytes)")):
        list(data.create_dataset(make_opt(dataroot=str(unaligned_root), serial_batches=True)))


@pytest.mark.parametrize("field, value, pattern", [
    ("batch_size", 0, r"--batch_size must be a positive integer, got 0"),
    ("num_threads", -1, r"--num_threads must be an integer >= 0, got -1"),
])
def test_loader_option_errors(make_opt, unaligned_root, field, value, pattern):
    with pytest.raises(ValueError, match=pattern):
        data.create_dataset(make_opt(dataroot=str(unaligned_root), **{field: value}))


def test_break_early_then_full_epoch_with_workers(make_opt, unaligned_root):
    loader = data.create_dataset(make_opt(dataroot=str(unaligned_root), batch_size=1, num_threads=2))
    for _ in loader:
        break
    assert sum(len(b["A_paths"]) for b in loader) == 5


def test_num_threads_is_capped_to_the_cores(make_opt, unaligned_root, monkeypatch, caplog):
    import os

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    with caplog.at_level("INFO", logger="data"):
        loader = data.create_dataset(make_opt(dataroot=str(unaligned_root), batch_size=2, num_threads=4))
    assert loader.dataloader.num_workers == 2
    assert "--num_threads 4: this machine has 2 core(s)" in caplog.text
    assert data.create_dataset(make_opt(dataroot=str(unaligned_root), num_threads=1)).dataloader.num_workers == 1
