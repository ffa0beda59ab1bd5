"""pixelize.py end to end: samples, folders, videos, bad inputs, generator stage, skip/overwrite, torchrun."""
from __future__ import annotations

import hashlib
import os
import struct
import subprocess
import zlib
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import pixelize
from conftest import ROOT, run_torchrun
from models import networks
from util.checkpoint import save_state_dict
from util.image import load_image, save_image


def colours(path: Path) -> int:
    arr = np.asarray(Image.open(path).convert("RGBA"))
    return len(np.unique(arr.reshape(-1, 4), axis=0))


def photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth, colourful synthetic photo (uint8 RGB)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([np.sin(6 * xx + rng.uniform(0, 6)), np.cos(5 * yy + rng.uniform(0, 6)),
                    np.sin(4 * (xx + yy))], axis=-1)
    return ((img + 1) * 127.5).astype(np.uint8)


def messages(err: str) -> list[str]:
    """The CLI's own lines on stderr (not logging noise from handlers of earlier tests)."""
    return [line for line in err.splitlines() if line.startswith(("error:", "warning:", "failed:", "interrupted:"))]


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------- samples and folders
def test_default_runs_on_the_sample_photos(tmp_path, capsys):
    out = tmp_path / "out"
    assert pixelize.main(["--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "post-processing only" in printed and "built-in sample photos" in printed
    assert f"pixelize: 4 done, 0 skipped, 0 failed (of 4 inputs) -> {out}" in printed
    sizes = {"astronaut": (512, 512), "chelsea": (451, 300), "coffee": (600, 400), "rocket": (640, 427)}
    for name, (w, h) in sizes.items():
        with Image.open(out / f"{name}.png") as im:
            assert im.mode == "P"  # indexed PNG: pixel-art editors expect it
            # --upscale defaults to --pixel_size 8: the output has the input's size (edge cells cut)
            assert im.size == (w, h)
        assert 2 <= colours(out / f"{name}.png") <= 24
    page = (out / "index.html").read_text()
    assert page.count("<img") == 8 and "inputs/astronaut.png" in page


def test_folder_tree_is_mirrored_with_exact_sizes_and_palettes(tmp_path):
    src = tmp_path / "in"
    save_image(src / "a.png", photo(40, 64))
    save_image(src / "sub" / "deep" / "B.JPG", photo(33, 21, 1))
    save_image(src / "c.WebP", photo(16, 16, 2))
    (src / "notes.txt").write_text("not an image")
    before = digest(src)
    out = tmp_path / "out"
    rc = pixelize.main(["--input", str(src), "--output", str(out), "--pixel_size", "4", "--upscale", "1",
                        "--n_colors", "5", "--save_palette", "gpl", "hex"])
    assert rc == 0
    assert digest(src) == before  # inputs never modified
    expected = {"a.png": (16, 10), "sub/deep/B.png": (6, 9), "c.png": (4, 4)}  # (w, h) = ceil(size / 4)
    for rel, size in expected.items():
        with Image.open(out / rel) as im:
            assert im.size == size
        assert colours(out / rel) <= 5
        assert (out / rel).with_suffix(".gpl").read_text().startswith("GIMP Palette")
        hex_lines = (out / rel).with_suffix(".hex").read_text().split()
        assert len(hex_lines) == colours(out / rel) or len(hex_lines) >= colours(out / rel)
    assert not (out / "notes.png").exists()


def test_fixed_palette_file_is_honoured(tmp_path):
    pal = tmp_path / "pal.hex"
    pal.write_text("000000\nffffff\nff0000\n0000ff\n")
    save_image(tmp_path / "in" / "x.png", photo(32, 32))
    out = tmp_path / "out"
    assert pixelize.main(["--input", str(tmp_path / "in"), "--output", str(out), "--palette", str(pal),
                          "--pixel_size", "4", "--upscale", "1"]) == 0
    used = {tuple(c) for c in np.asarray(Image.open(out / "x.png").convert("RGB")).reshape(-1, 3)}
    assert used <= {(0, 0, 0), (255, 255, 255), (255, 0, 0), (0, 0, 255)}


def test_alpha_is_kept(tmp_path):
    img = np.zeros((16, 16, 4), np.uint8)
    img[..., :3] = photo(16, 16)
    img[..., 3] = 255
    img[:, :8, 3] = 0  # left half transparent
    save_image(tmp_path / "in" / "s.png", img)
    out = tmp_path / "out"
    assert pixelize.main(["--input", str(tmp_path / "in"), "--output", str(out), "--pixel_size", "4",
                          "--upscale", "1", "--keep_alpha"]) == 0
    res = load_image(out / "s.png", keep_alpha=True)
    assert res.shape == (4, 4, 4)
    assert (res[:, :2, 3] == 0).all() and (res[:, 2:, 3] == 255).all()


def test_skip_and_overwrite(tmp_path, capsys):
    save_image(tmp_path / "in" / "x.png", photo(24, 24))
    args = ["--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"), "--pixel_size", "4"]
    assert pixelize.main(args) == 0
    target = tmp_path / "out" / "x.png"
    first = target.stat().st_mtime_ns
    capsys.readouterr()
    assert pixelize.main(args) == 0
    printed = capsys.readouterr().out
    assert "pixelize: 0 done, 1 skipped, 0 failed (of 1 inputs)" in printed
    assert f"skipped: {tmp_path / 'in' / 'x.png'}: output exists (use --overwrite to redo)" in printed
    assert target.stat().st_mtime_ns == first
    assert pixelize.main(args + ["--overwrite"]) == 0
    assert "pixelize: 1 done, 0 skipped, 0 failed" in capsys.readouterr().out


# --------------------------------------------------------------------------- bad inputs
def _png_bomb(path: Path, side: int = 40000) -> None:
    """A valid-looking PNG header claiming side x side pixels, a few bytes long."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


def make_bad_folder(src: Path) -> dict[str, str]:
    """Every kind of file a user's folder may hold; returns name -> expected failure reason (or '' for good)."""
    src.mkdir(parents=True)
    good = photo(24, 32)
    Image.fromarray(good).save(src / "ok.jpg", quality=90)
    buf = (src / "ok.jpg").read_bytes()
    (src / "corrupt.jpg").write_bytes(buf[: len(buf) // 3])
    (src / "text.png").write_text("definitely not a png")
    (src / "empty.png").write_bytes(b"")
    Image.fromarray(good[:1, :1]).save(src / "tiny.png")
    Image.fromarray((good[..., 0].astype(np.uint16) * 257)).save(src / "deep16.png")
    Image.fromarray(good[..., 1]).save(src / "grey.png")
    Image.fromarray(good).convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(src / "palette.png")
    Image.fromarray(good).convert("CMYK").save(src / "cmyk.jpg")
    rgba = np.dstack([good, np.full(good.shape[:2], 200, np.uint8)])
    Image.fromarray(rgba).save(src / "rgba.png")
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(good).save(src / "rotated.jpg", exif=exif.tobytes())
    _png_bomb(src / "bomb.png")
    (src / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(200))
    return {"corrupt.jpg": "corrupt or truncated image", "text.png": "not an image file",
            "empty.png": "empty file (0 bytes)", "bomb.png": "decompression bomb", "broken.mp4": "not a readable video"}


@pytest.mark.slow
def test_bad_input_folder_reports_each_file_and_processes_the_rest(tmp_path, capsys):
    src = tmp_path / "in"
    failures = make_bad_folder(src)
    before = digest(src)
    out = tmp_path / "out"
    rc = pixelize.main(["--input", str(src), "--output", str(out), "--pixel_size", "4"])
    captured = capsys.readouterr()
    assert rc == 1
    assert digest(src) == before
    err_lines = [line for line in captured.err.splitlines() if line.startswith("failed: ")]
    assert len(err_lines) == len(failures)
    for name, reason in failures.items():
        assert any(line.startswith(f"failed: {src / name}: ") and reason in line for line in err_lines), name
    assert "pixelize: 8 done, 0 skipped, 5 failed (of 13 inputs)" in captured.out
    for name in ("ok", "tiny", "deep16", "grey", "palette", "cmyk", "rgba", "rotated"):
        assert (out / f"{name}.png").is_file(), name
    with Image.open(out / "rotated.png") as im:
        assert im.size == (24, 32)  # EXIF orientation applied: 32x24 stored, shown rotated
    leftovers = [p.name for p in out.rglob("*") if ".tmp" in p.name]
    assert leftovers == []


# --------------------------------------------------------------------------- videos
def write_clip(path: Path, n: int = 12, size=(48, 64), fps: int = 10, audio: bool = False, seed: int = 0) -> None:
    """A static scene with sensor noise, optionally with a sine-wave audio track."""
    import imageio_ffmpeg

    h, w = size
    base = photo(h, w, seed).astype(float)
    rng = np.random.default_rng(seed)
    silent = path.with_suffix(".silent.mp4") if audio else path
    writer = imageio_ffmpeg.write_frames(str(silent), (w, h), fps=fps, codec="libx264", pix_fmt_out="yuv444p",
                                         macro_block_size=1, output_params=["-crf", "10"], ffmpeg_log_level="error")
    writer.send(None)
    for _ in range(n):
        writer.send(np.clip(base + rng.normal(0, 4, base.shape), 0, 255).astype(np.uint8))
    writer.close()
    if audio:
        ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
        subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-i", str(silent), "-f", "lavfi", "-i",
                        f"sine=frequency=440:duration={n / fps}", "-map", "0:v", "-map", "1:a", "-c:v", "copy",
                        "-c:a", "aac", "-shortest", str(path)], check=True)
        silent.unlink()


def probe(path: Path) -> str:
    import imageio_ffmpeg

    return subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                          capture_output=True, text=True).stderr


def read_frames(path: Path) -> list[np.ndarray]:
    from util.video import open_video

    return list(open_video(path).frames())


@pytest.mark.slow
def test_video_to_mp4_keeps_fps_audio_and_a_locked_palette(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    write_clip(src / "clip.mp4", n=12, fps=10, audio=True)
    out = tmp_path / "out"
    assert pixelize.main(["--input", str(src), "--output", str(out), "--pixel_size", "4", "--n_colors", "8"]) == 0
    info = probe(out / "clip.mp4")
    assert "Audio:" in info and "10 fps" in info
    frames = read_frames(out / "clip.mp4")
    assert len(frames) == 12 and frames[0].shape == (48, 64, 3)
    cells = [f[2::4, 2::4].astype(int) for f in frames]  # cell centres (H.264 blurs edges slightly)
    changed = [np.mean(np.abs(a - b).max(axis=-1) > 24) for a, b in pairwise(cells)]
    assert max(changed) <= 0.02  # a static noisy scene must not flicker
    assert (out / "previews").is_dir() and "clip" in (out / "index.html").read_text()


@pytest.mark.slow
def test_video_to_gif(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    write_clip(src / "clip.mp4", n=6, fps=5)
    out = tmp_path / "out"
    assert pixelize.main(["--input", str(src / "clip.mp4"), "--output", str(out), "--video_format", "gif",
                          "--pixel_size", "4", "--upscale", "1", "--n_colors", "6"]) == 0
    with Image.open(out / "clip.gif") as gif:
        assert gif.size == (16, 12)
        durations = []
        for i in range(gif.n_frames):  # identical consecutive frames are merged by the encoder
            gif.seek(i)
            durations.append(gif.info["duration"])
    assert sum(durations) == 6 * 200  # 5 fps kept
    frames = read_frames(out / "clip.gif")
    assert len({tuple(c) for f in frames for c in f.reshape(-1, 3)}) <= 6


# --------------------------------------------------------------------------- generator stage
def tiny_generator(path: Path, dropout: bool = False) -> None:
    torch.manual_seed(0)
    g = networks.define_G(3, 3, 4, "resnet_6blocks", "instance", dropout)
    save_state_dict(g.state_dict(), path)


@pytest.mark.slow
def test_generator_stage_from_model_path_and_name(tmp_path, capsys):
    src = tmp_path / "in"
    save_image(src / "odd.png", photo(37, 50))  # not a multiple of 4: padded for the net, cropped back
    save_image(src / "big.png", photo(80, 120, 3))
    tiny_generator(tmp_path / "g.pth")
    out = tmp_path / "out"
    rc = pixelize.main(["--input", str(src), "--output", str(out), "--model_path", str(tmp_path / "g.pth"),
                        "--pixel_size", "4", "--upscale", "1", "--gen_size", "64", "--color_match",
                        "--batch_size", "2"])
    assert rc == 0
    assert "post-processing only" not in capsys.readouterr().out
    with Image.open(out / "odd.png") as im:
        assert im.size == (13, 10)
    with Image.open(out / "big.png") as im:
        assert im.size == (30, 20)
    # --name: checkpoints/<name>/latest_net_G_A.pth of a CycleGAN run, no renaming
    tiny_generator(tmp_path / "ck" / "run" / "latest_net_G_A.pth", dropout=True)
    out2 = tmp_path / "out2"
    assert pixelize.main(["--input", str(src), "--output", str(out2), "--name", "run", "--checkpoints_dir",
                          str(tmp_path / "ck"), "--pixel_size", "4", "--no_dropout"]) == 0
    assert (out2 / "odd.png").is_file() and (out2 / "big.png").is_file()


def test_generator_flag_contradicting_the_file(tmp_path, capsys):
    tiny_generator(tmp_path / "g.pth")
    rc = pixelize.main(["--output", str(tmp_path / "o"), "--model_path", str(tmp_path / "g.pth"),
                        "--netG", "resnet_9blocks"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "--netG resnet_9blocks contradicts" in err and "resnet_6blocks" in err


class Payload:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


MARKER = ""


def test_pickled_pth_is_refused_without_running_it(tmp_path, capsys):
    global MARKER
    MARKER = str(tmp_path / "pwned")
    torch.save({"model.1.weight": Payload()}, tmp_path / "evil.pth")
    rc = pixelize.main(["--output", str(tmp_path / "o"), "--model_path", str(tmp_path / "evil.pth")])
    assert rc == 2
    assert "not a plain state dict" in capsys.readouterr().err
    assert not Path(MARKER).exists()


def test_missing_generator_file(tmp_path, capsys):
    rc = pixelize.main(["--output", str(tmp_path / "o"), "--name", "nope", "--checkpoints_dir", str(tmp_path)])
    assert rc == 2
    assert "latest_net_G_A.pth not found" in capsys.readouterr().err
    # a pix2pix run (one generator, latest_net_G.pth): the message names the fix
    (tmp_path / "p2p").mkdir()
    (tmp_path / "p2p" / "latest_net_G.pth").write_bytes(b"x")
    rc = pixelize.main(["--output", str(tmp_path / "o"), "--name", "p2p", "--checkpoints_dir", str(tmp_path)])
    assert rc == 2
    assert "latest_net_G.pth exists: a pix2pix run has one generator, pass --model_suffix ''" in \
        capsys.readouterr().err
    # a FIFO is not "not found"
    fifo = tmp_path / "g.pth"
    os.mkfifo(fifo)
    rc = pixelize.main(["--output", str(tmp_path / "o"), "--model_path", str(fifo)])
    assert rc == 2
    assert "is not a regular file (a folder, FIFO or device)" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--palette", "p.gpl", "--n_colors", "4"], "--palette fixes the colours"),
    (["--no_dropout", "--use_dropout"], "contradict"),
    (["--pixel_size", "0"], "must be >= 1"),
    (["--dither", "random"], "invalid choice"),
    (["--seed", "-5"], "argument --seed: must be >= 0, got -5"),
    (["--outline", "5"], "argument --outline: must be a number in [0, 1], got 5"),
    (["--outline", "-1"], "argument --outline: must be a number in [0, 1], got -1"),
    (["--outline", "nan"], "argument --outline: must be a number in [0, 1], got nan"),
    (["--device", "bogus"], "argument --device: must be a torch device such as cpu, cuda or cuda:1, got 'bogus'"),
    (["--max_pixels", "0"], "argument --max_pixels: must be >= 1"),
])
def test_bad_flags_exit_2(args, message, capsys):
    with pytest.raises(SystemExit) as info:
        pixelize.main(args)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_missing_input_path(tmp_path, capsys):
    assert pixelize.main(["--input", str(tmp_path / "nope"), "--output", str(tmp_path / "o")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


# --------------------------------------------------------------------------- torchrun sharding
@pytest.mark.slow
def test_torchrun_shards_give_the_same_files_as_one_process(tmp_path):
    src = tmp_path / "in"
    for i in range(5):
        save_image(src / f"img{i}.png", photo(24 + 4 * i, 32, i))
    tiny_generator(tmp_path / "g.pth")
    common = ["--input", str(src), "--pixel_size", "4", "--model_path", str(tmp_path / "g.pth"), "--no_html"]
    assert pixelize.main(common + ["--output", str(tmp_path / "one")]) == 0
    result = run_torchrun(ROOT / "pixelize.py", [*common, "--output", str(tmp_path / "two")], nproc=2)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert result.stdout.count("pixelize: 5 done, 0 skipped, 0 failed (of 5 inputs)") == 1
    assert digest(tmp_path / "one") == digest(tmp_path / "two")


def test_page_shows_a_png_preview_for_tiff_inputs(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(photo(16, 16)).save(src / "scan.tif")
    save_image(src / "web.png", photo(16, 16, 1))
    out = tmp_path / "out"
    assert pixelize.main(["--input", str(src), "--output", str(out), "--pixel_size", "4"]) == 0
    page = (out / "index.html").read_text()
    assert (out / "inputs" / "scan.png").is_file() and "inputs/scan.png" in page  # browsers can't show TIFF
    # PNG inputs get a preview copy too: the page links only files inside --output
    assert (out / "inputs" / "web.png").is_file() and 'src="inputs/web.png"' in page and '="/' not in page


# --------------------------------------------------------------------------- inputs are never overwritten
@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_output_onto_the_input_folder_is_refused_and_nothing_is_written(tmp_path, capsys, overwrite):
    src = tmp_path / "photos"
    save_image(src / "a.png", photo(24, 24))
    save_image(src / "sub" / "b.png", photo(16, 20, 1))
    before = digest(src)
    rc = pixelize.main(["--input", str(src), "--output", str(src), "--pixel_size", "4", *overwrite])
    assert rc == 2
    assert digest(src) == before  # no input replaced, nothing added (no index.html, no images/)
    assert sorted(p.name for p in src.rglob("*")) == ["a.png", "b.png", "sub"]
    err = messages(capsys.readouterr().err)
    assert len(err) == 1 and err[0].startswith("error: --output ") and str(src) in err[0]


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_single_file_whose_output_is_the_file_itself_is_refused(tmp_path, capsys, overwrite):
    src = tmp_path / "photos"
    save_image(src / "a.png", photo(24, 24))
    before = digest(src)
    rc = pixelize.main(["--input", str(src / "a.png"), "--output", str(src), "--pixel_size", "4", *overwrite])
    assert rc == 2
    assert digest(src) == before
    assert sorted(p.name for p in src.iterdir()) == ["a.png"]
    err = capsys.readouterr().err
    assert f"would overwrite the input {src / 'a.png'}" in err


def test_output_through_a_symlink_onto_an_input_is_refused(tmp_path, capsys):
    src = tmp_path / "photos"
    save_image(src / "a.png", photo(24, 24))
    (tmp_path / "link").symlink_to(src, target_is_directory=True)
    before = digest(src)
    rc = pixelize.main(["--input", str(src / "a.png"), "--output", str(tmp_path / "link"), "--overwrite"])
    assert rc == 2 and digest(src) == before
    assert "would overwrite the input" in capsys.readouterr().err


def test_palette_file_onto_an_input_is_refused(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(photo(24, 24)).save(src / "a.jpg")
    (src / "a.gpl").write_text("GIMP Palette\n")  # the user's own palette, given as an input too
    rc = pixelize.main(["--input", str(src / "a.jpg"), str(src / "a.gpl"), "--output", str(src),
                        "--save_palette", "gpl", "--overwrite"])
    assert rc == 2
    assert (src / "a.gpl").read_text() == "GIMP Palette\n"
    assert sorted(p.name for p in src.iterdir()) == ["a.gpl", "a.jpg"]
    assert f"would overwrite the input {src / 'a.gpl'}" in capsys.readouterr().err


# --------------------------------------------------------------------------- what the input walk takes
def test_output_inside_the_input_folder_is_not_processed_again(tmp_path, capsys):
    src = tmp_path / "in"
    save_image(src / "a.png", photo(24, 24))
    save_image(src / "sub" / "b.png", photo(16, 20, 1))
    args = ["--input", str(src), "--output", str(src / "out"), "--pixel_size", "4"]
    assert pixelize.main(args) == 0
    assert "2 done, 0 skipped, 0 failed (of 2 inputs)" in capsys.readouterr().out
    assert pixelize.main(args + ["--overwrite"]) == 0  # a rerun sees the same two inputs, not out/a.png
    assert "2 done, 0 skipped, 0 failed (of 2 inputs)" in capsys.readouterr().out
    assert not (src / "out" / "out").exists()
    written = sorted(p.relative_to(src / "out").as_posix() for p in (src / "out").rglob("*.png"))
    assert written == ["a.png", "inputs/a.png", "inputs/sub/b.png", "sub/b.png"]  # outputs + the page's previews


def test_temp_files_of_an_interrupted_run_are_not_inputs(tmp_path, capsys):
    from engine.jobs import collect_jobs, is_temp_file

    src = tmp_path / "in"
    save_image(src / "a.png", photo(24, 24))
    (src / ".a.k2j4_x9.tmp.png").write_bytes((src / "a.png").read_bytes())  # left by a kill -9
    (src / ".clip.abc.tmp.mux.mp4").write_bytes(b"partial")
    jobs, ignored = collect_jobs([str(src)])
    assert [j.source for j in jobs] == [str(src / "a.png")] and ignored == []
    assert is_temp_file(".x.1a2b.tmp.png") and not is_temp_file(".hidden.png") and not is_temp_file("a.tmp.png")


def test_symlinked_folders_are_followed_once_and_loops_end(tmp_path):
    from engine.jobs import collect_jobs

    real = tmp_path / "elsewhere"
    save_image(real / "x.png", photo(8, 8))
    src = tmp_path / "in"
    save_image(src / "a.png", photo(8, 8))
    (src / "linked").symlink_to(real, target_is_directory=True)
    (src / "linked_again").symlink_to(real, target_is_directory=True)  # the same folder twice
    (real / "loop").symlink_to(src, target_is_directory=True)  # and a cycle back to the root
    jobs, _ = collect_jobs([str(src)])
    sources = [Path(j.source).relative_to(src).as_posix() for j in jobs]
    assert sources == ["a.png", "linked/x.png"]


# --------------------------------------------------------------------------- nothing to do, environment problems
def test_nothing_to_process_exits_1(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert pixelize.main(["--input", str(tmp_path / "empty"), "--output", str(tmp_path / "o")]) == 1
    assert "error: nothing to process: --input" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("hi")
    assert pixelize.main(["--input", str(tmp_path / "notes.txt"), "--output", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "nothing to process" in err and "notes.txt" in err
    assert not (tmp_path / "o").exists()


def test_output_that_is_an_existing_file_is_a_flag_error(tmp_path, capsys):
    save_image(tmp_path / "in" / "a.png", photo(16, 16))
    (tmp_path / "taken").write_text("a file")
    assert pixelize.main(["--input", str(tmp_path / "in"), "--output", str(tmp_path / "taken")]) == 2
    err = messages(capsys.readouterr().err)
    assert err == [f"error: --output {tmp_path / 'taken'} is an existing file, not a folder; give a folder name"]


def test_unwritable_output_folder_gives_one_line_and_the_summary(tmp_path, capsys):
    save_image(tmp_path / "in" / "a.png", photo(16, 16))
    blocked = tmp_path / "file"
    blocked.write_text("x")  # a folder cannot be created under a file, whoever runs the test
    rc = pixelize.main(["--input", str(tmp_path / "in"), "--output", str(blocked / "out")])
    out, err = capsys.readouterr()
    assert rc == 1
    assert len(messages(err)) == 1
    assert messages(err)[0].startswith(f"error: --output {blocked / 'out'} is not writable (")
    assert f"pixelize: 0 done, 0 skipped, 1 failed (of 1 inputs) -> {blocked / 'out'}" in out


def test_full_disk_while_writing_reports_each_file_and_still_prints_the_summary(tmp_path, capsys, monkeypatch):
    import errno

    from engine import pixelize as pixelizer

    save_image(tmp_path / "in" / "a.png", photo(16, 16))
    save_image(tmp_path / "in" / "b.png", photo(16, 16, 1))

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pixelizer, "save_image", full)
    monkeypatch.setattr(pixelizer, "save_upscaled", full)
    monkeypatch.setattr("util.html.atomic_write_text", full)
    out = tmp_path / "out"
    rc = pixelize.main(["--input", str(tmp_path / "in"), "--output", str(out), "--pixel_size", "4"])
    printed, err = capsys.readouterr()
    assert rc == 1
    assert err.count("No space left on device") == 3  # two files and the page, one line each
    assert f"error: cannot write {out / 'index.html'} (No space left on device)" in err
    assert "Traceback" not in err
    assert "pixelize: 0 done, 0 skipped, 2 failed (of 2 inputs)" in printed


def test_no_empty_images_folder_in_the_output(tmp_path):
    save_image(tmp_path / "in" / "a.png", photo(16, 16))
    out = tmp_path / "out"
    assert pixelize.main(["--input", str(tmp_path / "in"), "--output", str(out), "--pixel_size", "4"]) == 0
    assert (out / "index.html").is_file() and not (out / "images").exists()


def test_generator_flags_without_a_generator_warn_once(tmp_path, capsys):
    save_image(tmp_path / "in" / "a.png", photo(16, 16))
    rc = pixelize.main(["--input", str(tmp_path / "in"), "--output", str(tmp_path / "o"), "--pixel_size", "4",
                        "--color_match", "--netG", "unet_256", "--device", "cpu", "--epoch", "5"])
    assert rc == 0
    err = capsys.readouterr().err
    assert err.count("warning:") == 1
    assert "--color_match, --netG, --device, --epoch only affect the generator stage" in err
    assert pixelize.main(["--input", str(tmp_path / "in"), "--output", str(tmp_path / "o")]) == 0
    assert "warning" not in capsys.readouterr().err


def test_outline_bounds_are_accepted(tmp_path):
    save_image(tmp_path / "in" / "a.png", photo(16, 16))
    for value in ("0", "1"):
        assert pixelize.main(["--input", str(tmp_path / "in"), "--output", str(tmp_path / value), "--pixel_size", "4",
                              "--outline", value, "--seed", "0"]) == 0


def test_device_that_is_not_there_is_a_flag_error(tmp_path, capsys):
    save_image(tmp_path / "in" / "a.png", photo(16, 16))
    tiny_generator(tmp_path / "g.pth")
    rc = pixelize.main(["--input", str(tmp_path / "in"), "--output", str(tmp_path / "o"), "--model_path",
                        str(tmp_path / "g.pth"), "--device", "cuda:7"])
    assert rc == 2
    err = messages(capsys.readouterr().err)
    assert len(err) == 1 and err[0].startswith("error: --device cuda:7: ")


def test_max_pixels_flag_sets_the_limit_for_images_and_gifs(tmp_path, capsys):
    src = tmp_path / "in"
    save_image(src / "small.png", photo(10, 10))
    save_image(src / "big.png", photo(12, 10))
    frames = [Image.fromarray(photo(12, 10, i)) for i in range(2)]
    frames[0].save(src / "anim.gif", save_all=True, append_images=frames[1:], duration=100)
    rc = pixelize.main(["--input", str(src), "--output", str(tmp_path / "o"), "--pixel_size", "2",
                        "--max_pixels", "100"])
    err = messages(capsys.readouterr().err)
    assert rc == 1
    assert sorted(err) == [
        f"failed: {src / 'anim.gif'}: image is 10x12 = 120 pixels, above the limit of 100 (possible decompression "
        "bomb); resize it first or raise --max_pixels",
        f"failed: {src / 'big.png'}: image is 10x12 = 120 pixels, above the limit of 100 (possible decompression "
        "bomb); resize it first or raise --max_pixels"]
    assert (tmp_path / "o" / "small.png").is_file()


# --------------------------------------------------------------------------- small inputs, GIFs, video errors
def test_image_smaller_than_the_cell_keeps_its_size(tmp_path):
    save_image(tmp_path / "in" / "small.png", photo(80, 120))
    out = tmp_path / "out"
    assert pixelize.main(["--input", str(tmp_path / "in"), "--output", str(out), "--pixel_size", "500"]) == 0
    with Image.open(out / "small.png") as im:
        assert im.size == (120, 80)


def _gif(path: Path, frames: list[np.ndarray], duration: int = 100) -> None:
    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=duration, loop=0)


@pytest.mark.slow
def test_animated_gif_smaller_than_the_cell_works_like_a_png(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    _gif(src / "small.gif", [photo(6, 6, i) for i in range(3)])
    out = tmp_path / "out"
    assert pixelize.main(["--input", str(src), "--output", str(out), "--video_format", "gif"]) == 0
    with Image.open(out / "small.gif") as gif:
        assert gif.size == (6, 6)


@pytest.mark.slow
def test_gif_transparency_is_kept_with_keep_alpha(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    frames = []
    for i in range(2):
        f = np.zeros((16, 16, 4), np.uint8)
        f[..., :3] = photo(16, 16, i)
        f[..., 3] = 255
        f[:, :8, 3] = 0  # left half transparent
        frames.append(f)
    _gif(src / "sprite.gif", frames)
    out = tmp_path / "out"
    assert pixelize.main(["--input", str(src), "--output", str(out), "--video_format", "gif", "--pixel_size", "4",
                          "--upscale", "1", "--keep_alpha"]) == 0
    with Image.open(out / "sprite.gif") as gif:
        for i in range(gif.n_frames):
            gif.seek(i)
            alpha = np.asarray(gif.convert("RGBA"))[..., 3]
            assert (alpha[:, :2] == 0).all() and (alpha[:, 2:] == 255).all()


@pytest.mark.slow
def test_a_failed_video_says_why_and_leaves_no_preview(tmp_path, capsys):
    import imageio_ffmpeg

    src = tmp_path / "in"
    src.mkdir()
    writer = imageio_ffmpeg.write_frames(str(src / "wide.mp4"), (2048, 8), fps=10, macro_block_size=1,
                                         ffmpeg_log_level="error")
    writer.send(None)
    for i in range(2):
        writer.send(photo(8, 2048, i))
    writer.close()
    data = (src / "wide.mp4").read_bytes()
    (src / "cut.mp4").write_bytes(data[: len(data) // 2])
    (src / "text.mp4").write_text("not a video at all")
    out = tmp_path / "out"
    rc = pixelize.main(["--input", str(src), "--output", str(out), "--pixel_size", "8", "--upscale", "80"])
    err = messages(capsys.readouterr().err)
    assert rc == 1
    assert sorted(err) == [
        f"failed: {src / 'cut.mp4'}: not a readable video: the file is truncated: its index (the MP4 'moov' atom) "
        "is missing, as after an interrupted download or recording",
        f"failed: {src / 'text.mp4'}: not a readable video: the data is not a video ffmpeg knows (not even the "
        "start of one)",
        f"failed: {src / 'wide.mp4'}: the output frames would be 20480x80, above the 16384 px per side that H.264 "
        "(MP4) allows; lower --upscale or use --video_format gif"]
    assert sorted(p.name for p in out.rglob("*")) == ["index.html"]


# --------------------------------------------------------------------------- tiny images through a generator
@pytest.mark.slow
def test_tiny_images_go_through_the_generator_with_the_others(tmp_path, capsys):
    src = tmp_path / "in"
    sizes = {"p1": (1, 1), "p2": (2, 2), "p3": (3, 3), "p4": (4, 4), "strip": (2, 300), "normal": (24, 32)}
    for name, (h, w) in sizes.items():
        save_image(src / f"{name}.png", photo(h, w))
    tiny_generator(tmp_path / "g.pth")
    out = tmp_path / "out"
    rc = pixelize.main(["--input", str(src), "--output", str(out), "--model_path", str(tmp_path / "g.pth"),
                        "--pixel_size", "4", "--batch_size", "3"])
    assert rc == 0, capsys.readouterr().err
    assert "pixelize: 6 done, 0 skipped, 0 failed (of 6 inputs)" in capsys.readouterr().out
    for name, (h, w) in sizes.items():
        with Image.open(out / f"{name}.png") as im:
            assert im.size == (w, h), name


def test_an_image_the_generator_cannot_take_fails_alone(tmp_path, capsys, monkeypatch):
    from engine import generator as pixelizer

    src = tmp_path / "in"
    for i in range(3):
        save_image(src / f"img{i}.png", photo(16, 12 + 4 * i, i))
    tiny_generator(tmp_path / "g.pth")
    real_call = pixelizer.GeneratorStage.__call__

    def picky(self, images):
        if any(im.shape[1] == 16 for im in images):
            raise RuntimeError("simulated: out of memory on this one")
        return real_call(self, images)

    monkeypatch.setattr(pixelizer.GeneratorStage, "__call__", picky)
    rc = pixelize.main(["--input", str(src), "--output", str(tmp_path / "out"), "--model_path",
                        str(tmp_path / "g.pth"), "--pixel_size", "4", "--batch_size", "3"])
    printed, err = capsys.readouterr()
    assert rc == 1
    assert messages(err) == [f"failed: {src / 'img1.png'}: the generator failed on this image "
                             "(simulated: out of memory on this one)"]
    assert "pixelize: 2 done, 0 skipped, 1 failed (of 3 inputs)" in printed


# --------------------------------------------------------------------------- Ctrl-C
def test_ctrl_c_stops_cleanly_with_the_summary_and_exit_130(tmp_path, capsys, interrupt_pixelize_at):
    src = tmp_path / "in"
    for i in range(6):
        save_image(src / f"img{i}.png", photo(16, 16, i))
    interrupt_pixelize_at("img2.png")
    out = tmp_path / "out"
    rc = pixelize.main(["--input", str(src), "--output", str(out), "--pixel_size", "4", "--workers", "1"])
    printed, err = capsys.readouterr()
    assert rc == 130
    assert "Traceback" not in err
    # a task already running when Ctrl-C came finishes and is counted; queued ones are dropped
    names = {p.name for p in out.glob("*.png")}
    assert {"img0.png", "img1.png"} <= names and "img2.png" not in names
    left = 6 - len(names)
    assert f"interrupted: {left} input(s) not processed; finished outputs are kept and a re-run with the same settings skips them (other settings redo them)" in err
    assert (f"pixelize: interrupted: {len(names)} done, 0 skipped, 0 failed, {left} not processed (of 6 inputs) "
            f"-> {out}") in printed
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]


@pytest.mark.slow
def test_a_real_sigint_gives_the_summary_and_130_without_a_traceback(tmp_path):
    import signal
    import sys
    import time

    src = tmp_path / "in"
    for i in range(40):
        save_image(src / f"img{i:02d}.png", photo(96, 96, i))
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, str(ROOT / "pixelize.py"), "--input", str(src), "--output", str(out),
                             "--pixel_size", "4"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        while not list(out.glob("*.png")) and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        printed, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    if proc.returncode == 0:
        pytest.skip("the run finished before the signal arrived")
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted:" in err
    done = len(list(out.glob("*.png")))
    left = 40 - done
    assert f"pixelize: interrupted: {done} done, 0 skipped, 0 failed, {left} not processed (of 40 inputs)" in printed
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]


@pytest.mark.parametrize("kind", ["nan", "discriminator", "empty"])
def test_unusable_generator_files_stop_with_one_line_naming_the_file(tmp_path, capsys, kind):
    save_image(tmp_path / "in" / "a.png", photo(16, 16))
    path = tmp_path / f"{kind}.pth"
    if kind == "nan":
        torch.manual_seed(0)
        sd = networks.define_G(3, 3, 4, "resnet_6blocks", "instance", False).state_dict()
        sd["model.1.weight"][0] = float("nan")
        save_state_dict(sd, path)
    elif kind == "discriminator":
        save_state_dict(networks.define_D(3, 4, "basic", 3, "instance").state_dict(), path)
    else:
        path.write_bytes(b"")
    rc = pixelize.main(["--input", str(tmp_path / "in"), "--output", str(tmp_path / "o"), "--model_path", str(path)])
    err = messages(capsys.readouterr().err)
    assert rc == 2
    assert len(err) == 1 and err[0].startswith("error: ") and str(path) in err[0]
    assert not (tmp_path / "o").exists()


def test_post_processing_alone_never_imports_torch(tmp_path):
    """torch alone costs ~0.7 GB of memory: a run without a generator must not load it."""
    import subprocess
    import sys

    from util.image import save_image

    save_image(tmp_path / "in" / "a.png", np.full((16, 16, 3), 90, np.uint8))
    code = ("import sys, pixelize; rc = pixelize.main(['--input', sys.argv[1], '--output', sys.argv[2]]); "
            "print(rc, 'torch' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "in"), str(tmp_path / "out")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.stdout.strip().splitlines()[-1] == "0 False", proc.stderr[-2000:]


def test_a_colorization_generator_is_refused_at_load_time(tmp_path, capsys):
    import torch

    from models import networks

    net = networks.define_G(1, 2, 4, "resnet_6blocks", "instance", False, "normal", 0.02)
    torch.save(net.state_dict(), tmp_path / "colorize.pth")
    rc = pixelize.main(["--output", str(tmp_path / "o"), "--model_path", str(tmp_path / "colorize.pth")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "2 output channels (a colorization generator" in err and "test.py --model colorization" in err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").glob("*.png"))


def test_notes_that_describe_another_architecture_are_warned(tmp_path, caplog):
    import json

    import torch

    from engine import pixelize as runner
    from models import networks
    from options import pixelize_options

    net = networks.define_G(3, 3, 4, "resnet_6blocks", "instance", False, "normal", 0.02)
    torch.save(net.state_dict(), tmp_path / "g.pth")
    (tmp_path / "g.json").write_text(json.dumps({"architecture": {"netG": "unet_256", "ngf": 4}}))
    opt = pixelize_options.parse(["--model_path", str(tmp_path / "g.pth"), "--output", str(tmp_path / "o")])
    with caplog.at_level("WARNING", logger="engine.pixelize"):
        stage = runner.load_generator_stage(opt)
    assert stage.config["netG"] == "resnet_6blocks"
    assert "its notes describe another architecture than its weights (netG: notes 'unet_256', weights " \
           "'resnet_6blocks')" in caplog.text
