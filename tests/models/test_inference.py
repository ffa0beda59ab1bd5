"""models.inference: any image size through a generator, and refusing unusable generator files."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from models import networks
from models.inference import MIN_SIDE, load_generator, pad_to_multiple, run_padded
from util.checkpoint import save_state_dict


def resnet(ngf: int = 4) -> torch.nn.Module:
    torch.manual_seed(0)
    return networks.define_G(3, 3, ngf, "resnet_6blocks", "instance", False).eval()


TINY = [(1, 1), (2, 2), (3, 3), (4, 4), (2, 300), (300, 2), (1, 7), (4, 9)]


@pytest.mark.parametrize("h, w", TINY)
def test_tiny_images_run_through_a_resnet_generator(h, w):
    net = resnet()
    x = torch.rand(2, 3, h, w) * 2 - 1
    with torch.inference_mode():
        y = run_padded(net, x, networks.required_multiple("resnet_6blocks"))
    assert y.shape == (2, 3, h, w)
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("h, w", [(1, 1), (3, 3), (2, 300)])
def test_tiny_images_run_through_a_unet_generator(h, w):
    torch.manual_seed(0)
    net = networks.define_G(3, 3, 4, "unet_128", "instance", False).eval()
    with torch.inference_mode():
        y = run_padded(net, torch.zeros(1, 3, h, w), networks.required_multiple("unet_128"))
    assert y.shape == (1, 3, h, w)


def test_tiny_inputs_are_padded_to_the_minimum_side_by_replication():
    x = torch.arange(6, dtype=torch.float32).reshape(1, 1, 2, 3)
    padded, size = pad_to_multiple(x, 4)
    assert size == (2, 3) and padded.shape == (1, 1, MIN_SIDE, MIN_SIDE)
    assert torch.equal(padded, F.pad(x, (0, MIN_SIDE - 3, 0, MIN_SIDE - 2), mode="replicate"))


@pytest.mark.parametrize("h, w", [(5, 5), (8, 8), (37, 50), (64, 64), (6, 130)])
def test_images_of_usual_sizes_are_padded_exactly_as_before(h, w):
    """From 5 px up nothing changes: reflection up to the next multiple of 4."""
    x = torch.rand(1, 3, h, w)
    padded, size = pad_to_multiple(x, 4)
    ph, pw = math.ceil(h / 4) * 4, math.ceil(w / 4) * 4
    expected = x if (ph, pw) == (h, w) else F.pad(x, (0, pw - w, 0, ph - h), mode="reflect")
    assert size == (h, w) and torch.equal(padded, expected)


# --------------------------------------------------------------------------- loading
def test_nan_or_inf_weights_are_refused_naming_the_file_and_the_tensor(tmp_path):
    sd = resnet().state_dict()
    key = "model.1.weight"
    sd[key] = sd[key].clone()
    sd[key][0, 0, 0, 0] = float("nan")
    save_state_dict(sd, tmp_path / "nan.pth")
    with pytest.raises(ValueError, match=rf"{tmp_path / 'nan.pth'}: .*not finite.*{key}"):
        load_generator(tmp_path / "nan.pth")
    sd[key][0, 0, 0, 0] = float("inf")
    save_state_dict(sd, tmp_path / "inf.pth")
    with pytest.raises(ValueError, match="not finite"):
        load_generator(tmp_path / "inf.pth")


def test_unreadable_files_get_one_line_naming_the_file(tmp_path):
    good = tmp_path / "g.pth"
    save_state_dict(resnet().state_dict(), good)
    data = good.read_bytes()
    (tmp_path / "empty.pth").write_bytes(b"")
    (tmp_path / "cut.pth").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.pth").write_bytes(b"e" * 100)
    (tmp_path / "bytes.pth").write_bytes(bytes(range(256)))
    for name in ("empty.pth", "cut.pth", "text.pth", "bytes.pth"):
        with pytest.raises(ValueError) as info:
            load_generator(tmp_path / name)
        message = str(info.value)
        assert str(tmp_path / name) in message and "\n" not in message, message


def test_a_discriminator_given_as_a_generator_is_named_as_such(tmp_path):
    torch.manual_seed(0)
    d = networks.define_D(3, 4, "basic", 3, "instance")
    save_state_dict(d.state_dict(), tmp_path / "latest_net_D_A.pth")
    with pytest.raises(ValueError) as info:
        load_generator(tmp_path / "latest_net_D_A.pth")
    message = str(info.value)
    assert message.startswith(f"generator file {tmp_path / 'latest_net_D_A.pth'}: ")
    assert "discriminator" in message and "net_G" in message
