"""Tests for engine/pixelize.py's setup steps: the settings record built from the flags, and the plan."""
from __future__ import annotations

import numpy as np
import pytest

import postprocess
from engine import pixelize as engine
from options import pixelize_options
from util.cli import FlagError
from util.image import save_image


def test_settings_from_options_builds_one_validated_record(tmp_path):
    pal = tmp_path / "p.hex"
    pal.write_text("000000\nffffff\nff0000\n")
    opt = pixelize_options.parse(["--pixel_size", "5", "--palette", str(pal), "--dither", "ordered",
                                  "--outline", "0.25", "--saturation", "1.5", "--seed", "3"])
    settings = engine.settings_from_options(opt)
    assert isinstance(settings, postprocess.PixelArtSettings)
    assert (settings.pixel_size, settings.n_colors, settings.dither, settings.outline, settings.saturation,
            settings.contrast, settings.keep_alpha, settings.seed) == (5, None, "ordered", 0.25, 1.5, 1.0, False, 3)
    assert settings.palette.tolist() == [[0, 0, 0], [255, 255, 255], [255, 0, 0]]  # the file, read once
    assert settings.validate() == settings


def test_no_outline_flag_means_outline_off():
    assert engine.settings_from_options(pixelize_options.parse([])).outline == 0.0


@pytest.mark.parametrize("content, fragment", [
    (None, "palette file not found"),
    ("garbage\n", "a .gpl file must start with 'GIMP Palette'"),
])
def test_a_bad_palette_file_is_a_flag_error_naming_it(tmp_path, content, fragment):
    pal = tmp_path / "bad.gpl"
    if content is not None:
        pal.write_text(content)
    opt = pixelize_options.parse(["--palette", str(pal)])
    with pytest.raises(FlagError) as info:
        engine.settings_from_options(opt)
    assert str(info.value).startswith(f"--palette {pal}")
    assert fragment in str(info.value) and "give a .gpl, .hex, .pal or .png palette file" in str(info.value)


def test_a_bad_palette_stops_pixelize_with_status_2_before_writing(tmp_path, capsys):
    import pixelize

    save_image(tmp_path / "in" / "a.png", np.full((16, 16, 3), 90, np.uint8))
    out = tmp_path / "out"
    rc = pixelize.main(["--input", str(tmp_path / "in"), "--output", str(out), "--palette", str(tmp_path / "x.gpl")])
    assert rc == 2
    assert f"error: --palette {tmp_path / 'x.gpl'}: palette file not found" in capsys.readouterr().err
    assert not out.exists()


def test_plan_lists_jobs_and_carries_the_settings(tmp_path):
    save_image(tmp_path / "in" / "b.png", np.full((8, 8, 3), 10, np.uint8))
    save_image(tmp_path / "in" / "a.png", np.full((8, 8, 3), 20, np.uint8))
    (tmp_path / "in" / "notes.txt").write_text("not an image")
    opt = pixelize_options.parse(["--input", str(tmp_path / "in"), "--output", str(tmp_path / "out"),
                                  "--pixel_size", "4"])
    settings = engine.settings_from_options(opt)
    plan = engine.plan(opt, settings)
    assert [j.rel.as_posix() for j in plan.jobs] == ["a", "b"]
    assert plan.ignored == [str(tmp_path / "in" / "notes.txt")]
    assert plan.pixelizer.settings is settings


def test_plan_refuses_an_output_that_is_the_input_folder(tmp_path):
    save_image(tmp_path / "in" / "a.png", np.full((8, 8, 3), 20, np.uint8))
    opt = pixelize_options.parse(["--input", str(tmp_path / "in"), "--output", str(tmp_path / "in")])
    with pytest.raises(FlagError, match="is the input folder"):
        engine.plan(opt)


def test_generator_flags_given_lists_only_changed_generator_flags():
    parser = pixelize_options.make_parser()
    opt = pixelize_options.parse(["--netG", "unet_256", "--ngf", "32", "--pixel_size", "4"])
    defaults = {dest: parser.get_default(dest) for dest in vars(opt)}
    assert engine.generator_flags_given(opt, defaults) == ["--netG", "--ngf"]
    assert engine.load_generator_stage(opt) is None  # no --name/--model_path/--pretrained: no generator
