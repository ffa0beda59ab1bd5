"""The colorization dataset: L in, ab out, through util.image's CIELAB conversion."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from data import create_dataset
from data.colorization_dataset import ColorizationDataset
from util.image import rgb_to_lab


def _colour_image(path, w=20, h=12, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    Image.fromarray(arr).save(path)
    return arr


def _opt(make_opt, root, **kw):
    base = dict(dataroot=str(root), input_nc=1, output_nc=2, preprocess="none", no_flip=True, isTrain=False,
                dataset_mode="colorization", load_size=20, crop_size=20)
    base.update(kw)
    return make_opt(**base)


def test_item_is_L_and_ab_of_the_image(make_opt, tmp_path):
    arr = _colour_image(tmp_path / "train" / "x.png")
    item = ColorizationDataset(_opt(make_opt, tmp_path))[0]
    assert set(item) == {"A", "B", "A_paths", "B_paths"} and item["A_paths"] == item["B_paths"]
    A, B = item["A"], item["B"]
    assert A.shape == (1, 12, 20) and B.shape == (2, 12, 20) and A.dtype == B.dtype == torch.float32
    lab = rgb_to_lab(arr)
    np.testing.assert_allclose(A[0].numpy(), lab[..., 0] / 50.0 - 1.0, atol=1e-6)
    np.testing.assert_allclose(B.permute(1, 2, 0).numpy(), lab[..., 1:] / 110.0, atol=1e-6)
    assert float(A.min()) >= -1.0 and float(A.max()) <= 1.0 and float(B.abs().max()) <= 1.0


def test_grey_images_have_no_colour_and_crop_flip_apply(make_opt, tmp_path):
    grey = np.repeat(np.linspace(0, 255, 40).astype(np.uint8)[None, :, None], 40, axis=0).repeat(3, axis=2)
    (tmp_path / "train").mkdir()
    Image.fromarray(grey).save(tmp_path / "train" / "g.png")
    ds = ColorizationDataset(_opt(make_opt, tmp_path, preprocess="crop", crop_size=16, isTrain=True, no_flip=False))
    item = ds[0]
    assert item["A"].shape == (1, 16, 16) and float(item["B"].abs().max()) < 1e-4
    ds.set_epoch(3)
    again = ColorizationDataset(_opt(make_opt, tmp_path, preprocess="crop", crop_size=16, isTrain=True,
                                     no_flip=False))
    again.set_epoch(3)
    assert torch.equal(ds[0]["A"], again[0]["A"])  # a pure function of (seed, epoch, index)


@pytest.mark.parametrize("field, value, match", [
    ("input_nc", 3, r"--input_nc 3 \(needs 1\)"),
    ("output_nc", 3, r"--output_nc 3 \(needs 2\)"),
    ("direction", "BtoA", r"--direction BtoA \(needs AtoB\)"),
])
def test_channel_and_direction_mismatch_is_a_clear_error(make_opt, tmp_path, field, value, match):
    _colour_image(tmp_path / "train" / "x.png")
    with pytest.raises(ValueError, match=match):
        ColorizationDataset(_opt(make_opt, tmp_path, **{field: value}))


def test_missing_folder_names_it(make_opt, tmp_path):
    with pytest.raises(ValueError, match=r"train does not exist.*colour"):
        ColorizationDataset(_opt(make_opt, tmp_path))


def test_option_defaults_and_loader(tmp_path):
    from options.train_options import TrainOptions

    for i in range(3):
        _colour_image(tmp_path / "train" / f"{i}.png", w=36, h=36, seed=i)
    opt = TrainOptions().parse(["--dataroot", str(tmp_path), "--dataset_mode", "colorization", "--model",
                                "pix2pix", "--netG", "resnet_6blocks", "--gpu_ids", "-1", "--load_size", "36",
                                "--crop_size", "32",
                                "--num_threads", "0", "--batch_size", "3"], save=False)
    assert (opt.input_nc, opt.output_nc, opt.direction) == (1, 2, "AtoB")
    loader = create_dataset(opt)
    loader.set_epoch(1)
    batch = next(iter(loader))
    assert batch["A"].shape == (3, 1, 32, 32) and batch["B"].shape == (3, 2, 32, 32)


def test_grey_training_folder_is_warned_about_once(make_opt, tmp_path, caplog):
    from data import colorization_dataset

    folder = tmp_path / "train"
    folder.mkdir()
    ramp = np.repeat(np.linspace(0, 255, 20).astype(np.uint8)[None, :, None], 12, axis=0)
    Image.fromarray(ramp.repeat(3, axis=2)).save(folder / "rgb_grey.png")  # RGB with R = G = B
    Image.fromarray(ramp[..., 0], "L").save(folder / "luma.png")
    Image.fromarray(ramp.repeat(3, axis=2)).save(folder / "jpeg_grey.jpg", quality=80)
    (folder / "zz_bad.png").write_text("not a picture")  # unreadable: left out, reported when loaded
    caplog.set_level("WARNING")
    for _ in range(2):
        ColorizationDataset(_opt(make_opt, tmp_path, isTrain=True))
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert f"all 3 readable images in {folder} are grey (no colour)" in warnings[0]
    assert "a grey image's a*b* are zero everywhere" in warnings[0]

    caplog.clear()
    ColorizationDataset(_opt(make_opt, tmp_path, isTrain=False))  # test.py colorizes grey images: fine
    assert colorization_dataset.warn_if_grey(str(folder), ColorizationDataset(_opt(make_opt, tmp_path)).paths)
    _colour_image(folder / "colour.png")
    assert not colorization_dataset.warn_if_grey(str(folder), ColorizationDataset(_opt(make_opt, tmp_path)).paths)
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_colour_training_folder_is_not_warned_about(make_opt, tmp_path, caplog):
    for i in range(3):
        _colour_image(tmp_path / "train" / f"{i}.png", seed=i)
    caplog.set_level("WARNING")
    ColorizationDataset(_opt(make_opt, tmp_path, isTrain=True))
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
