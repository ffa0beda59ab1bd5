"""Loading reference-format checkpoints: key patches, dropout remap, errors, architecture inference.

Checkpoints are fabricated from the documented layouts (test_networks.py's *_layout helpers,
written from docs/compatibility.md), never from our own modules' state_dict().
"""
from __future__ import annotations

import importlib.util
import logging
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from torch import nn

from models.compat import (
    clean_state_dict,
    infer_generator_config,
    load_into,
    remap_resnet_dropout,
    strip_wrapper_prefixes,
)
from models.networks import GENERATORS, ResnetGenerator, define_D, define_G, get_norm_layer
from util.checkpoint import load_state_dict_file

_spec = importlib.util.spec_from_file_location("_reference_layouts", Path(__file__).with_name("test_networks.py"))
layouts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(layouts)

NGF = 4
G_COMBOS = [(g, n, d) for g in GENERATORS for n in ("instance", "batch", "none") for d in (False, True)]


def fabricate(layout, seed: int = 0) -> "OrderedDict[str, torch.Tensor]":
    """Random tensors with the layout's keys/shapes, like a reference checkpoint."""
    g = torch.Generator().manual_seed(seed)
    sd = OrderedDict()
    for key, shape in layout.items():
        if key.endswith("num_batches_tracked"):
            sd[key] = torch.tensor(123, dtype=torch.long)
        elif key.endswith("running_var"):
            sd[key] = torch.rand(shape, generator=g) + 0.5
        else:
            sd[key] = torch.randn(shape, generator=g) * 0.1
    return sd


def assert_loaded(net: nn.Module, sd) -> None:
    own = net.state_dict()
    for key, value in sd.items():
        assert torch.equal(own[key], value), key


# ----------------------------------------------------------------------------------------------
# Reference checkpoints load for every architecture
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("netG,norm,dropout", G_COMBOS)
def test_reference_generator_checkpoint_loads(tmp_path, netG, norm, dropout):
    sd = fabricate(layouts.generator_layout(netG, norm, dropout, ngf=NGF))
    path = tmp_path / "latest_net_G_A.pth"
    torch.save(sd, path)
    net = define_G(3, 3, NGF, netG, norm, dropout)
    load_into(net, load_state_dict_file(path), source=str(path))
    assert_loaded(net, sd)


@pytest.mark.parametrize("netD,n_layers", [("basic", 3), ("n_layers", 4), ("pixel", 3)])
@pytest.mark.parametrize("norm", ["instance", "batch", "none"])
def test_reference_discriminator_checkpoint_loads(netD, n_layers, norm):
    sd = fabricate(layouts.discriminator_layout(netD, n_layers, norm, ndf=NGF, in_nc=6))
    net = define_D(6, NGF, netD, n_layers, norm)
    load_into(net, sd)
    assert_loaded(net, sd)


def test_same_weights_give_same_outputs_after_save_and_load(tmp_path):
    torch.manual_seed(0)
    a = define_G(3, 3, NGF, "unet_128", "batch", True)
    torch.save(a.state_dict(), tmp_path / "a.pth")  # includes _metadata, like the reference
    b = define_G(3, 3, NGF, "unet_128", "batch", True)
    load_into(b, load_state_dict_file(tmp_path / "a.pth"))
    a.eval(), b.eval()
    x = torch.rand(1, 3, 128, 128) * 2 - 1
    assert torch.equal(a(x), b(x))


# ----------------------------------------------------------------------------------------------
# Patches: _metadata, module./_orig_mod. prefixes, pre-0.4 InstanceNorm keys, old BatchNorm
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("prefix", ["module.", "_orig_mod.", "module._orig_mod."])
def test_wrapper_prefix_is_stripped(prefix):
    sd = fabricate(layouts.resnet_layout(6, "instance", False, ngf=NGF))
    wrapped = OrderedDict((prefix + k, v) for k, v in sd.items())
    net = define_G(3, 3, NGF, "resnet_6blocks", "instance")
    cleaned = clean_state_dict(wrapped, net)
    assert list(cleaned) == list(sd)
    assert all(k.startswith(prefix) for k in wrapped)  # input not modified
    load_into(net, wrapped)
    assert_loaded(net, sd)


def test_partial_prefix_is_not_stripped():
    sd = OrderedDict([("module.a", torch.zeros(1)), ("b", torch.zeros(1))])
    assert list(strip_wrapper_prefixes(sd)) == ["module.a", "b"]


def test_metadata_attribute_and_key_are_ignored():
    sd = fabricate(layouts.pixel_layout("batch", ndf=NGF))
    sd._metadata = OrderedDict([("", {"version": 1})])
    with_key = OrderedDict(sd)
    with_key["_metadata"] = {"net.3": {"version": 2}}
    net = define_D(3, NGF, "pixel", 3, "batch")
    cleaned = clean_state_dict(with_key, net)
    assert "_metadata" not in cleaned and getattr(cleaned, "_metadata", None) is None
    load_into(net, with_key)
    assert_loaded(net, sd)


def _add_instance_norm_stats(sd, layout_norm_names):
    out = OrderedDict(sd)
    for name, channels in layout_norm_names:
        out[f"{name}.running_mean"] = torch.zeros(channels)
        out[f"{name}.running_var"] = torch.ones(channels)
        out[f"{name}.num_batches_tracked"] = torch.tensor(0)
    return out


def test_pre_0_4_instance_norm_keys_are_dropped():
    sd = fabricate(layouts.resnet_layout(6, "instance", False, ngf=NGF))
    norms = [("model.2", NGF), ("model.5", 2 * NGF), ("model.8", 4 * NGF), ("model.17", 2 * NGF),
             ("model.20", NGF)] + [(f"model.{b}.conv_block.{i}", 4 * NGF) for b in range(10, 16) for i in (2, 6)]
    old = _add_instance_norm_stats(sd, norms)
    assert len(old) == len(sd) + 3 * len(norms)
    net = define_G(3, 3, NGF, "resnet_6blocks", "instance")
    assert list(clean_state_dict(old, net)) == list(sd)
    load_into(net, old)
    assert_loaded(net, sd)


def test_pre_0_4_instance_norm_keys_in_unet_and_with_dropout_remap():
    sd = fabricate(layouts.unet_layout(7, "instance", ngf=NGF))
    old = _add_instance_norm_stats(sd, [("model.model.1.model.2", 2 * NGF), ("model.model.1.model.6", NGF)])
    net = define_G(3, 3, NGF, "unet_128", "instance")
    load_into(net, old)
    assert_loaded(net, sd)
    # trained with dropout (norms at conv_block.2 and .7), loaded without dropout
    rsd = fabricate(layouts.resnet_layout(6, "instance", True, ngf=NGF))
    rold = _add_instance_norm_stats(rsd, [(f"model.{b}.conv_block.{i}", 4 * NGF) for b in range(10, 16)
                                          for i in (2, 7)])
    load_into(define_G(3, 3, NGF, "resnet_6blocks", "instance", False), rold)


def test_batch_norm_stats_are_kept_and_old_batch_norm_without_counter_loads():
    sd = fabricate(layouts.resnet_layout(6, "batch", False, ngf=NGF))
    net = define_G(3, 3, NGF, "resnet_6blocks", "batch")
    assert list(clean_state_dict(sd, net)) == list(sd)
    old = OrderedDict((k, v) for k, v in sd.items() if not k.endswith("num_batches_tracked"))
    load_into(net, old)
    assert_loaded(net, old)
    assert int(net.model[2].num_batches_tracked) == 0


# ----------------------------------------------------------------------------------------------
# Dropout layout remap
# ----------------------------------------------------------------------------------------------

def _randomise(net: nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=g) + 0.5 if name.endswith("running_var")
                        else torch.randn(t.shape, generator=g) * 0.2)


@pytest.mark.parametrize("norm", ["instance", "batch", "none"])
@pytest.mark.parametrize("src_dropout", [True, False])
def test_dropout_remap_both_directions_gives_equal_outputs(norm, src_dropout, caplog):
    src = define_G(3, 3, NGF, "resnet_6blocks", norm, src_dropout)
    _randomise(src, 1)
    dst = define_G(3, 3, NGF, "resnet_6blocks", norm, not src_dropout)
    with caplog.at_level(logging.INFO, logger="models.compat"):
        load_into(dst, src.state_dict(), source="G.pth")
    assert "remapped the ResNet-block dropout layout in 6 blocks" in caplog.text
    assert ("WITH dropout" if src_dropout else "WITHOUT dropout") in caplog.text
    src.eval(), dst.eval()
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    torch.testing.assert_close(dst(x), src(x), rtol=0, atol=0)


def test_remap_key_mapping_and_noop_cases():
    drop = fabricate(layouts.resnet_layout(2, "batch", True, ngf=NGF))
    nodrop_layout = layouts.resnet_layout(2, "batch", False, ngf=NGF)
    nodrop_net = ResnetGenerator(3, 3, NGF, get_norm_layer("batch"), False, n_blocks=2)
    mapped = remap_resnet_dropout(drop, nodrop_net)
    assert list(mapped) == list(nodrop_layout)
    assert torch.equal(mapped["model.10.conv_block.5.weight"], drop["model.10.conv_block.6.weight"])
    assert torch.equal(mapped["model.11.conv_block.6.running_mean"], drop["model.11.conv_block.7.running_mean"])
    back = remap_resnet_dropout(mapped, ResnetGenerator(3, 3, NGF, get_norm_layer("batch"), True, n_blocks=2))
    assert list(back) == list(drop)
    # matching layout or a U-Net: nothing changes
    assert list(remap_resnet_dropout(drop, ResnetGenerator(3, 3, NGF, get_norm_layer("batch"), True, 2))) == list(drop)
    unet_sd = fabricate(layouts.unet_layout(7, "batch", ngf=NGF))
    assert list(remap_resnet_dropout(unet_sd, define_G(3, 3, NGF, "unet_128", "batch"))) == list(unet_sd)


# ----------------------------------------------------------------------------------------------
# Mismatch errors
# ----------------------------------------------------------------------------------------------

def test_mismatching_ngf_names_source_shapes_and_flags():
    sd = fabricate(layouts.resnet_layout(9, "instance", False, ngf=8))
    net = define_G(3, 3, NGF, "resnet_9blocks", "instance")
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(ValueError, match=r"cannot load stateDict/init\.pth into ResnetGenerator") as info:
        load_into(net, sd, source="stateDict/init.pth")
    msg = str(info.value)
    assert "shape mismatch" in msg and "model.1.weight: checkpoint (8, 3, 7, 7) vs network (4, 3, 7, 7)" in msg
    assert "--netG" in msg and "--ngf" in msg and "--norm" in msg and "--no_dropout" in msg
    assert "--input_nc" in msg and "--output_nc" in msg
    assert "netG=resnet_9blocks ngf=8 norm=instance" in msg
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # net untouched


def test_mismatching_norm_and_architecture_list_keys():
    sd = fabricate(layouts.resnet_layout(6, "batch", False, ngf=NGF))
    with pytest.raises(ValueError, match=r"17 missing keys, 34 unexpected keys, 0 shape mismatches") as info:
        load_into(define_G(3, 3, NGF, "resnet_6blocks", "instance"), sd, source="x.pth")
    msg = str(info.value)
    assert "missing (" in msg and "model.1.bias" in msg and "unexpected (" in msg and "model.2.weight" in msg
    assert "(+" in msg  # long lists are truncated
    unet_msg = r"(?s)cannot load y\.pth into UnetGenerator.*netG=resnet_6blocks ngf=4 norm=batch"
    with pytest.raises(ValueError, match=unet_msg):
        load_into(define_G(3, 3, NGF, "unet_256", "batch"), sd, source="y.pth")
    with pytest.raises(ValueError, match=r"--netD, --ndf, --n_layers_D"):
        load_into(define_D(3, NGF, "basic"), sd, source="z.pth")


# ----------------------------------------------------------------------------------------------
# Architecture inference
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("netG,norm,dropout", G_COMBOS)
def test_infer_generator_config_round_trips(netG, norm, dropout):
    sd = fabricate(layouts.generator_layout(netG, norm, dropout, ngf=NGF, in_nc=1, out_nc=4))
    cfg = infer_generator_config(sd)
    expect_dropout = dropout if netG.startswith("resnet") else False  # undecidable for U-Net
    assert cfg == dict(netG=netG, ngf=NGF, norm=norm, use_dropout=expect_dropout, input_nc=1, output_nc=4)
    net = define_G(cfg["input_nc"], cfg["output_nc"], cfg["ngf"], cfg["netG"], cfg["norm"], cfg["use_dropout"])
    load_into(net, sd)


def test_infer_any_resnet_block_count_and_prefixed_and_real_modules():
    sd = fabricate(layouts.resnet_layout(3, "instance", True, ngf=NGF))
    assert infer_generator_config(sd)["netG"] == "resnet_3blocks"
    net = define_G(3, 3, NGF, "resnet_3blocks", "instance", True)
    load_into(net, sd)
    wrapped = OrderedDict(("module." + k, v) for k, v in net.state_dict().items())
    assert infer_generator_config(wrapped) == dict(netG="resnet_3blocks", ngf=NGF, norm="instance",
                                                   use_dropout=True, input_nc=3, output_nc=3)
    assert infer_generator_config(define_G(3, 3, 8, "unet_256", "syncbatch").state_dict())["norm"] == "batch"


@pytest.mark.parametrize("sd,match", [
    (OrderedDict(), "empty"),
    (OrderedDict([("model.0.weight", torch.zeros(4, 3, 4, 4))]), "not a known generator state dict"),
    (fabricate(layouts.unet_layout(6, "instance", ngf=NGF)), "6 levels, expected 7 \\(unet_128\\) or 8"),
    (OrderedDict((k, v) for k, v in fabricate(layouts.resnet_layout(2, "none", False, ngf=NGF)).items()
                 if k != "model.19.weight"), "expected a 4-D tensor at key 'model.19.weight'"),
])
def test_infer_rejects_unknown_state_dicts(sd, match):
    with pytest.raises(ValueError, match=match):
        infer_generator_config(sd)


def test_infer_rejects_discriminator():
    with pytest.raises(ValueError, match="not a known generator state dict"):
        infer_generator_config(define_D(3, NGF, "basic", 3, "batch").state_dict())


def test_clean_state_dict_rejects_non_mapping():
    with pytest.raises(TypeError, match="state dict must be a mapping"):
        clean_state_dict([1, 2], nn.Linear(1, 1))
