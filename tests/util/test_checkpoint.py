"""util.checkpoint: atomic saves, weights-only loading, refusal of anything that is not a plain state dict."""
from __future__ import annotations

import pickle
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from torch import nn

from util.checkpoint import CheckpointError, load_checkpoint, load_state_dict_file, save_state_dict


def _touch(path: str) -> str:
    """Side effect a malicious checkpoint would trigger on unpickling."""
    Path(path).write_text("executed")
    return path


class Payload:
    """Unpickling this object calls _touch(marker): a stand-in for arbitrary code."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (_touch, (self.marker,))


def test_round_trip_of_a_state_dict_keeps_values_and_metadata(tmp_path):
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    sd = net.state_dict()
    path = save_state_dict(sd, tmp_path / "sub" / "latest_net_G.pth")
    assert path == tmp_path / "sub" / "latest_net_G.pth"
    loaded = load_state_dict_file(path)
    assert list(loaded) == list(sd)
    assert all(torch.equal(loaded[k], v) for k, v in sd.items())
    assert loaded._metadata == sd._metadata


def test_save_detaches_and_moves_nested_tensors(tmp_path):
    w = torch.ones(2, 3, requires_grad=True) * 2  # non-leaf with grad
    state = {"net": OrderedDict(a=w), "epoch": 3, "pools": [torch.zeros(1, 3, 2, 2)], "rng": (1, 2.5, None)}
    save_state_dict(state, tmp_path / "state.pth")
    loaded = load_checkpoint(tmp_path / "state.pth")
    assert loaded["epoch"] == 3 and loaded["rng"] == (1, 2.5, None)
    assert not loaded["net"]["a"].requires_grad and loaded["net"]["a"].device.type == "cpu"
    assert torch.equal(loaded["net"]["a"], torch.full((2, 3), 2.0))
    assert w.requires_grad  # the caller's tensor is untouched


def test_atomic_save_leaves_no_temp_files_and_failures_keep_old_file(tmp_path):
    dest = tmp_path / "G.pth"
    save_state_dict({"w": torch.zeros(2)}, dest)
    save_state_dict({"w": torch.ones(2)}, dest)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["G.pth"]
    with pytest.raises((pickle.PicklingError, AttributeError)):  # AttributeError: "Can't pickle local object"
        save_state_dict({"w": torch.zeros(1), "bad": lambda: None}, dest)  # lambdas cannot be pickled
    assert sorted(p.name for p in tmp_path.iterdir()) == ["G.pth"]
    assert torch.equal(load_state_dict_file(dest)["w"], torch.ones(2))


def test_pickled_object_is_refused_without_running_its_code(tmp_path):
    marker = tmp_path / "marker.txt"
    # sanity: plain unpickling really runs the payload
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.read_text() == "executed"
    marker.unlink()

    path = tmp_path / "evil.pth"
    torch.save({"model.1.weight": torch.zeros(1), "x": Payload(marker)}, path)
    with pytest.raises(ValueError, match=r"evil\.pth.*is not a plain state dict.*none of its code was run"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="not a plain state dict"):
        load_state_dict_file(path)
    assert not marker.exists()


def test_whole_pickled_module_is_refused(tmp_path):
    path = tmp_path / "whole_model.pth"
    torch.save(nn.Linear(2, 2), path)  # people sometimes save the module instead of its state dict
    with pytest.raises(ValueError, match=r"whole_model\.pth.*not a plain state dict"):
        load_state_dict_file(path)


@pytest.mark.parametrize("content,match", [
    (b"", r"is empty \(0 bytes\): the save or copy that made it did not finish"),
    (b"hello, this is not a checkpoint", r"not a readable PyTorch file: it is a text file starting with 'hello, this '"),
    (b"PK\x03\x04 broken zip", "not a readable PyTorch file: its zip archive is truncated or damaged"),
    (b"\x89PNG\r\n\x1a\n" + bytes(8), "not a PyTorch checkpoint: it is an image"),
    (bytes(range(64)), "unrecognised binary data"),
])
def test_non_torch_files_are_refused(tmp_path, content, match):
    path = tmp_path / "junk.pth"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=rf"junk\.pth.*{match}"):
        load_checkpoint(path)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_plain_pickle_is_refused(tmp_path):
    path = tmp_path / "plain.pkl"
    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ValueError, match=r"plain\.pkl"):
        load_checkpoint(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ValueError, match=r"'.*nope\.pth' does not exist"):
        load_checkpoint(tmp_path / "nope.pth")
    with pytest.raises(ValueError, match="is not a file"):
        load_state_dict_file(tmp_path)


@pytest.mark.parametrize("obj,match", [
    ({"state_dict": {"w": torch.zeros(1)}, "epoch": 3},
     r"not a plain state dict of tensors: 2 entries.*'state_dict': dict"),
    ({"model": OrderedDict(w=torch.zeros(1))}, r"extract it and save that alone"),
    ({"w": torch.zeros(1), "step": 5}, r"'step': int"),
    ({1: torch.zeros(1)}, r"1: Tensor"),
    ({}, "empty dict"),
    (torch.zeros(3), "holds a Tensor"),
    ([torch.zeros(1)], "holds a list"),
])
def test_state_dict_file_must_be_a_flat_tensor_dict(tmp_path, obj, match):
    path = tmp_path / "wrapped.pth"
    torch.save(obj, path)
    with pytest.raises(ValueError, match=rf"(?s)wrapped\.pth.*{match}"):
        load_state_dict_file(path)


def test_map_location_is_honoured(tmp_path):
    save_state_dict({"w": torch.arange(3.0)}, tmp_path / "w.pth")
    loaded = load_state_dict_file(tmp_path / "w.pth", map_location="meta")
    assert loaded["w"].device.type == "meta"


def test_truncated_checkpoint_says_so(tmp_path):
    path = tmp_path / "cut.pth"
    torch.save({"w": torch.ones(100)}, path)
    path.write_bytes(path.read_bytes()[:120])  # a save or copy interrupted half-way
    with pytest.raises(CheckpointError, match=r"cut\.pth' is not a readable PyTorch file: its zip archive is "
                                              r"truncated or damaged .*\(torch: RuntimeError: "):
        load_checkpoint(path)
