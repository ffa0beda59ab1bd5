"""Dataset modes: unaligned, single, aligned, template."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from PIL import Image

from data.aligned_dataset import AlignedDataset
from data.single_dataset import SingleDataset
from data.template_dataset import TemplateDataset
from data.unaligned_dataset import UnalignedDataset
from util.image import ImageLoadError


def test_unaligned_items(make_opt, unaligned_root):
    ds = UnalignedDataset(make_opt(dataroot=str(unaligned_root)))
    assert len(ds) == 5 and ds.A_size == 3 and ds.B_size == 5
    item = ds[4]
    assert set(item) == {"A", "B", "A_paths", "B_paths"}
    assert item["A_paths"].endswith("trainA/a1.png")  # 4 % 3
    assert item["A"].shape == (3, 32, 32) and item["B"].shape == (3, 32, 32)
    assert item["A"].dtype == torch.float32
    assert -1.0 <= item["A"].min() and item["A"].max() <= 1.0


def test_unaligned_serial_b_index(make_opt, unaligned_root):
    ds = UnalignedDataset(make_opt(dataroot=str(unaligned_root), serial_batches=True))
    assert [ds[i]["B_paths"].rsplit("/", 1)[1] for i in range(5)] == [f"b{i}.png" for i in range(5)]
    assert [ds[i]["A_paths"].rsplit("/", 1)[1] for i in range(5)] == ["a0.png", "a1.png", "a2.png", "a0.png",
                                                                       "a1.png"]


def test_unaligned_random_b_index_is_deterministic(make_opt, unaligned_root):
    ds = UnalignedDataset(make_opt(dataroot=str(unaligned_root)))
    picks = [ds[i]["B_paths"] for i in range(5)]
    assert picks == [ds[i]["B_paths"] for i in range(5)]
    seen = set()
    for epoch in range(6):
        ds.set_epoch(epoch)
        seen.update(ds[i]["B_paths"] for i in range(5))
    assert len(seen) == 5


def test_determinism_seed_epoch_index(make_opt, unaligned_root):
    opt = make_opt(dataroot=str(unaligned_root), preprocess="crop")
    a, b = UnalignedDataset(opt), UnalignedDataset(opt)
    for i in range(5):
        assert torch.equal(a[i]["A"], b[i]["A"]) and torch.equal(a[i]["B"], b[i]["B"])
    first = a[1]["A"]
    a.set_epoch(1)
    assert not torch.equal(a[1]["A"], first)  # a different crop/flip in another epoch
    a.set_epoch(0)
    assert torch.equal(a[1]["A"], first)
    other_seed = UnalignedDataset(make_opt(dataroot=str(unaligned_root), preprocess="crop", seed=1))
    assert not torch.equal(other_seed[1]["A"], first)


def test_a_and_b_get_independent_crops(make_opt, tmp_path, write_png):
    write_png(tmp_path / "trainA" / "x.png", seed=9)
    write_png(tmp_path / "trainB" / "x.png", seed=9)  # same pixels in both folders
    ds = UnalignedDataset(make_opt(dataroot=str(tmp_path), preprocess="crop"))
    differ = []
    for epoch in range(5):
        ds.set_epoch(epoch)
        item = ds[0]
        differ.append(not torch.equal(item["A"], item["B"]))
    assert any(differ)


def test_btoa_swaps_channel_counts(make_opt, unaligned_root):
    ab = UnalignedDataset(make_opt(dataroot=str(unaligned_root), input_nc=1, output_nc=3))[0]
    assert ab["A"].shape[0] == 1 and ab["B"].shape[0] == 3
    ba = UnalignedDataset(make_opt(dataroot=str(unaligned_root), input_nc=1, output_nc=3, direction="BtoA"))[0]
    assert ba["A"].shape[0] == 3 and ba["B"].shape[0] == 1
    assert ba["A_paths"].endswith("trainA/a0.png")  # keys stay tied to the folders


def test_bad_direction(make_opt, unaligned_root):
    with pytest.raises(ValueError, match=r"--direction must be one of AtoB, BtoA, got 'AB'"):
        UnalignedDataset(make_opt(dataroot=str(unaligned_root), direction="AB"))


def test_empty_trainb_error(make_opt, tmp_path, write_png):
    write_png(tmp_path / "trainA" / "a.png")
    (tmp_path / "trainB").mkdir()
    with pytest.raises(ValueError) as info:
        UnalignedDataset(make_opt(dataroot=str(tmp_path)))
    assert str(info.value) == (f"no images found in {tmp_path / 'trainB'} (looked for .jpg .jpeg .png .bmp .ppm "
                               ".tif .tiff .webp, any letter case); put domain-B training images there")


def test_missing_testa_error(make_opt, tmp_path):
    with pytest.raises(ValueError, match=re.escape(f"dataset folder {tmp_path / 'testA'} does not exist; create it "
                                                   "and put domain-A test images there")):
        UnalignedDataset(make_opt(dataroot=str(tmp_path), phase="test"))


def test_unaligned_max_dataset_size_truncates_each_folder(make_opt, unaligned_root):
    ds = UnalignedDataset(make_opt(dataroot=str(unaligned_root), max_dataset_size=2))
    assert len(ds) == 2 and [p.rsplit("/", 1)[1] for p in ds.B_paths] == ["b0.png", "b1.png"]


def test_corrupt_file_names_path(make_opt, unaligned_root):
    bad = unaligned_root / "trainA" / "a0.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    ds = UnalignedDataset(make_opt(dataroot=str(unaligned_root), serial_batches=True))
    with pytest.raises(ImageLoadError, match=re.escape(str(bad))):
        ds[0]


def test_single_dataset(make_opt, tmp_path, write_png):
    write_png(tmp_path / "b.png", w=70, h=50)
    write_png(tmp_path / "sub" / "a.png", w=40, h=44)
    opt = make_opt(dataroot=str(tmp_path), dataset_mode="single", preprocess="none", isTrain=False, no_flip=True,
                   input_nc=1, output_nc=3)
    ds = SingleDataset(opt)
    assert len(ds) == 2
    assert ds[0]["A_paths"].endswith("b.png") and ds[0]["A"].shape == (1, 50, 70)
    assert set(ds[1]) == {"A", "A_paths"} and ds[1]["A"].shape == (1, 44, 40)
    opt.direction = "BtoA"
    assert SingleDataset(opt)[0]["A"].shape == (3, 50, 70)


def test_single_empty_folder(make_opt, tmp_path):
    with pytest.raises(ValueError, match=r"; put the images to translate \(directly or in sub-folders\) there$"):
        SingleDataset(make_opt(dataroot=str(tmp_path)))


def test_aligned_halves_share_crop_and_flip(make_opt, tmp_path):
    half = np.random.default_rng(1).integers(0, 256, (50, 40, 3), dtype=np.uint8)
    (tmp_path / "train").mkdir()
    Image.fromarray(np.concatenate([half, half], axis=1)).save(tmp_path / "train" / "p.png")
    opt = make_opt(dataroot=str(tmp_path), dataset_mode="aligned", preprocess="crop", crop_size=24)
    ds = AlignedDataset(opt)
    crops = set()
    for epoch in range(4):
        ds.set_epoch(epoch)
        item = ds[0]
        assert item["A"].shape == (3, 24, 24)
        assert torch.equal(item["A"], item["B"])
        assert item["A_paths"] == item["B_paths"]
        crops.add(item["A"].sum().item())
    assert len(crops) > 1


def test_aligned_load_smaller_than_crop(make_opt, tmp_path, write_png):
    write_png(tmp_path / "train" / "p.png")
    with pytest.raises(ValueError, match=r"--load_size 16 must be >= --crop_size 32 with --preprocess resize_and_crop"):
        AlignedDataset(make_opt(dataroot=str(tmp_path), load_size=16))


def test_aligned_empty(make_opt, tmp_path):
    (tmp_path / "train").mkdir()
    with pytest.raises(ValueError, match=r"put training pairs, each one image with A on the left half and B on the "
                                         r"right there"):
        AlignedDataset(make_opt(dataroot=str(tmp_path)))


def test_template_dataset_makes_pixelated_pair(make_opt, tmp_path, write_png):
    write_png(tmp_path / "x.png", w=8, h=8)
    opt = make_opt(dataroot=str(tmp_path), dataset_mode="template", preprocess="none", no_flip=True,
                   new_dataset_option=2.0)
    item = TemplateDataset(opt)[0]
    assert item["A"].shape == item["B"].shape == (3, 8, 8)
    B = item["B"]
    assert torch.equal(B[:, 0::2, 0::2], B[:, 1::2, 1::2])  # 2x2 blocks of one colour
    assert not torch.equal(item["A"], B)
    with pytest.raises(ValueError, match=r"--new_dataset_option must be a whole number of pixels >= 1, got 1.5"):
        TemplateDataset(make_opt(dataroot=str(tmp_path), new_dataset_option=1.5))


def test_aligned_image_under_2_px_wide_is_a_bad_image(make_opt, tmp_path, write_png):
    write_png(tmp_path / "train" / "ok.png", w=40, h=20)
    thin = write_png(tmp_path / "train" / "thin.png", w=1, h=20)
    ds = AlignedDataset(make_opt(dataroot=str(tmp_path), dataset_mode="aligned", preprocess="none"))
    with pytest.raises(ImageLoadError) as info:  # what --skip_bad_images skips and test.py reports
        ds[ds.AB_paths.index(str(thin))]
    assert str(info.value) == f"{thin}: aligned images hold A and B side by side, but this one is only 1 pixel wide"
    assert ds[ds.AB_paths.index(str(tmp_path / "train" / "ok.png"))]["A"].shape == (3, 20, 20)
