"""models.cycle_gan_model: one training step (G with D frozen, then D), its losses, pools and options."""
from __future__ import annotations

import argparse
import math

import pytest
import torch

from conftest import TINY_TRAIN
from data import create_dataset
from models import create_model
from models.cycle_gan_model import CycleGANModel
from options.test_options import TestOptions
from options.train_options import TrainOptions

LOSSES = ["D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"]


def train_opt(dataset, ck, *extra):
    return TrainOptions().parse(["--dataroot", str(dataset), "--checkpoints_dir", str(ck), "--name", "run",
                                 *TINY_TRAIN, "--preprocess", "none", "--seed", "2", *extra], save=False)


def make(dataset, ck, *extra) -> CycleGANModel:
    opt = train_opt(dataset, ck, *extra)
    model = create_model(opt)
    model.setup(opt)
    return model


def batch(n=1, h=32, w=32, seed=0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {"A": torch.rand(n, 3, h, w, generator=g) * 2 - 1, "B": torch.rand(n, 3, h, w, generator=g) * 2 - 1,
            "A_paths": ["a.png"] * n, "B_paths": ["b.png"] * n}


def params(net) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.named_parameters()}


@pytest.fixture
def model(tiny_dataset, tmp_path):
    return make(tiny_dataset, tmp_path / "ck")


# --------------------------------------------------------------------------- options
def test_modify_commandline_options_defaults():
    parser = CycleGANModel.modify_commandline_options(argparse.ArgumentParser(), is_train=True)
    assert vars(parser.parse_args([])) == {"no_dropout": True, "lambda_A": 10.0, "lambda_B": 10.0,
                                           "lambda_identity": 0.5}
    test_parser = CycleGANModel.modify_commandline_options(argparse.ArgumentParser(), is_train=False)
    assert vars(test_parser.parse_args([])) == {"no_dropout": True}  # no loss weights at test time


def test_parsed_defaults_and_use_dropout(tiny_dataset, tmp_path):
    opt = train_opt(tiny_dataset, tmp_path)
    assert (opt.no_dropout, opt.lambda_A, opt.lambda_B, opt.lambda_identity) == (True, 10.0, 10.0, 0.5)
    assert train_opt(tiny_dataset, tmp_path, "--use_dropout").no_dropout is False
    test_opt = TestOptions().parse(["--dataroot", str(tiny_dataset), "--model", "cycle_gan", "--gpu_ids", "-1"],
                                   save=False)
    assert test_opt.no_dropout is True and not hasattr(test_opt, "lambda_A")


def test_dropout_reaches_the_generators(tiny_dataset, tmp_path):
    has_dropout = [any(isinstance(m, torch.nn.Dropout) for m in make(tiny_dataset, tmp_path / f"{i}", *f).netG_A
                       .modules()) for i, f in enumerate([(), ("--use_dropout",)])]
    assert has_dropout == [False, True]


def test_amp_on_cpu_is_bf16_where_the_cpu_has_it_and_off_with_a_warning_elsewhere(tiny_dataset, tmp_path,
                                                                                  monkeypatch, caplog):
    from models import amp

    monkeypatch.setattr(amp, "cpu_has_bf16", lambda: True)
    model = create_model(train_opt(tiny_dataset, tmp_path / "a", "--amp"))
    assert model.amp_dtype == torch.bfloat16 and model.scaler is None
    model.setup(model.opt)
    batch = next(iter(create_dataset(model.opt)))
    model.set_input(batch)
    model.optimize_parameters()  # one bf16 step runs and gives finite losses
    assert all(torch.isfinite(torch.tensor(v)) for v in model.get_current_losses().values())
    monkeypatch.setattr(amp, "cpu_has_bf16", lambda: False)
    with caplog.at_level("WARNING", logger="models.cycle_gan_model"):
        model = create_model(train_opt(tiny_dataset, tmp_path / "b", "--amp"))
    assert model.amp_dtype is None
    assert "--amp: this CPU has no bfloat16 units (AVX-512 BF16 or AMX)" in caplog.text


def test_identity_loss_needs_equal_channel_counts(tiny_dataset, tmp_path):
    opt = train_opt(tiny_dataset, tmp_path, "--input_nc", "1")
    with pytest.raises(ValueError) as info:
        create_model(opt)
    assert str(info.value) == ("--lambda_identity > 0 needs --input_nc == --output_nc (got 1 and 3); "
                               "pass --lambda_identity 0")
    model = create_model(train_opt(tiny_dataset, tmp_path, "--input_nc", "1", "--lambda_identity", "0"))
    assert model.netG_A.model[1].in_channels == 1 and model.netD_B.model[0].in_channels == 1


def test_test_mode_builds_the_generators_only(tiny_dataset, tmp_path):
    opt = TestOptions().parse(["--dataroot", str(tiny_dataset), "--model", "cycle_gan", "--gpu_ids", "-1",
                               "--ngf", "4"], save=False)
    model = create_model(opt)
    assert model.model_names == ["G_A", "G_B"] and model.optimizers == []
    assert not hasattr(model, "netD_A") and not hasattr(model, "fake_A_pool")
    assert model.visual_names == ["real_A", "fake_B", "rec_A", "real_B", "fake_A", "rec_B"]


# --------------------------------------------------------------------------- one step
def test_one_step_updates_every_network(model):
    before = {name: params(net) for name, net in model.networks()}
    model.set_input(batch())
    model.optimize_parameters()
    for name, net in model.networks():
        after = params(net)
        changed = [k for k in after if not torch.equal(after[k], before[name][k])]
        assert changed == list(after), f"net{name}: unchanged {set(after) - set(changed)}"


def test_discriminators_are_frozen_during_the_generator_step(model):
    model.set_input(batch(seed=1))
    model.optimize_parameters()  # step 1 leaves D gradients from its D step
    d_nets = (model.netD_A, model.netD_B)
    seen = {}
    original = model.backward_G

    def spy():
        seen["requires_grad_before"] = [p.requires_grad for n in d_nets for p in n.parameters()]
        d_grads = [p.grad.clone() for n in d_nets for p in n.parameters()]
        assert all(p.grad is None for p in model.netG_A.parameters())  # zero_grad(set_to_none) on G first
        original()
        seen["d_grads_unchanged"] = all(torch.equal(p.grad, g) for p, g in
                                        zip((p for n in d_nets for p in n.parameters()), d_grads, strict=True))
        seen["g_grads"] = all(p.grad is not None for n in (model.netG_A, model.netG_B) for p in n.parameters())

    model.backward_G = spy
    model.set_input(batch(seed=2))
    model.optimize_parameters()
    assert seen == {"requires_grad_before": [False] * len(seen["requires_grad_before"]),
                    "d_grads_unchanged": True, "g_grads": True}
    assert all(p.requires_grad for n in d_nets for p in n.parameters())  # unfrozen for the D step and after


def test_first_generator_step_leaves_discriminator_grads_none(model):
    def spy():
        CycleGANModel.backward_G(model)
        spy.d_grads = [p.grad for n in (model.netD_A, model.netD_B) for p in n.parameters()]

    model.backward_G = spy
    model.set_input(batch())
    model.optimize_parameters()
    assert spy.d_grads and all(g is None for g in spy.d_grads)
    assert all(p.grad is not None for p in model.netD_A.parameters())  # the D step did compute them


def test_losses_are_named_finite_and_follow_their_definitions(model):
    model.set_input(batch())
    model.optimize_parameters()
    losses = model.get_current_losses()
    assert list(losses) == LOSSES
    assert all(math.isfinite(v) for v in losses.values())
    def l1(a, b):
        return torch.nn.functional.l1_loss(a.detach(), b.detach())

    assert losses["cycle_A"] == pytest.approx(float(l1(model.rec_A, model.real_A)) * 10.0, rel=1e-6)
    assert losses["cycle_B"] == pytest.approx(float(l1(model.rec_B, model.real_B)) * 10.0, rel=1e-6)
    assert losses["idt_A"] == pytest.approx(float(l1(model.idt_A, model.real_B)) * 10.0 * 0.5, rel=1e-6)
    assert losses["idt_B"] == pytest.approx(float(l1(model.idt_B, model.real_A)) * 10.0 * 0.5, rel=1e-6)
    assert losses["idt_A"] > 0 and losses["idt_B"] > 0
    assert list(model.get_current_visuals()) == ["real_A", "fake_B", "rec_A", "idt_B", "real_B", "fake_A", "rec_B",
                                                 "idt_A"]


def test_without_identity_loss(tiny_dataset, tmp_path):
    model = make(tiny_dataset, tmp_path, "--lambda_identity", "0")
    assert "idt_A" not in model.visual_names and "idt_B" not in model.visual_names
    model.set_input(batch())
    model.optimize_parameters()
    losses = model.get_current_losses()
    assert list(losses) == LOSSES  # the names stay (the loss log keeps its columns) ...
    assert (losses["idt_A"], losses["idt_B"]) == (0.0, 0.0)  # ... at exactly zero
    assert not hasattr(model, "idt_A") and not hasattr(model, "idt_B")
    assert all(math.isfinite(v) for v in losses.values())


def test_discriminators_see_pooled_fakes(model):
    calls = []
    for pool_name in ("fake_A_pool", "fake_B_pool"):
        pool = getattr(model, pool_name)
        original = pool.query

        def spy(images, _original=original, _name=pool_name):
            out = _original(images)
            calls.append((_name, images, out))
            return out

        pool.query = spy
    assert (model.fake_A_pool.num_imgs, model.fake_B_pool.num_imgs) == (0, 0)
    model.set_input(batch(n=2))
    model.optimize_parameters()
    assert [name for name, _, _ in calls] == ["fake_B_pool", "fake_A_pool"]  # D_A first, then D_B
    assert calls[0][1] is model.fake_B and calls[1][1] is model.fake_A
    assert (model.fake_A_pool.num_imgs, model.fake_B_pool.num_imgs) == (2, 2)  # --pool_size 2
    assert torch.equal(calls[0][2], model.fake_B.detach())  # while filling, the fakes come back as they are
    assert torch.equal(torch.cat(model.fake_B_pool.images), model.fake_B.detach())


def test_pool_size_zero_passes_the_fakes_through(tiny_dataset, tmp_path):
    model = make(tiny_dataset, tmp_path, "--pool_size", "0")
    model.set_input(batch())
    model.optimize_parameters()
    assert (model.fake_A_pool.num_imgs, model.fake_B_pool.num_imgs) == (0, 0)


def test_extra_state_round_trip_restores_the_pools(tiny_dataset, tmp_path):
    a = make(tiny_dataset, tmp_path / "a")
    a.set_input(batch(n=2))
    a.optimize_parameters()
    state = a.extra_state()
    assert sorted(state) == ["fake_A_pool", "fake_B_pool", "gp_generator"]
    b = make(tiny_dataset, tmp_path / "b")
    b.load_extra_state(state)
    assert b.fake_B_pool.num_imgs == 2
    assert torch.equal(torch.cat(b.fake_B_pool.images), torch.cat(a.fake_B_pool.images))
    assert torch.equal(b.gp_generator.get_state(), a.gp_generator.get_state())
