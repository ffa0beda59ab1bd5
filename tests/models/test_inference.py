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


# --------------------------------------------------------------------------- run_padded / pad_to_multiple exactly
class RecordShape(torch.nn.Module):
    """Identity that remembers the shape it was given."""

    def forward(self, x):
        self.seen = tuple(x.shape)
        return x


def test_run_padded_pads_to_the_multiple_and_crops_back_exactly():
    x = torch.arange(2 * 3 * 10 * 13, dtype=torch.float32).reshape(2, 3, 10, 13)
    net = RecordShape()
    y = run_padded(net, x, 4)
    assert net.seen == (2, 3, 12, 16)
    assert torch.equal(y, x)  # the padding is on the bottom/right and cropped away
    y = run_padded(net, x, 1)
    assert net.seen == (2, 3, 10, 13) and torch.equal(y, x)
    # what the network computes on the padded image, at the original pixels
    conv = torch.nn.Conv2d(3, 2, 3, padding=1)
    with torch.no_grad():
        want = conv(F.pad(x, (0, 3, 0, 2), mode="reflect"))[..., :10, :13]
        assert torch.equal(run_padded(conv, x, 4), want)


def test_pad_to_multiple_returns_the_input_itself_when_nothing_is_needed():
    x = torch.zeros(1, 1, 8, 12)
    padded, size = pad_to_multiple(x, 4)
    assert padded is x and size == (8, 12)


@pytest.mark.parametrize("shape, multiple, message", [
    ((3, 8, 8), 4, r"`x` must have shape \(N, C, H, W\), got \(3, 8, 8\)"),
    ((1, 3, 8, 8), 0, "`multiple` must be >= 1, got 0"),
])
def test_pad_to_multiple_refuses_bad_arguments(shape, multiple, message):
    with pytest.raises(ValueError, match=message):
        pad_to_multiple(torch.zeros(shape), multiple)


# --------------------------------------------------------------------------- load_generator: inference and overrides
@pytest.mark.parametrize("netG, ngf, norm, dropout, in_nc, out_nc", [
    ("resnet_6blocks", 4, "instance", False, 3, 3),
    ("resnet_6blocks", 4, "instance", True, 1, 3),
    ("resnet_9blocks", 8, "batch", False, 3, 3),
    ("unet_128", 4, "batch", False, 3, 1),
])
def test_load_generator_infers_the_architecture_and_reproduces_the_net(tmp_path, netG, ngf, norm, dropout, in_nc,
                                                                       out_nc):
    torch.manual_seed(0)
    src = networks.define_G(in_nc, out_nc, ngf, netG, norm, dropout).eval()
    save_state_dict(src.state_dict(), tmp_path / "g.pth")
    net, config = load_generator(tmp_path / "g.pth")
    assert config == {"netG": netG, "ngf": ngf, "norm": norm, "use_dropout": dropout, "input_nc": in_nc,
                      "output_nc": out_nc}
    assert not net.training and next(net.parameters()).device.type == "cpu"
    x = torch.rand(1, in_nc, 16, 16) * 2 - 1
    multiple = networks.required_multiple(netG)
    with torch.no_grad():
        assert torch.equal(run_padded(net, x, multiple), run_padded(src, x, multiple))


def test_load_generator_overrides_that_agree_or_are_none_are_accepted(tmp_path):
    save_state_dict(resnet().state_dict(), tmp_path / "g.pth")
    _, config = load_generator(tmp_path / "g.pth", overrides={"netG": "resnet_6blocks", "ngf": 4, "norm": None,
                                                              "input_nc": 3, "output_nc": None})
    assert config["ngf"] == 4 and config["norm"] == "instance"


def test_load_generator_override_contradicting_the_file_names_flag_file_and_content(tmp_path):
    path = tmp_path / "g.pth"
    save_state_dict(resnet().state_dict(), path)
    with pytest.raises(ValueError) as info:
        load_generator(path, overrides={"ngf": 64})
    assert str(info.value) == (f"--ngf 64 contradicts {path}, which holds a generator with ngf=4 (inferred: "
                               "netG=resnet_6blocks, ngf=4, norm=instance, use_dropout=False, input_nc=3, "
                               "output_nc=3); drop the flag")
    with pytest.raises(ValueError, match=f"^--netG unet_256 contradicts {path}, .*netG=resnet_6blocks"):
        load_generator(path, overrides={"netG": "unet_256"})
    with pytest.raises(ValueError, match="^--norm batch contradicts"):
        load_generator(path, overrides={"norm": "batch"})


def test_load_generator_unknown_override_lists_the_valid_ones(tmp_path):
    save_state_dict(resnet().state_dict(), tmp_path / "g.pth")
    with pytest.raises(ValueError) as info:
        load_generator(tmp_path / "g.pth", overrides={"ndf": 4})
    assert str(info.value) == ("unknown generator setting 'ndf'; valid: netG, ngf, norm, use_dropout, input_nc, "
                               "output_nc")


def test_load_generator_use_dropout_override_remaps_the_layout(tmp_path):
    src = resnet()  # saved without dropout
    save_state_dict(src.state_dict(), tmp_path / "g.pth")
    net, config = load_generator(tmp_path / "g.pth", overrides={"use_dropout": 1})
    assert config["use_dropout"] is True
    assert any(isinstance(m, torch.nn.Dropout) for m in net.modules())
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        assert torch.equal(net(x), src(x))  # eval: dropout is the identity, the weights moved with the layout
