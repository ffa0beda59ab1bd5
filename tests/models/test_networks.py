"""Networks, losses, init and schedulers against the reference layouts in docs/compatibility.md.

The expected state-dict layouts below are written from the documented layer tables (indices,
bias rule, norm keys), not by dumping our modules; test_compat.py reuses them to fabricate
reference-format checkpoints.
"""
from __future__ import annotations

import math
import random
from collections import OrderedDict
from itertools import pairwise
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from models import networks
from models.networks import (
    DISCRIMINATORS,
    GAN_MODES,
    GENERATORS,
    INIT_TYPES,
    LR_POLICIES,
    NORMS,
    GANLoss,
    NLayerDiscriminator,
    PixelDiscriminator,
    ResnetGenerator,
    UnetGenerator,
    cal_gradient_penalty,
    define_D,
    define_G,
    get_norm_layer,
    get_scheduler,
    init_weights,
    required_multiple,
)

BN_SUFFIXES = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


# ----------------------------------------------------------------------------------------------
# Expected layouts, from docs/compatibility.md (shared with test_compat.py)
# ----------------------------------------------------------------------------------------------

def _conv(out: OrderedDict, name: str, shape: tuple[int, ...], bias: bool, bias_channels: int) -> None:
    out[f"{name}.weight"] = shape
    if bias:
        out[f"{name}.bias"] = (bias_channels,)


def _norm(out: OrderedDict, name: str, channels: int, norm: str) -> None:
    """Batch/syncbatch norms carry 5 entries; instance (affine=False, no stats) and none carry none."""
    if norm in ("batch", "syncbatch"):
        for suffix in BN_SUFFIXES:
            out[f"{name}.{suffix}"] = () if suffix == "num_batches_tracked" else (channels,)


def resnet_layout(n_blocks: int, norm: str, dropout: bool, ngf: int = 64, in_nc: int = 3, out_nc: int = 3):
    """ResnetGenerator keys -> shapes; see docs/compatibility.md (ConvTranspose weights are [in, out, k, k])."""
    bias = norm == "instance"
    out: OrderedDict = OrderedDict()
    _conv(out, "model.1", (ngf, in_nc, 7, 7), bias, ngf)
    _norm(out, "model.2", ngf, norm)
    _conv(out, "model.4", (2 * ngf, ngf, 3, 3), bias, 2 * ngf)
    _norm(out, "model.5", 2 * ngf, norm)
    _conv(out, "model.7", (4 * ngf, 2 * ngf, 3, 3), bias, 4 * ngf)
    _norm(out, "model.8", 4 * ngf, norm)
    second = 6 if dropout else 5
    for b in range(10, 10 + n_blocks):
        _conv(out, f"model.{b}.conv_block.1", (4 * ngf, 4 * ngf, 3, 3), bias, 4 * ngf)
        _norm(out, f"model.{b}.conv_block.2", 4 * ngf, norm)
        _conv(out, f"model.{b}.conv_block.{second}", (4 * ngf, 4 * ngf, 3, 3), bias, 4 * ngf)
        _norm(out, f"model.{b}.conv_block.{second + 1}", 4 * ngf, norm)
    n = n_blocks
    _conv(out, f"model.{10 + n}", (4 * ngf, 2 * ngf, 3, 3), bias, 2 * ngf)
    _norm(out, f"model.{11 + n}", 2 * ngf, norm)
    _conv(out, f"model.{13 + n}", (2 * ngf, ngf, 3, 3), bias, ngf)
    _norm(out, f"model.{14 + n}", ngf, norm)
    _conv(out, f"model.{17 + n}", (out_nc, ngf, 7, 7), True, out_nc)
    return out


def unet_layout(num_downs: int, norm: str, ngf: int = 64, in_nc: int = 3, out_nc: int = 3):
    """UnetGenerator keys -> shapes: nested blocks, outermost first (docs/compatibility.md)."""
    bias = norm == "instance"
    # (outer_nc, inner_nc) per level, outermost (level 0) to innermost (level num_downs - 1)
    levels = [(out_nc, ngf), (ngf, 2 * ngf), (2 * ngf, 4 * ngf), (4 * ngf, 8 * ngf)]
    levels += [(8 * ngf, 8 * ngf)] * (num_downs - 4)
    out: OrderedDict = OrderedDict()

    def block(level: int, prefix: str) -> None:
        outer, inner = levels[level]
        if level == 0:  # outermost: [0 conv, 1 sub, 2 ReLU, 3 convT(bias), 4 Tanh]
            _conv(out, prefix + "0", (inner, in_nc, 4, 4), bias, inner)
            block(1, prefix + "1.model.")
            _conv(out, prefix + "3", (2 * inner, outer, 4, 4), True, outer)
        elif level == num_downs - 1:  # innermost: [0 LReLU, 1 conv, 2 ReLU, 3 convT, 4 norm]
            _conv(out, prefix + "1", (inner, outer, 4, 4), bias, inner)
            _conv(out, prefix + "3", (inner, outer, 4, 4), bias, outer)
            _norm(out, prefix + "4", outer, norm)
        else:  # middle: [0 LReLU, 1 conv, 2 norm, 3 sub, 4 ReLU, 5 convT, 6 norm, (7 Dropout)]
            _conv(out, prefix + "1", (inner, outer, 4, 4), bias, inner)
            _norm(out, prefix + "2", inner, norm)
            block(level + 1, prefix + "3.model.")
            _conv(out, prefix + "5", (2 * inner, outer, 4, 4), bias, outer)
            _norm(out, prefix + "6", outer, norm)

    block(0, "model.model.")
    return out


def nlayer_layout(n_layers: int, norm: str, ndf: int = 64, in_nc: int = 3):
    """NLayerDiscriminator keys -> shapes (docs/compatibility.md): convs at 0, 3n-1 (n=1..L), final at 3L+2."""
    bias = norm == "instance"
    out: OrderedDict = OrderedDict()
    _conv(out, "model.0", (ndf, in_nc, 4, 4), True, ndf)
    for n in range(1, n_layers + 1):
        c_in, c_out = ndf * min(2 ** (n - 1), 8), ndf * min(2 ** n, 8)
        _conv(out, f"model.{3 * n - 1}", (c_out, c_in, 4, 4), bias, c_out)
        _norm(out, f"model.{3 * n}", c_out, norm)
    _conv(out, f"model.{3 * n_layers + 2}", (1, ndf * min(2 ** n_layers, 8), 4, 4), True, 1)
    return out


def pixel_layout(norm: str, ndf: int = 64, in_nc: int = 3):
    """PixelDiscriminator keys -> shapes; attribute ``net``; final conv follows the bias rule."""
    bias = norm == "instance"
    out: OrderedDict = OrderedDict()
    _conv(out, "net.0", (ndf, in_nc, 1, 1), True, ndf)
    _conv(out, "net.2", (2 * ndf, ndf, 1, 1), bias, 2 * ndf)
    _norm(out, "net.3", 2 * ndf, norm)
    _conv(out, "net.5", (1, 2 * ndf, 1, 1), bias, 1)
    return out


def generator_layout(netG: str, norm: str, dropout: bool, ngf: int = 64, in_nc: int = 3, out_nc: int = 3):
    if netG.startswith("resnet_"):
        return resnet_layout(int(netG[len("resnet_"):-len("blocks")]), norm, dropout, ngf, in_nc, out_nc)
    return unet_layout({"unet_256": 8, "unet_128": 7}[netG], norm, ngf, in_nc, out_nc)


def discriminator_layout(netD: str, n_layers: int, norm: str, ndf: int = 64, in_nc: int = 3):
    if netD == "pixel":
        return pixel_layout(norm, ndf, in_nc)
    return nlayer_layout(3 if netD == "basic" else n_layers, norm, ndf, in_nc)


def shapes_of(net: nn.Module):
    return OrderedDict((k, tuple(v.shape)) for k, v in net.state_dict().items())


def n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


# ----------------------------------------------------------------------------------------------
# Keys, counts, parameter counts (ngf=64, built on the meta device: no memory, no init cost)
# ----------------------------------------------------------------------------------------------

G_COMBOS = [(g, n, d) for g in GENERATORS for n in ("instance", "batch", "none") for d in (False, True)]

DOCUMENTED_KEY_COUNTS = {
    ("resnet_9blocks", "instance"): 48, ("resnet_9blocks", "batch"): 140,
    ("resnet_6blocks", "instance"): 36, ("resnet_6blocks", "batch"): 104,
    ("unet_256", "instance"): 32, ("unet_256", "batch"): 82,
    ("unet_128", "instance"): 28, ("unet_128", "batch"): 70,
}
DOCUMENTED_PARAMS = {
    ("resnet_9blocks", "instance"): 11_378_179, ("resnet_9blocks", "batch"): 11_383_427,
    ("resnet_6blocks", "instance"): 7_837_699, ("resnet_6blocks", "batch"): 7_841_411,
    ("unet_256", "instance"): 54_409_603, ("unet_256", "batch"): 54_413_955,
    ("unet_128", "instance"): 41_825_667, ("unet_128", "batch"): 41_828_995,
}


@pytest.mark.parametrize("netG,norm,dropout", G_COMBOS)
def test_generator_keys_and_shapes_match_reference_layout(netG, norm, dropout):
    with torch.device("meta"):
        net = define_G(3, 3, 64, netG, norm, dropout)
    expected = generator_layout(netG, norm, dropout)
    assert list(shapes_of(net).items()) == list(expected.items())
    if (netG, norm) in DOCUMENTED_KEY_COUNTS:
        assert len(expected) == DOCUMENTED_KEY_COUNTS[(netG, norm)]
        assert n_params(net) == DOCUMENTED_PARAMS[(netG, norm)]


def test_documented_example_keys():
    with torch.device("meta"):
        r9 = shapes_of(define_G(3, 3, 64, "resnet_9blocks", "instance", False))
        r9d = shapes_of(define_G(3, 3, 64, "resnet_9blocks", "instance", True))
        r6 = shapes_of(define_G(3, 3, 64, "resnet_6blocks", "instance", False))
        u256 = shapes_of(define_G(3, 3, 64, "unet_256", "instance", False))
    assert r9["model.19.weight"] == (256, 128, 3, 3)
    assert "model.26.bias" in r9 and "model.10.conv_block.5.weight" in r9
    assert "model.10.conv_block.6.weight" in r9d and "model.10.conv_block.5.weight" not in r9d
    assert "model.16.weight" in r6 and "model.19.weight" in r6 and "model.23.bias" in r6
    assert u256["model.model.0.weight"] == (64, 3, 4, 4)
    assert u256["model.model.1.model.1.weight"] == (128, 64, 4, 4)
    inner = "model.model.1" + ".model.3" * 6
    assert u256[inner + ".model.1.weight"] == (512, 512, 4, 4)
    assert u256[inner + ".model.3.weight"] == (512, 512, 4, 4)
    assert u256["model.model.1.model.5.weight"] == (256, 64, 4, 4)
    assert u256["model.model.3.weight"] == (128, 3, 4, 4) and u256["model.model.3.bias"] == (3,)


def test_unet_keys_do_not_depend_on_dropout_and_syncbatch_matches_batch():
    with torch.device("meta"):
        for netG in GENERATORS:
            batch = list(shapes_of(define_G(3, 3, 64, netG, "batch", False)).items())
            sync = list(shapes_of(define_G(3, 3, 64, netG, "syncbatch", False)).items())
            assert sync == batch
        for netG in ("unet_256", "unet_128"):
            assert list(shapes_of(define_G(3, 3, 64, netG, "batch", True))) == \
                list(shapes_of(define_G(3, 3, 64, netG, "batch", False)))


def test_dropout_layers_where_documented():
    with torch.device("meta"):
        r = define_G(3, 3, 8, "resnet_6blocks", "instance", True)
        u256 = define_G(3, 3, 8, "unet_256", "instance", True)
        u128 = define_G(3, 3, 8, "unet_128", "instance", True)
    assert sum(isinstance(m, nn.Dropout) for m in r.modules()) == 6
    assert isinstance(r.model[10].conv_block[4], nn.Dropout)
    assert sum(isinstance(m, nn.Dropout) for m in u256.modules()) == 3
    assert sum(isinstance(m, nn.Dropout) for m in u128.modules()) == 2


D_COMBOS = [(d, n) for d in ("basic", "n_layers4", "pixel") for n in ("instance", "batch", "none")]
DOCUMENTED_D = {  # (netD, norm, input_nc) -> (keys, params)
    ("basic", "instance", 3): (10, 2_764_737), ("basic", "batch", 3): (22, 2_765_633),
    ("basic", "instance", 6): (10, 2_767_809), ("basic", "batch", 6): (22, 2_768_705),
    ("n_layers4", "instance", 3): (12, 6_959_553),
    ("pixel", "instance", 3): (6, 8_705), ("pixel", "batch", 3): (9, 8_832),
}


@pytest.mark.parametrize("netD,norm", D_COMBOS)
@pytest.mark.parametrize("in_nc", [3, 6])
def test_discriminator_keys_and_shapes_match_reference_layout(netD, norm, in_nc):
    name, n_layers = ("n_layers", 4) if netD == "n_layers4" else (netD, 3)
    with torch.device("meta"):
        net = define_D(in_nc, 64, name, n_layers, norm)
    expected = discriminator_layout(name, n_layers, norm, in_nc=in_nc)
    assert list(shapes_of(net).items()) == list(expected.items())
    if (netD, norm, in_nc) in DOCUMENTED_D:
        keys, params = DOCUMENTED_D[(netD, norm, in_nc)]
        assert len(expected) == keys
        assert n_params(net) == params


def test_documented_discriminator_details():
    with torch.device("meta"):
        basic_i = shapes_of(define_D(3, 64, "basic", 3, "instance"))
        basic_b = shapes_of(define_D(3, 64, "basic", 3, "batch"))
        pix_b = shapes_of(define_D(3, 64, "pixel", 3, "batch"))
        n4 = shapes_of(define_D(3, 64, "n_layers", 4, "instance"))
    assert sorted({k.rsplit(".", 1)[0] for k in basic_i}) == ["model.0", "model.11", "model.2", "model.5", "model.8"]
    assert "model.2.bias" not in basic_b and "model.3.running_mean" in basic_b and "model.9.weight" in basic_b
    assert "net.5.bias" not in pix_b and "net.0.bias" in pix_b  # the pixel-D final conv bias quirk
    assert "model.14.weight" in n4 and "model.14.bias" in n4


def test_norm_none_gives_bias_free_convs_and_no_norm_keys():
    with torch.device("meta"):
        net = define_G(3, 3, 64, "resnet_9blocks", "none")
    keys = list(net.state_dict())
    assert len(keys) == 25  # 24 conv weights (3 + 2x9 + 2 + 1) + the final conv bias
    assert [k for k in keys if k.endswith(".bias")] == ["model.26.bias"]
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) for m in net.modules())


# ----------------------------------------------------------------------------------------------
# Forward shapes (small ngf / ndf)
# ----------------------------------------------------------------------------------------------

SIZES = {"resnet_9blocks": 32, "resnet_6blocks": 36, "unet_256": 256, "unet_128": 128}


@pytest.mark.parametrize("netG,norm,dropout", G_COMBOS)
def test_generator_output_shape_and_range(netG, norm, dropout):
    torch.manual_seed(0)
    net = define_G(3, 2, 4, netG, norm, dropout)
    size = SIZES[netG]
    batch = 1 if netG.startswith("unet") else 2
    x = torch.rand(batch, 3, size, size) * 2 - 1
    y = net(x)
    assert y.shape == (batch, 2, size, size) and y.dtype == torch.float32
    assert float(y.detach().abs().max()) <= 1.0
    y.mean().backward()
    assert net.state_dict()  # graph built through every layer without error


def test_unet_rectangular_multiple_of_256():
    net = define_G(1, 3, 2, "unet_256", "instance")
    assert net(torch.zeros(1, 1, 256, 512)).shape == (1, 3, 256, 512)


def test_unet_skip_carries_activated_input():
    """The reference's in-place LeakyReLU makes the skip branch leaky_relu(x), not x."""
    torch.manual_seed(0)
    net = define_G(3, 3, 2, "unet_128", "none")
    block = net.model.model[1]  # first non-outermost block
    x = torch.randn(1, 2, 64, 64)
    x_copy = x.clone()
    out = block(x)
    assert torch.equal(x, x_copy)  # the caller's tensor is not modified
    assert torch.equal(out[:, :2], torch.nn.functional.leaky_relu(x_copy, 0.2))


@pytest.mark.parametrize("netD,n_layers,size,expected", [
    ("basic", 3, 256, (1, 30, 30)), ("n_layers", 4, 256, (1, 14, 14)), ("basic", 3, 64, (1, 6, 6)),
    ("pixel", 3, 40, (1, 40, 40)),
])
@pytest.mark.parametrize("norm", ["instance", "batch", "none"])
def test_discriminator_output_shape(netD, n_layers, size, expected, norm):
    net = define_D(3, 4, netD, n_layers, norm)
    out = net(torch.rand(2, 3, size, size))
    assert out.shape == (2,) + expected


@pytest.mark.parametrize("netG,size", [("resnet_6blocks", 30), ("unet_128", 64), ("unet_256", 128),
                                       ("unet_128", 192)])
def test_generator_rejects_sizes_it_cannot_handle(netG, size):
    net = define_G(3, 3, 2, netG, "instance")
    with pytest.raises(ValueError, match=f"divisible by {required_multiple(netG)}"):
        net(torch.zeros(1, 3, size, size))


def test_generator_rejects_wrong_channels_and_rank():
    net = define_G(3, 3, 2, "resnet_6blocks", "instance")
    with pytest.raises(ValueError, match="3 input channels"):
        net(torch.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match="4-D"):
        net(torch.zeros(3, 8, 8))


def test_required_multiple():
    assert required_multiple("resnet_9blocks") == 4
    assert required_multiple("resnet_6blocks") == 4
    assert required_multiple("resnet_12blocks") == 4
    assert required_multiple("unet_256") == 256
    assert required_multiple("unet_128") == 128
    with pytest.raises(ValueError, match="netG='unet_64'.*resnet_9blocks"):
        required_multiple("unet_64")


# ----------------------------------------------------------------------------------------------
# Validation and exported names
# ----------------------------------------------------------------------------------------------

def test_exported_names():
    assert GENERATORS == ("resnet_9blocks", "resnet_6blocks", "unet_256", "unet_128")
    assert DISCRIMINATORS == ("basic", "n_layers", "pixel")
    assert NORMS == ("instance", "batch", "syncbatch", "none")
    assert INIT_TYPES == ("normal", "xavier", "kaiming", "orthogonal")
    assert GAN_MODES == ("lsgan", "vanilla", "wgangp")
    assert LR_POLICIES == ("linear", "step", "plateau", "cosine")


@pytest.mark.parametrize("call,match", [
    (lambda: define_G(3, 3, 8, "resnet_7", "instance"), "netG='resnet_7'.*unet_128"),
    (lambda: define_G(3, 3, 8, "resnet_0blocks", "instance"), "netG='resnet_0blocks'"),
    (lambda: define_G(3, 3, 8, "unet_64", "instance"), "netG='unet_64'"),
    (lambda: define_G(3, 3, 8, "unet_256", "sync_batch"), "norm='sync_batch'.*syncbatch"),
    (lambda: define_G(3, 3, 8, "unet_256", "instance", False, "uniform"), "init_type='uniform'.*orthogonal"),
    (lambda: define_G(0, 3, 8, "unet_256"), "input_nc must be a positive integer, got 0"),
    (lambda: define_G(3, 3, 2.5, "unet_256"), "ngf must be a positive integer, got 2.5"),
    (lambda: define_D(3, 8, "patch"), "netD='patch'.*basic, n_layers, pixel"),
    (lambda: define_D(3, 8, "n_layers", 0), "n_layers_D must be a positive integer, got 0"),
    (lambda: define_D(3, 8, "basic", 3, "group"), "norm='group'"),
    (lambda: get_norm_layer("sync_instance"), "norm='sync_instance'.*instance, batch, syncbatch, none"),
    (lambda: GANLoss("hinge"), "gan_mode='hinge'.*lsgan, vanilla, wgangp"),
    (lambda: ResnetGenerator(3, 3, 8, padding_type="circular"), "padding_type='circular'"),
    (lambda: init_weights(nn.Conv2d(1, 1, 1), "normal", float("nan")), "init_gain must be a finite number"),
])
def test_bad_arguments_raise_value_error_naming_them(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_define_returns_plain_module_on_cpu_and_ignores_gpu_ids(caplog):
    net = define_G(3, 3, 4, "resnet_6blocks", "instance", False, "normal", 0.02, [0])
    assert type(net) is ResnetGenerator
    assert all(p.device.type == "cpu" for p in net.parameters())
    assert "gpu_ids is ignored" in caplog.text
    d = define_D(3, 4, "pixel")
    assert type(d) is PixelDiscriminator
    assert isinstance(define_D(3, 4, "basic"), NLayerDiscriminator)
    assert isinstance(define_G(3, 3, 4, "unet_128"), UnetGenerator)


def test_init_net_alias(caplog):
    net = networks.init_net(nn.Conv2d(2, 2, 1), "normal", 0.02, [1], generator=torch.Generator().manual_seed(0))
    assert torch.count_nonzero(net.bias) == 0 and "init_net(gpu_ids=[1]): gpu_ids is ignored" in caplog.text


def test_define_g_default_norm_is_batch():
    net = define_G(3, 3, 4, "resnet_6blocks")
    assert isinstance(net.model[2], nn.BatchNorm2d) and net.model[1].bias is None


def test_norm_layer_factories():
    inst = get_norm_layer("instance")(5)
    assert isinstance(inst, nn.InstanceNorm2d) and not inst.affine and not inst.track_running_stats
    bn = get_norm_layer("batch")(5)
    assert isinstance(bn, nn.BatchNorm2d) and bn.affine and bn.track_running_stats
    sbn = get_norm_layer("syncbatch")(5)
    assert isinstance(sbn, nn.SyncBatchNorm) and sbn.affine and sbn.track_running_stats
    assert isinstance(get_norm_layer("none")(5), nn.Identity)


# ----------------------------------------------------------------------------------------------
# Initialisation
# ----------------------------------------------------------------------------------------------

def _probe_net() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(64, 128, 3), nn.BatchNorm2d(4096), nn.SyncBatchNorm(4096),
                         nn.ConvTranspose2d(64, 64, 3), nn.Linear(256, 256), nn.InstanceNorm2d(3))


@pytest.mark.parametrize("init_type", INIT_TYPES)
def test_init_weights_rules(init_type):
    gain = 0.5
    net = init_weights(_probe_net(), init_type, gain, generator=torch.Generator().manual_seed(1))
    conv, bn, sbn, convt, lin = net[0], net[1], net[2], net[3], net[4]
    for layer in (conv, convt, lin):
        assert torch.count_nonzero(layer.bias) == 0
    w = conv.weight.detach()
    fan_in, fan_out = 64 * 9, 128 * 9
    if init_type == "normal":
        assert abs(float(w.std()) - gain) < 0.01 and abs(float(w.mean())) < 0.01
    elif init_type == "xavier":
        assert abs(float(w.std()) - gain * math.sqrt(2.0 / (fan_in + fan_out))) < 0.002
    elif init_type == "kaiming":  # gain ignored
        assert abs(float(w.std()) - math.sqrt(2.0 / fan_in)) < 0.003
    else:
        rows = w.reshape(128, -1)
        assert torch.allclose(rows @ rows.T, gain ** 2 * torch.eye(128), atol=1e-4)
    for norm in (bn, sbn):  # SyncBatchNorm follows the BatchNorm rule too
        w_norm = norm.weight.detach()
        assert abs(float(w_norm.mean()) - 1.0) < 0.03 and abs(float(w_norm.std()) - gain) < 0.03
        assert torch.count_nonzero(norm.bias) == 0


def test_init_weights_is_reproducible_with_a_generator():
    a = define_G(3, 3, 4, "resnet_6blocks", "batch", generator=torch.Generator().manual_seed(7))
    b = define_G(3, 3, 4, "resnet_6blocks", "batch", generator=torch.Generator().manual_seed(7))
    c = define_G(3, 3, 4, "resnet_6blocks", "batch", generator=torch.Generator().manual_seed(8))
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb), k
    assert not torch.equal(a.model[1].weight, c.model[1].weight)
    assert abs(float(a.model[1].weight.detach().std()) - 0.02) < 0.005


# ----------------------------------------------------------------------------------------------
# GAN losses and gradient penalty
# ----------------------------------------------------------------------------------------------

def test_gan_loss_values():
    pred = torch.tensor([[0.5, 1.5], [1.0, 0.0]])
    ls = GANLoss("lsgan")
    assert float(ls(pred, True)) == pytest.approx((0.25 + 0.25 + 0.0 + 1.0) / 4)
    assert float(ls(pred, False)) == pytest.approx((0.25 + 2.25 + 1.0 + 0.0) / 4)
    van = GANLoss("vanilla")
    zeros = torch.zeros(3, 1, 2, 2)
    assert float(van(zeros, True)) == pytest.approx(math.log(2))
    assert float(van(torch.tensor([2.0]), True)) == pytest.approx(math.log1p(math.exp(-2.0)))
    assert float(van(torch.tensor([2.0]), False)) == pytest.approx(math.log1p(math.exp(2.0)))
    wg = GANLoss("wgangp")
    assert float(wg(pred, True)) == pytest.approx(-0.75)
    assert float(wg(pred, False)) == pytest.approx(0.75)
    smooth = GANLoss("lsgan", target_real_label=0.9, target_fake_label=0.1)
    assert float(smooth(torch.full((2, 2), 0.9), True)) == pytest.approx(0.0)
    assert float(smooth(torch.full((2, 2), 0.9), False)) == pytest.approx(0.64)
    assert set(dict(ls.named_buffers())) == {"real_label", "fake_label"}


def test_gan_loss_gradients_and_bad_inputs():
    pred = torch.tensor([0.3, -0.2], requires_grad=True)
    GANLoss("lsgan")(pred, True).backward()
    assert torch.allclose(pred.grad, torch.tensor([0.3 - 1.0, -0.2 - 1.0]))
    with pytest.raises(TypeError, match="target_is_real must be a bool"):
        GANLoss("lsgan")(pred, 1)
    with pytest.raises(TypeError, match="prediction must be a torch.Tensor"):
        GANLoss("lsgan")([0.1], True)


class _Linear(nn.Module):
    """D(x) = sum(w * x): the input gradient is w for every sample."""

    def __init__(self, shape):
        super().__init__()
        self.w = nn.Parameter(torch.linspace(-0.3, 0.5, math.prod(shape)).reshape(shape))

    def forward(self, x):
        return (x * self.w).sum(dim=(1, 2, 3))


class _Square(nn.Module):
    """D(x) = sum(x^2): the input gradient is 2x."""

    def forward(self, x):
        return (x ** 2).sum(dim=(1, 2, 3))


def test_gradient_penalty_value_on_linear_d():
    d = _Linear((2, 3, 3))
    real, fake = torch.randn(4, 2, 3, 3), torch.randn(4, 2, 3, 3)
    for kind in ("real", "fake", "mixed"):
        penalty, grads = cal_gradient_penalty(d, real, fake, "cpu", kind, 1.0, 10.0)
        expected = 10.0 * (float((d.w.detach() + 1e-16).norm()) - 1.0) ** 2
        assert float(penalty.detach()) == pytest.approx(expected, rel=1e-5)
        assert grads.shape == (4, 18)


def test_gradient_penalty_mixed_uses_per_sample_alpha_from_generator():
    real, fake = torch.ones(5, 1, 2, 2), torch.zeros(5, 1, 2, 2)
    _, grads = cal_gradient_penalty(_Square(), real, fake, "cpu", "mixed", generator=torch.Generator().manual_seed(3))
    alpha = torch.rand((5, 1, 1, 1), generator=torch.Generator().manual_seed(3)).reshape(5, 1)
    assert torch.allclose(grads, 2 * alpha.expand(5, 4))  # grad of sum(x^2) at x = alpha
    assert len(set(alpha.flatten().tolist())) == 5
    _, again = cal_gradient_penalty(_Square(), real, fake, "cpu", generator=torch.Generator().manual_seed(3))
    assert torch.equal(grads, again)


def test_gradient_penalty_is_nonzero_and_trains_d():
    torch.manual_seed(0)
    d = define_D(3, 4, "basic", 3, "none")
    real, fake = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    fake.requires_grad_(True)
    penalty, grads = cal_gradient_penalty(d, real, fake, "cpu", generator=torch.Generator().manual_seed(0))
    assert penalty.dim() == 0 and float(penalty.detach()) > 0 and penalty.requires_grad
    penalty.backward()
    grad_norm = sum(float(p.grad.abs().sum()) for p in d.parameters() if p.grad is not None)
    assert grad_norm > 0
    assert fake.grad is None  # inputs are detached
    zero, none = cal_gradient_penalty(d, real, fake, "cpu", lambda_gp=0.0)
    assert float(zero) == 0.0 and none is None


def test_gradient_penalty_bad_arguments():
    d = _Square()
    x = torch.zeros(1, 1, 2, 2)
    with pytest.raises(ValueError, match="type='both'.*real, fake, mixed"):
        cal_gradient_penalty(d, x, x, "cpu", "both")
    with pytest.raises(ValueError, match="same shape"):
        cal_gradient_penalty(d, x, torch.zeros(2, 1, 2, 2), "cpu")


# ----------------------------------------------------------------------------------------------
# Schedulers
# ----------------------------------------------------------------------------------------------

def _opt(**kw):
    base = dict(lr_policy="linear", n_epochs=3, n_epochs_decay=3, epoch_count=1, lr_decay_iters=2)
    base.update(kw)
    return SimpleNamespace(**base)


def _epoch_lrs(opt, epochs, metric=None):
    """LR used for each epoch when the scheduler is stepped at the end of every epoch."""
    optim = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = get_scheduler(optim, opt)
    lrs = []
    for _ in range(epochs):
        lrs.append(optim.param_groups[0]["lr"])
        optim.step()
        sched.step(metric) if metric is not None else sched.step()
    return lrs


def test_linear_schedule():
    assert _epoch_lrs(_opt(), 6) == pytest.approx([1, 1, 1, 0.75, 0.5, 0.25])
    # --continue_train from epoch 3 resumes on the same curve
    assert _epoch_lrs(_opt(epoch_count=3), 4) == pytest.approx([1, 0.75, 0.5, 0.25])
    assert _epoch_lrs(_opt(n_epochs=2, n_epochs_decay=0), 2) == pytest.approx([1, 1])


def test_step_and_plateau_schedules():
    assert _epoch_lrs(_opt(lr_policy="step"), 5) == pytest.approx([1, 1, 0.1, 0.1, 0.01])
    lrs = _epoch_lrs(_opt(lr_policy="plateau"), 15, metric=0.0)
    assert lrs[:7] == pytest.approx([1] * 7) and lrs[7] == pytest.approx(0.2) and lrs[14] == pytest.approx(0.04)


def test_cosine_spans_all_epochs_and_never_rises():
    opt = _opt(lr_policy="cosine", n_epochs=4, n_epochs_decay=4)
    lrs = _epoch_lrs(opt, 12)
    total = 8
    assert lrs[:8] == pytest.approx([0.5 * (1 + math.cos(math.pi * k / total)) for k in range(8)])
    assert lrs[8:] == pytest.approx([0.0] * 4, abs=1e-12)
    assert all(b <= a + 1e-12 for a, b in pairwise(lrs))
    assert lrs[4] > 0.1  # the LR is still substantial after n_epochs (reference: T_max = n_epochs)
    assert _epoch_lrs(_opt(lr_policy="cosine", n_epochs=4, n_epochs_decay=4, epoch_count=5), 4) == \
        pytest.approx(lrs[4:8])


def test_scheduler_state_round_trip(tmp_path):
    opt = _opt(lr_policy="linear", epoch_count=2)
    optim = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = get_scheduler(optim, opt)
    optim.step()
    sched.step()
    torch.save(sched.state_dict(), tmp_path / "s.pth")
    optim2 = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    sched2 = get_scheduler(optim2, _opt(lr_policy="linear", epoch_count=1))
    sched2.load_state_dict(torch.load(tmp_path / "s.pth", weights_only=True))
    for _ in range(3):
        optim.step()
        optim2.step()
        sched.step()
        sched2.step()
        assert sched2.get_last_lr() == pytest.approx(sched.get_last_lr())


@pytest.mark.parametrize("kw,match", [
    (dict(lr_policy="exp"), "lr_policy='exp'.*linear, step, plateau, cosine"),
    (dict(lr_policy="step", lr_decay_iters=0), "lr_decay_iters must be a positive integer"),
    (dict(lr_policy="cosine", n_epochs=0, n_epochs_decay=0), "n_epochs \\+ n_epochs_decay >= 1"),
    (dict(n_epochs=-1), "n_epochs must be a non-negative integer"),
    (dict(epoch_count=0), "epoch_count must be a positive integer"),
])
def test_scheduler_bad_options(kw, match):
    optim = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(ValueError, match=match):
        get_scheduler(optim, _opt(**kw))


def test_module_has_no_global_seeding():
    state = torch.random.get_rng_state()
    py_state = random.getstate()
    define_G(3, 3, 2, "resnet_6blocks", generator=torch.Generator().manual_seed(0))
    assert torch.equal(state, torch.random.get_rng_state())
    assert py_state == random.getstate()
    assert networks.logger.name == "models.networks"
