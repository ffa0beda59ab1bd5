"""Tests for util/pretrained.py and pixelize's --pretrained flag."""
from __future__ import annotations

import json

import pytest

from util import pretrained


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "STATE_DICT_DIR", tmp_path)
    (tmp_path / "toon_G_A.pth").write_bytes(b"x")
    (tmp_path / "toon_G_A.json").write_text(json.dumps({"cell": 2, "size": 64}))
    (tmp_path / "paired_G.pth").write_bytes(b"x")
    (tmp_path / "paired_G.json").write_text(json.dumps({"cell": "two"}))
    (tmp_path / "init.pth").write_bytes(b"x")  # a user's fine-tuning file: not shipped
    (tmp_path / "mine_G_A.pth").write_bytes(b"x")  # no sidecar: not shipped
    return tmp_path


def test_shipped_and_resolve(state_dir):
    assert pretrained.shipped() == {"paired": state_dir / "paired_G.pth", "toon": state_dir / "toon_G_A.pth"}
    assert pretrained.resolve("toon") == state_dir / "toon_G_A.pth"
    with pytest.raises(ValueError, match="no shipped generator named 'mine'; available: paired, toon"):
        pretrained.resolve("mine")


def test_sidecar_and_training_cell(state_dir, tmp_path):
    assert pretrained.sidecar(state_dir / "toon_G_A.pth") == {"cell": 2, "size": 64}
    assert pretrained.training_cell(state_dir / "toon_G_A.pth") == 2
    assert pretrained.training_cell(state_dir / "paired_G.pth") is None  # not an int
    assert pretrained.training_cell(state_dir / "init.pth") is None  # no sidecar
    (tmp_path / "bad_G_A.json").write_text("{not json")
    assert pretrained.sidecar(tmp_path / "bad_G_A.pth") == {}


def test_pixelize_flag(state_dir, capsys):
    from options import pixelize_options

    opt = pixelize_options.parse(["--pretrained", "toon"])
    assert opt.generator_path == str(state_dir / "toon_G_A.pth")
    with pytest.raises(SystemExit) as exc:
        pixelize_options.parse(["--pretrained", "nope"])
    assert exc.value.code == 2 and "no shipped generator named 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        pixelize_options.parse(["--pretrained", "toon", "--model_path", "x.pth"])
    assert exc.value.code == 2 and "drop --model_path/--name" in capsys.readouterr().err


def test_color_match_follows_the_sidecar_unless_told(state_dir):
    from options import pixelize_options

    (state_dir / "toon_G_A.json").write_text(json.dumps({"cell": 2, "color_match": True}))
    assert pixelize_options.parse(["--pretrained", "toon"]).color_match is True
    assert pixelize_options.parse(["--pretrained", "toon", "--no-color_match"]).color_match is False
    assert pixelize_options.parse(["--model_path", str(state_dir / "toon_G_A.pth")]).color_match is True
    assert pixelize_options.parse(["--pretrained", "paired"]).color_match is False
    assert pixelize_options.parse([]).color_match is None  # no generator: nothing to match
    (state_dir / "toon_G_A.json").write_text(json.dumps({"cell": 2, "keep_white": True}))
    opt = pixelize_options.parse(["--pretrained", "toon"])
    assert opt.keep_white is True and opt.color_match is False
    assert pixelize_options.parse(["--pretrained", "toon", "--no-keep_white"]).keep_white is False


@pytest.mark.parametrize("notes, field", [
    ({"cell": 2, "color_match": "false"}, "color_match"),
    ({"cell": 0}, "cell"), ({"cell": "2"}, "cell"), ({"cell": 2.5}, "cell"), ({"cell": 1_000_000_000}, "cell"),
    ({"cell": True}, "cell"), ({"cell": 2, "keep_tone": 1}, "keep_tone"), ({"cell": 2, "despeckle": None}, "despeckle"),
])
def test_a_malformed_field_is_dropped_with_a_warning_naming_it(state_dir, caplog, notes, field):
    (state_dir / "toon_G_A.json").write_text(json.dumps(notes))
    with caplog.at_level("WARNING", logger="util.pretrained"):
        facts = pretrained.sidecar(state_dir / "toon_G_A.pth")
    assert field not in facts
    assert f"field {field!r}" in caplog.text
    if field == "color_match":
        from options import pixelize_options

        assert pixelize_options.parse(["--pretrained", "toon"]).color_match is False  # "false" never turns it on


def test_only_a_small_regular_file_is_read(state_dir, caplog):
    import os

    deep = state_dir / "deep_G_A.json"
    deep.write_text("[" * 60000 + "]" * 60000)  # over the size cap
    big = state_dir / "nest_G_A.json"
    big.write_text("[" * 20000 + "]" * 20000)  # under the cap, too deep for the parser
    fifo = state_dir / "fifo_G_A.json"
    os.mkfifo(fifo)
    with caplog.at_level("WARNING", logger="util.pretrained"):
        assert pretrained.sidecar(state_dir / "deep_G_A.pth") == {}
        assert pretrained.sidecar(state_dir / "nest_G_A.pth") == {}
        assert pretrained.sidecar(state_dir / "fifo_G_A.pth") == {}  # returns at once, never opened
    assert "more than the 65536" in caplog.text and "RecursionError" in caplog.text
    assert "not a regular file" in caplog.text
