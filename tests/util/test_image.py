"""util.image: the one conversion module, and loading every kind of file users have."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from util.image import ImageLoadError, is_image_file, load_image, save_image, to_pil, to_rgb, to_tensor, to_uint8


def test_uint8_tensor_round_trip_is_identity_for_every_value():
    values = np.arange(256, dtype=np.uint8)
    img = np.stack([values.reshape(16, 16)] * 3, axis=-1)  # (16, 16, 3)
    t = to_tensor(img)
    assert t.shape == (1, 3, 16, 16) and t.dtype == torch.float32
    assert float(t.min()) == -1.0 and float(t.max()) == 1.0
    assert np.array_equal(to_uint8(t)[0], img)


def test_to_tensor_batches_and_lists():
    batch = np.zeros((2, 4, 5, 3), np.uint8)
    batch[1] = 255
    t = to_tensor(batch)
    assert t.shape == (2, 3, 4, 5)
    assert torch.all(t[0] == -1) and torch.all(t[1] == 1)
    assert torch.equal(to_tensor([batch[0], batch[1]]), t)


def test_to_uint8_rounds_and_clips():
    t = torch.tensor([[[[-2.0, -1.0, 0.0, 0.003, 1.0, 1.2]]]])  # (1, 1, 1, 6)
    out = to_uint8(t)
    assert out.shape == (1, 1, 6, 1)
    assert out[0, 0, :, 0].tolist() == [0, 0, 128, 128, 255, 255]
    assert to_uint8(t[0]).shape == (1, 6, 1)  # CHW -> HWC


@pytest.mark.parametrize("bad, exc, match", [
    (np.zeros((4, 4, 3), np.float32), TypeError, "uint8"),
    (np.zeros((2, 2, 4, 4, 3), np.uint8), ValueError, "shape"),
])
def test_to_tensor_rejects_bad_input(bad, exc, match):
    with pytest.raises(exc, match=match):
        to_tensor(bad)


def test_to_uint8_rejects_non_tensor():
    with pytest.raises(TypeError, match="torch.Tensor"):
        to_uint8(np.zeros((1, 3, 2, 2)))


def test_is_image_file_any_case():
    assert is_image_file("a/B.JPG") and is_image_file("x.WebP") and is_image_file("y.Tiff")
    assert not is_image_file("notes.txt") and not is_image_file("movie.mp4")


def _write(tmp_path, name, pil, **kw):
    path = tmp_path / name
    pil.save(path, **kw)
    return path


def test_load_grayscale_palette_rgba_and_16bit(tmp_path):
    grey = Image.fromarray(np.full((3, 4), 77, np.uint8), mode="L")
    assert load_image(_write(tmp_path, "g.png", grey)).shape == (3, 4, 3)

    pal = Image.fromarray(np.array([[0, 1]], np.uint8), mode="P")
    pal.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    assert load_image(_write(tmp_path, "p.png", pal)).tolist() == [[[255, 0, 0], [0, 0, 255]]]

    rgba = np.zeros((1, 2, 4), np.uint8)
    rgba[0, 0] = (10, 20, 30, 255)  # opaque
    rgba[0, 1] = (10, 20, 30, 0)  # transparent -> white when alpha is dropped
    path = _write(tmp_path, "a.png", Image.fromarray(rgba, mode="RGBA"))
    assert load_image(path).tolist() == [[[10, 20, 30], [255, 255, 255]]]
    assert load_image(path, keep_alpha=True).tolist() == [[[10, 20, 30, 255], [10, 20, 30, 0]]]

    deep = Image.fromarray(np.array([[0, 65535]], np.uint16))
    out = load_image(_write(tmp_path, "d.png", deep))
    assert out[0, :, 0].tolist() == [0, 255]


def test_load_exif_rotation_and_cmyk(tmp_path):
    arr = np.zeros((2, 6, 3), np.uint8)  # wide image
    img = Image.fromarray(arr)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    path = tmp_path / "rot.jpg"
    img.save(path, exif=exif.tobytes())
    assert load_image(path).shape == (6, 2, 3)

    cmyk = Image.new("CMYK", (3, 2), (0, 255, 255, 0))  # red
    out = load_image(_write(tmp_path, "c.jpg", cmyk))
    assert out.shape == (2, 3, 3) and out[0, 0, 0] > 200 and out[0, 0, 1] < 60


@pytest.mark.parametrize("content, match", [
    (b"", "empty file"),
    (b"this is text, not a picture", "not an image"),
])
def test_load_refuses_non_images(tmp_path, content, match):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(ImageLoadError, match=match) as info:
        load_image(path)
    assert str(path) in str(info.value)


def test_load_refuses_truncated_jpeg(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buf.getvalue()[:300])
    with pytest.raises(ImageLoadError, match="corrupt or truncated"):
        load_image(path)


def test_load_refuses_decompression_bomb(tmp_path, monkeypatch):
    import util.image as image_mod

    path = _write(tmp_path, "big.png", Image.new("RGB", (100, 100)))
    monkeypatch.setattr(image_mod, "MAX_PIXELS", 50 * 50)
    with pytest.raises(ImageLoadError, match="decompression bomb"):
        load_image(path)


def test_save_image_indexed_png_and_alpha(tmp_path):
    img = np.zeros((2, 2, 4), np.uint8)
    img[0, 0] = (255, 0, 0, 255)
    img[1, 1] = (0, 255, 0, 128)
    path = tmp_path / "out" / "x.png"
    save_image(path, img)
    with Image.open(path) as pil:
        assert pil.mode == "P"
    assert np.array_equal(load_image(path, keep_alpha=True), img)
    assert not [p for p in path.parent.iterdir() if p.name != "x.png"]  # no temp files left


def test_save_image_many_colours_stays_rgb(tmp_path):
    img = np.arange(300 * 3, dtype=np.uint32).reshape(1, 300, 3)
    img = (img % 251).astype(np.uint8)
    img[0, :, 0] = np.arange(300) % 256
    img[0, :, 1] = np.arange(300) // 256
    path = tmp_path / "rgb.png"
    save_image(path, img)
    with Image.open(path) as pil:
        assert pil.mode == "RGB"
    assert np.array_equal(load_image(path), img)
    with pytest.raises(ValueError, match="at most 256 colours"):
        save_image(tmp_path / "forced.png", img, indexed=True)


def test_to_pil_and_to_rgb():
    grey = np.full((2, 3, 1), 9, np.uint8)
    assert to_pil(grey).mode == "L"
    assert to_rgb(grey).shape == (2, 3, 3)
    assert to_rgb(np.zeros((2, 3, 4), np.uint8)).shape == (2, 3, 3)


def _png_header(path, width: int, height: int) -> None:
    """A PNG whose header claims width x height pixels, a few bytes long (decoding it fails)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


def _outcome(path, **kwargs) -> str:
    try:
        load_image(path, **kwargs)
    except ImageLoadError as err:
        return "bomb" if "decompression bomb" in err.reason else "corrupt"
    return "ok"


def test_one_limit_for_every_image_the_project_max_pixels(tmp_path):
    from util.image import MAX_PIXELS

    # 95 MP is above Pillow's default limit (89 MP) but below the project's (268 MP): not a bomb
    _png_header(tmp_path / "95mp.png", 10000, 9500)
    _png_header(tmp_path / "bomb.png", 40000, 40000)
    _png_header(tmp_path / "edge.png", 16384, 16384)
    assert MAX_PIXELS == 16384 * 16384
    assert _outcome(tmp_path / "95mp.png") == "corrupt"  # got past the limit to decoding (the data is fake)
    assert _outcome(tmp_path / "edge.png") == "corrupt"  # exactly the limit is allowed
    assert _outcome(tmp_path / "bomb.png") == "bomb"
    with pytest.raises(ImageLoadError, match=r"40000x40000 = 1600000000 pixels, above the limit of 268435456"):
        load_image(tmp_path / "bomb.png")


def test_max_pixels_lowers_and_raises_the_limit(tmp_path):
    path = _write(tmp_path, "img.png", Image.new("RGB", (100, 80)))
    assert load_image(path, max_pixels=8000).shape == (80, 100, 3)
    with pytest.raises(ImageLoadError, match="above the limit of 7999"):
        load_image(path, max_pixels=7999)
    _png_header(tmp_path / "bomb.png", 40000, 40000)
    assert _outcome(tmp_path / "bomb.png", max_pixels=40000 * 40000) == "corrupt"


def test_limit_is_the_same_in_every_thread_and_touches_no_warning_filter(tmp_path):
    import warnings
    from concurrent.futures import ThreadPoolExecutor

    _png_header(tmp_path / "bomb.png", 40000, 40000)
    _png_header(tmp_path / "a95.png", 10000, 9500)
    good = _write(tmp_path, "good.png", Image.new("RGB", (64, 48)))
    paths = [tmp_path / "bomb.png", good, tmp_path / "a95.png", good, tmp_path / "bomb.png", good]
    filters = list(warnings.filters)
    with ThreadPoolExecutor(3) as pool:
        for _ in range(2):
            assert list(pool.map(_outcome, paths)) == ["bomb", "ok", "corrupt", "ok", "bomb", "ok"]
    assert warnings.filters == filters


@pytest.mark.parametrize("channels, colours, factor, crop", [
    (3, 5, 8, (37, 45)), (3, 5, 4, None), (4, 6, 3, (10, 7)), (3, 300, 2, (39, 40)), (3, 1, 5, (5, 5)),
])
def test_save_upscaled_writes_the_same_bytes_as_saving_the_enlarged_image(tmp_path, channels, colours, factor, crop):
    from util.image import save_upscaled

    rng = np.random.default_rng(colours)
    palette = rng.integers(0, 256, (colours, channels), dtype=np.uint8)
    if channels == 4:
        palette[0, 3] = 0
    native = palette[rng.integers(0, colours, (20, 20) if colours > 256 else (5, 6))]  # > 256: plain RGB PNG
    if crop is not None:
        native = native[: -(-crop[0] // factor), : -(-crop[1] // factor)]
    big = np.repeat(np.repeat(native, factor, axis=0), factor, axis=1)
    if crop is not None:
        big = big[: crop[0], : crop[1]]
    save_image(tmp_path / "plain.png", np.ascontiguousarray(big))
    save_upscaled(tmp_path / "fast.png", native, factor, crop)
    assert (tmp_path / "fast.png").read_bytes() == (tmp_path / "plain.png").read_bytes()
