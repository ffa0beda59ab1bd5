"""engine.jobs: inputs expanded into jobs, and the checks made before any write (no torch)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from engine.jobs import Job, check_output_folder, check_writable, collect_jobs, is_temp_file, is_video_file, load_source
from util.image import ImageLoadError, save_image
from util.samples import SAMPLE_PHOTOS, SAMPLES, load_sample


def touch(path: Path, data: bytes = b"x") -> Path:
    """A file with content (collect_jobs looks at names only; it does not decode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def table(jobs: list[Job], root: Path) -> list[tuple[str, str, str]]:
    """(source relative to root, rel, kind) per job."""
    return [(Path(j.source).relative_to(root).as_posix(), j.rel.as_posix(), j.kind) for j in jobs]


# --------------------------------------------------------------------------- names
@pytest.mark.parametrize("name, video", [("a.mp4", True), ("a.MOV", True), ("b.Mkv", True), ("c.webm", True),
                                         ("d.avi", True), ("anim.GIF", True), ("a.png", False),
                                         ("mp4", False), ("a.mp4.txt", False), ("dir/a.mp4", True)])
def test_is_video_file(name, video):
    assert is_video_file(name) is video
    assert is_video_file(Path(name)) is video


@pytest.mark.parametrize("name, temp", [(".a.k3j1.tmp.png", True), (".clip.abc.tmp.mux.mp4", True),
                                        ("sub/.b.x.tmp.jpg", True), (".a.tmp", False), ("a.x.tmp.png", False),
                                        (".hidden.png", False), ("a.tmp.png", False), ("x.png", False)])
def test_is_temp_file(name, temp):
    assert is_temp_file(name) is temp


# --------------------------------------------------------------------------- collect_jobs
def test_no_inputs_gives_the_sample_jobs():
    jobs, ignored = collect_jobs(None)
    assert [(j.source, j.rel, j.kind) for j in jobs] == [(f"sample:{n}", Path(n), "image") for n in SAMPLE_PHOTOS]
    assert ignored == []
    demo, _ = collect_jobs([], demo=True)
    assert [j.source for j in demo] == [f"sample:{n}" for n in SAMPLES]
    assert demo[0].label == "astronaut (sample photo)"
    assert Job("sample:mushroom", Path("mushroom"), "image").label == "mushroom (sample cartoon)"
    assert Job("in/a.png", Path("a"), "image").label == "in/a.png"


def test_one_folder_is_mirrored_sorted_and_non_images_are_listed(tmp_path):
    src = tmp_path / "in"
    for name in ("b.png", "a.JPG", "sub/c.webp", "sub/deeper/d.tif", "clip.mp4", "anim.gif", "notes.txt",
                 "sub/readme", "Z.bmp"):
        touch(src / name)
    jobs, ignored = collect_jobs([str(src)])
    assert table(jobs, src) == [
        ("Z.bmp", "Z", "image"),
        ("a.JPG", "a", "image"),
        ("anim.gif", "anim", "video"),
        ("b.png", "b", "image"),
        ("clip.mp4", "clip", "video"),
        ("sub/c.webp", "sub/c", "image"),
        ("sub/deeper/d.tif", "sub/deeper/d", "image"),
    ]
    assert ignored == [str(src / "notes.txt"), str(src / "sub" / "readme")]
    assert collect_jobs([str(src)]) == (jobs, ignored)  # deterministic


def test_several_inputs_get_a_sub_folder_each_and_files_land_at_the_top(tmp_path):
    touch(tmp_path / "one" / "a.png")
    touch(tmp_path / "one" / "s" / "b.png")
    touch(tmp_path / "two" / "a.png")
    touch(tmp_path / "loose" / "c.jpg")
    inputs = [str(tmp_path / "two"), str(tmp_path / "loose" / "c.jpg"), str(tmp_path / "one")]
    jobs, ignored = collect_jobs(inputs)
    assert table(jobs, tmp_path) == [  # in the order the inputs were given
        ("two/a.png", "two/a", "image"),
        ("loose/c.jpg", "c", "image"),
        ("one/a.png", "one/a", "image"),
        ("one/s/b.png", "one/s/b", "image"),
    ]
    assert ignored == []


def test_a_single_file_lands_at_the_top(tmp_path):
    touch(tmp_path / "deep" / "er" / "x.PNG")
    jobs, _ = collect_jobs([str(tmp_path / "deep" / "er" / "x.PNG")])
    assert [(j.rel, j.kind) for j in jobs] == [(Path("x"), "image")]


def test_a_named_non_image_file_is_ignored_not_refused(tmp_path):
    touch(tmp_path / "notes.txt")
    assert collect_jobs([str(tmp_path / "notes.txt")]) == ([], [str(tmp_path / "notes.txt")])


def test_output_tree_inside_the_input_is_left_out(tmp_path):
    src = tmp_path / "in"
    touch(src / "a.png")
    touch(src / "out" / "a.png")  # an earlier result
    touch(src / "out" / "sub" / "b.png")
    touch(src / "outer" / "c.png")  # a sibling whose name starts the same is still an input
    jobs, _ = collect_jobs([str(src)], output=src / "out")
    assert table(jobs, src) == [("a.png", "a", "image"), ("outer/c.png", "outer/c", "image")]
    everything, _ = collect_jobs([str(src)])  # without --output the tree is walked
    assert len(everything) == 4


def test_output_reached_through_a_symlink_is_still_left_out(tmp_path):
    src = tmp_path / "in"
    touch(src / "a.png")
    touch(src / "out" / "a.png")
    (tmp_path / "link").symlink_to(src, target_is_directory=True)
    jobs, _ = collect_jobs([str(src)], output=tmp_path / "link" / "out")
    assert table(jobs, src) == [("a.png", "a", "image")]


def test_same_stem_inputs_are_named_apart_and_the_same_name_twice_is_refused(tmp_path):
    a, b = touch(tmp_path / "x" / "pic.png"), touch(tmp_path / "y" / "pic.jpg")
    jobs, _ = collect_jobs([str(a), str(b)])
    assert [(j.source, j.rel) for j in jobs] == [(str(a), Path("pic")), (str(b), Path("pic_jpg"))]
    # the same name with two extensions in one folder: the first in name order keeps the stem
    touch(tmp_path / "z" / "q.png")
    touch(tmp_path / "z" / "q.webp")
    jobs, _ = collect_jobs([str(tmp_path / "z")])
    assert [j.rel for j in jobs] == [Path("q"), Path("q_webp")]
    # the same file name twice (two folders) cannot be told apart by its extension
    c = touch(tmp_path / "w" / "pic.png")
    with pytest.raises(ValueError) as info:
        collect_jobs([str(a), str(c)])
    assert str(info.value) == (f"--input: {a} and {c} would both write pic.*; "
                               "rename one or pass them in separate runs")
    # two folders with the same name
    touch(tmp_path / "p1" / "in" / "a.png")
    touch(tmp_path / "p2" / "in" / "a.png")
    with pytest.raises(ValueError, match=r"would both write in/a\.\*"):
        collect_jobs([str(tmp_path / "p1" / "in"), str(tmp_path / "p2" / "in")])


def test_a_missing_input_is_refused_naming_the_flag(tmp_path):
    touch(tmp_path / "a.png")
    with pytest.raises(ValueError) as info:
        collect_jobs([str(tmp_path / "a.png"), str(tmp_path / "nope")])
    assert str(info.value) == f"--input {tmp_path / 'nope'}: no such file or folder"


def test_a_symlink_loop_to_the_root_ends(tmp_path):
    src = tmp_path / "in"
    touch(src / "a.png")
    (src / "again").symlink_to(src, target_is_directory=True)
    jobs, _ = collect_jobs([str(src)])
    assert table(jobs, src) == [("a.png", "a", "image")]


# --------------------------------------------------------------------------- checks before writing
def test_check_output_folder(tmp_path):
    src = touch(tmp_path / "in" / "a.png").parent
    check_output_folder([str(src)], tmp_path / "out")  # does not exist yet: fine
    check_output_folder(None, tmp_path / "out")
    (tmp_path / "out").mkdir()
    check_output_folder([str(src)], tmp_path / "out")
    touch(tmp_path / "taken")
    with pytest.raises(ValueError) as info:
        check_output_folder([str(src)], tmp_path / "taken")
    assert str(info.value) == f"--output {tmp_path / 'taken'} is an existing file, not a folder; give a folder name"
    for output in (src, tmp_path / "in" / ".." / "in"):
        with pytest.raises(ValueError) as info:
            check_output_folder([str(tmp_path / "in" / "a.png"), str(src)], output)
        assert str(info.value) == (f"--output {output} is the input folder {src}: its outputs would replace or "
                                   "mix with the inputs; choose a separate folder")


def test_check_writable_creates_the_folder_and_leaves_nothing_behind(tmp_path):
    out = tmp_path / "a" / "b"
    check_writable(out)
    assert out.is_dir() and list(out.iterdir()) == []


def test_check_writable_with_a_file_in_the_way(tmp_path):
    touch(tmp_path / "file")
    with pytest.raises(OSError):
        check_writable(tmp_path / "file" / "out")
    with pytest.raises(OSError):
        check_writable(tmp_path / "file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
def test_check_writable_read_only_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(OSError):
            check_writable(ro)
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


# --------------------------------------------------------------------------- load_source
def test_load_source_of_a_sample():
    img = load_source(Job("sample:mushroom", Path("mushroom"), "image"), keep_alpha=True)
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3 and img.flags.c_contiguous
    np.testing.assert_array_equal(img, load_sample("mushroom"))


def test_load_source_of_a_file_and_max_pixels(tmp_path):
    rgba = np.arange(4 * 5 * 4, dtype=np.uint8).reshape(4, 5, 4)
    rgba[..., 3] = 255  # opaque: without keep_alpha the colours come back unchanged
    rgba[0, 0, 3] = 0
    save_image(tmp_path / "a.png", rgba)
    job = Job(str(tmp_path / "a.png"), Path("a"), "image")
    np.testing.assert_array_equal(load_source(job, keep_alpha=True), rgba)
    rgb = load_source(job, keep_alpha=False, max_pixels=20)
    np.testing.assert_array_equal(rgb[1:], rgba[1:, :, :3])
    np.testing.assert_array_equal(rgb[0, 1:], rgba[0, 1:, :3])
    assert rgb[0, 0].tolist() == [255, 255, 255]  # the transparent pixel over white
    with pytest.raises(ImageLoadError) as info:
        load_source(job, keep_alpha=True, max_pixels=19)
    assert str(info.value).startswith(f"{tmp_path / 'a.png'}: image is 5x4 = 20 pixels, above the limit of 19")
