"""Transforms of data/base_dataset.py: sizes per --preprocess mode, crop errors, conversion, randomness."""
from __future__ import annotations

import random
import re

import numpy as np
import pytest
import torch
from PIL import Image

from data.base_dataset import BaseDataset, DatasetImageError, get_params, get_transform, open_image, resized_size
from util.image import ImageLoadError


def _noise(w: int, h: int, seed: int = 0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8))


# (preprocess, isTrain) -> (W, H) of the output for a 70x50 image, load_size 64, crop_size 32.
SIZES_70x50 = [
    ("resize_and_crop", True, (32, 32)),
    ("resize_and_crop", False, (32, 32)),
    ("crop", True, (32, 32)),
    ("crop", False, (32, 32)),
    ("scale_width", True, (64, 44)),          # 64*50/70 = 45.7 -> 45 -> multiple of 4 at train: 44
    ("scale_width", False, (64, 45)),         # kept exactly at test time
    ("scale_width_and_crop", True, (32, 32)),
    ("scale_width_and_crop", False, (32, 32)),
    ("none", True, (72, 48)),                 # banker's rounding: 17.5 -> 18, 12.5 -> 12
    ("none", False, (70, 50)),
]


@pytest.mark.parametrize("preprocess, is_train, size", SIZES_70x50)
def test_output_size_per_preprocess_mode(make_opt, preprocess, is_train, size):
    opt = make_opt(preprocess=preprocess, isTrain=is_train)
    out = get_transform(opt, rng=random.Random(0))(_noise(70, 50))
    assert out.dtype == torch.float32
    assert tuple(out.shape) == (3, size[1], size[0])
    assert resized_size(opt, (70, 50))[0] >= size[0]


@pytest.mark.parametrize("is_train, size", [(True, (64, 32)), (False, (64, 32))])
def test_scale_width_height_at_least_crop(make_opt, is_train, size):
    # 64*20/70 = 18.3 < crop 32, so the height becomes the crop size.
    out = get_transform(make_opt(preprocess="scale_width", isTrain=is_train), rng=0)(_noise(70, 20))
    assert tuple(out.shape[1:]) == (size[1], size[0])


def test_scale_width_skips_resize_when_width_matches(make_opt):
    img = _noise(64, 50)
    test_out = get_transform(make_opt(preprocess="scale_width", isTrain=False, no_flip=True))(img)
    assert tuple(test_out.shape) == (3, 50, 64)
    expected = torch.from_numpy(np.array(img)).permute(2, 0, 1).float() / 127.5 - 1
    assert torch.equal(test_out, expected)
    train_out = get_transform(make_opt(preprocess="scale_width", isTrain=True, no_flip=True))(img)
    assert tuple(train_out.shape) == (3, 48, 64)  # 50 -> 48 at train time


def test_scale_width_rounds_load_size_to_multiple_of_4_at_train(make_opt):
    out = get_transform(make_opt(preprocess="scale_width", load_size=286, crop_size=256), rng=0)(_noise(70, 50))
    assert tuple(out.shape[1:]) == (256, 288)  # h = max(204.3, 256) = 256, w 286 -> 288


def test_none_keeps_multiple_of_4_sizes_untouched(make_opt):
    img = _noise(72, 48)
    out = get_transform(make_opt(preprocess="none", no_flip=True))(img)
    expected = torch.from_numpy(np.array(img)).permute(2, 0, 1).float() / 127.5 - 1
    assert torch.equal(out, expected)


def test_crop_too_big_error_names_flags_file_and_fix(make_opt):
    opt = make_opt(preprocess="crop", crop_size=64)
    with pytest.raises(ValueError) as info:
        get_transform(opt, rng=0)(_noise(70, 50), "datasets/x/trainA/small.png")
    msg = str(info.value)
    assert msg.startswith("--crop_size 64 is larger than the image datasets/x/trainA/small.png: it is 70x50 "
                          "after --preprocess crop with --load_size 64 (the file is 70x50); fix: ")
    assert "lower --crop_size to at most 50" in msg


def test_crop_too_big_after_resize_suggests_load_size(make_opt):
    opt = make_opt(preprocess="resize_and_crop", load_size=16, crop_size=32)
    with pytest.raises(ValueError, match=re.escape("it is 16x16 after --preprocess resize_and_crop with --load_size 16 "
                                                   "(the file is 70x50); fix: set --load_size to at least --crop_size "
                                                   "(e.g. --load_size 32)")):
        get_transform(opt, rng=0)(_noise(70, 50), "a.png")


def test_crop_too_big_with_params(make_opt):
    opt = make_opt(preprocess="crop", crop_size=60)
    params = get_params(opt, (70, 50), random.Random(0))
    with pytest.raises(ValueError, match=r"--crop_size 60 is larger than the image <image>"):
        get_transform(opt, params)(_noise(70, 50))


def test_unknown_preprocess_is_rejected(make_opt):
    with pytest.raises(ValueError, match=r"--preprocess 'resize' is not supported; choose one of: resize_and_crop, "
                                         r"crop, scale_width, scale_width_and_crop, none"):
        get_transform(make_opt(preprocess="resize"))


def test_bad_sizes_are_rejected(make_opt):
    with pytest.raises(ValueError, match=r"--crop_size must be a positive integer, got 0"):
        get_transform(make_opt(crop_size=0))
    with pytest.raises(ValueError, match=r"--load_size must be a positive integer, got 1.5"):
        get_transform(make_opt(load_size=1.5))


def test_conversion_maps_0_to_minus1_and_255_to_1(make_opt):
    arr = np.zeros((4, 4, 3), dtype=np.uint8)
    arr[0, 0] = 255
    arr[0, 1] = (0, 128, 255)
    out = get_transform(make_opt(preprocess="none", isTrain=False, no_flip=True))(arr)
    assert out.shape == (3, 4, 4) and out.dtype == torch.float32
    assert out.min().item() == -1.0 and out.max().item() == 1.0
    assert torch.equal(out[:, 0, 0], torch.tensor([1.0, 1.0, 1.0]))
    assert torch.equal(out[:, 1, 1], torch.tensor([-1.0, -1.0, -1.0]))
    assert out[1, 0, 1].item() == pytest.approx(128 / 127.5 - 1, abs=1e-7)


def test_grayscale_gives_one_channel_luma(make_opt):
    arr = np.full((8, 8, 3), (200, 100, 50), dtype=np.uint8)
    out = get_transform(make_opt(preprocess="none", no_flip=True), grayscale=True)(arr)
    assert out.shape == (1, 8, 8)
    luma = Image.fromarray(arr).convert("L").getpixel((0, 0))  # ITU-R 601-2
    assert torch.all(out == torch.tensor(float(luma)) / 127.5 - 1)


def test_grey_pil_input_becomes_rgb_when_not_grayscale(make_opt):
    out = get_transform(make_opt(preprocess="none", no_flip=True))(Image.new("L", (8, 8), 10))
    assert out.shape == (3, 8, 8)


def test_convert_false_returns_pil(make_opt):
    out = get_transform(make_opt(preprocess="crop"), convert=False, rng=1)(_noise(70, 50))
    assert isinstance(out, Image.Image) and out.size == (32, 32) and out.mode == "RGB"


def test_params_flip_and_crop_are_applied(make_opt):
    opt = make_opt(preprocess="crop", isTrain=False)
    img = _noise(70, 50)
    plain = get_transform(opt, {"crop_pos": (5, 7), "flip": False})(img)
    flipped = get_transform(opt, {"crop_pos": (5, 7), "flip": True})(img)
    full = get_transform(make_opt(preprocess="none", isTrain=False), {"crop_pos": (0, 0), "flip": False})(img)
    assert torch.equal(plain, full[:, 7:39, 5:37])
    assert torch.equal(flipped, torch.flip(plain, dims=[2]))
    no_flip = get_transform(make_opt(preprocess="crop", no_flip=True), {"crop_pos": (5, 7), "flip": True})(img)
    assert torch.equal(no_flip, plain)


def test_get_params_ranges_and_determinism(make_opt):
    opt = make_opt(preprocess="scale_width_and_crop", load_size=64, crop_size=32)
    draws = [get_params(opt, (70, 50), random.Random(s)) for s in range(200)]
    xs = {d["crop_pos"][0] for d in draws}
    ys = {d["crop_pos"][1] for d in draws}
    assert xs == set(range(0, 33))            # width 64 -> x in [0, 32]
    assert max(ys) <= 45 - 32 and min(ys) == 0  # height int(45.7) = 45
    assert {d["flip"] for d in draws} == {True, False}
    assert get_params(opt, (70, 50), random.Random(3)) == get_params(opt, (70, 50), 3)
    with pytest.raises(TypeError, match=r"`rng` must be a random.Random or an int seed, got NoneType"):
        get_params(opt, (70, 50), None)


def test_same_rng_seed_same_output_and_global_random_untouched(make_opt):
    opt = make_opt(preprocess="crop")
    img = _noise(70, 50)
    state = random.getstate()
    a = get_transform(opt, rng=random.Random(5))(img)
    b = get_transform(opt)(img, rng=random.Random(5))
    get_transform(opt)(img)  # no rng: a private generator, not the global one
    assert torch.equal(a, b)
    assert random.getstate() == state


def test_open_image_corrupt_raises_image_load_error_naming_path(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png at all")
    with pytest.raises(ImageLoadError, match=re.escape(str(bad))) as info:
        open_image(bad)
    assert isinstance(info.value, DatasetImageError)
    assert info.value.path == str(bad)


def test_dataset_image_error_rebuilds_from_worker_message():
    original = DatasetImageError("/d/trainA/x.png", "not an image file (unrecognised data)")
    worker_msg = ("Caught DatasetImageError in DataLoader worker process 0.\nOriginal Traceback (most recent call "
                  "last):\n  File \"x.py\", line 1, in f\ndata.base_dataset.DatasetImageError: " + str(original) + "\n")
    rebuilt = DatasetImageError(worker_msg)
    assert isinstance(rebuilt, ImageLoadError)
    assert str(rebuilt) == "/d/trainA/x.png: not an image file (unrecognised data)"
    assert rebuilt.path == "/d/trainA/x.png"
    assert rebuilt.worker_traceback == worker_msg


class _Dummy(BaseDataset):
    def __len__(self):
        return 4

    def __getitem__(self, index):
        return {"x": self.item_rng(index).random()}


def test_item_rng_is_a_function_of_seed_epoch_index(make_opt):
    ds = _Dummy(make_opt(seed=7))
    first = [ds[i]["x"] for i in range(4)]
    assert first == [ds[i]["x"] for i in range(4)]
    assert len(set(first)) == 4
    ds.set_epoch(1)
    assert [ds[i]["x"] for i in range(4)] != first
    ds.set_epoch(0)
    assert [ds[i]["x"] for i in range(4)] == first
    assert [_Dummy(make_opt(seed=8))[i]["x"] for i in range(4)] != first


def test_seed_defaults_and_validation(make_opt):
    opt = make_opt()
    del opt.seed
    assert _Dummy(opt).seed == 0
    assert _Dummy(make_opt(seed=None)).seed == 0
    with pytest.raises(TypeError, match=r"--seed must be an integer, got '1'"):
        _Dummy(make_opt(seed="1"))


# --------------------------------------------------------------------------- batches of one size
def test_mixed_sizes_without_a_crop_are_refused_for_batches(make_opt, tmp_path, write_png):
    from data.base_dataset import check_batchable_sizes
    from util.cli import FlagError

    a = write_png(tmp_path / "a.png", w=40, h=32)
    b = write_png(tmp_path / "b.png", w=41, h=33)  # the same size after the multiple-of-4 rounding
    c = write_png(tmp_path / "c.png", w=24, h=32)
    bad = tmp_path / "bad.png"
    bad.write_text("not a picture")  # left out: reported when loaded
    paths = [str(p) for p in (a, bad, b, c)]
    opt = make_opt(preprocess="none", batch_size=2)
    with pytest.raises(FlagError) as info:
        check_batchable_sizes(opt, {"A": (paths, None)})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("--batch_size 2 stacks images of one size, but --preprocess none keeps each file's size")
    assert f"{a} (40x32)" in message and f"{c} (24x32)" in message and str(b) not in message
    assert "use --batch_size 1, or a --preprocess that resizes or crops" in message
    check_batchable_sizes(opt, {"A": (paths[:3], None)})  # 40x32 and 41x33 -> 40x32 both
    check_batchable_sizes(make_opt(preprocess="none", batch_size=1), {"A": (paths, None)})
    for mode in ("resize_and_crop", "crop", "scale_width_and_crop"):
        check_batchable_sizes(make_opt(preprocess=mode, batch_size=2, load_size=24, crop_size=16),
                              {"A": (paths, None)})
    with pytest.raises(FlagError, match=r"'B' images of one size, but --preprocess scale_width keeps each file's aspect ratio: .*c\.png \(24x32, 32x40 after preprocessing\)"):
        check_batchable_sizes(make_opt(preprocess="scale_width", batch_size=2, load_size=32, crop_size=16),
                              {"A": ([str(a)], None), "B": ([str(a), str(c)], None)})


def test_header_size_applies_exif_rotation(tmp_path):
    from data.base_dataset import header_size

    img = Image.new("RGB", (30, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: open_image gives 10x30
    img.save(tmp_path / "r.jpg", exif=exif)
    assert header_size(tmp_path / "r.jpg") == (10, 30) == open_image(tmp_path / "r.jpg").size
    assert header_size(tmp_path / "missing.png") is None
