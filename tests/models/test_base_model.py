"""models.base_model: setup, saving and loading with reference file names and keys, the fine-tuning
init, and the small helpers every model plugin inherits (tiny CycleGAN on CPU)."""
from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from torch import nn

from conftest import TINY_TRAIN
from models import create_model, networks
from models.base_model import BaseModel, unwrap
from options.test_options import TestOptions
from options.train_options import TrainOptions
from util.checkpoint import CheckpointError, load_state_dict_file, save_state_dict

NETS = ("G_A", "G_B", "D_A", "D_B")


def train_opt(dataset, ck, *extra):
    return TrainOptions().parse(["--dataroot", str(dataset), "--checkpoints_dir", str(ck), "--name", "run",
                                 *TINY_TRAIN, "--preprocess", "none", "--seed", "1", *extra], save=False)


def make(dataset, ck, *extra, setup=True):
    opt = train_opt(dataset, ck, *extra)
    model = create_model(opt)
    if setup:
        model.setup(opt)
    return model


def states(model) -> dict[str, dict[str, torch.Tensor]]:
    return {name: {k: v.clone() for k, v in unwrap(net).state_dict().items()} for name, net in model.networks()}


def assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert list(a) == list(b)
    for key in a:
        assert torch.equal(a[key], b[key]), key


def batch(n=1, h=16, w=20, seed=0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {"A": torch.rand(n, 3, h, w, generator=g) * 2 - 1, "B": torch.rand(n, 3, h, w, generator=g) * 2 - 1,
            "A_paths": [f"a{i}.png" for i in range(n)], "B_paths": [f"b{i}.png" for i in range(n)]}


@pytest.fixture
def model(tiny_dataset, tmp_path):
    return make(tiny_dataset, tmp_path / "ck")


# --------------------------------------------------------------------------- unwrap
class Compiled(nn.Module):
    """What torch.compile returns, for unwrap's purpose: a module holding the original as ``_orig_mod``."""

    def __init__(self, mod: nn.Module) -> None:
        super().__init__()
        self._orig_mod = mod


def test_unwrap_peels_every_wrapper():
    net = nn.Conv2d(1, 1, 1)
    assert unwrap(net) is net
    assert unwrap(nn.DataParallel(net)) is net
    compiled = Compiled(net)
    assert unwrap(compiled) is net
    assert unwrap(nn.DataParallel(compiled)) is net


# --------------------------------------------------------------------------- lists and helpers
def test_cycle_gan_fills_the_contract_lists(model):
    assert model.model_names == list(NETS)
    assert model.loss_names == ["D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"]
    assert model.visual_names == ["real_A", "fake_B", "rec_A", "idt_B", "real_B", "fake_A", "rec_B", "idt_A"]
    assert [name for name, _ in model.networks()] == list(NETS)
    assert model.net("D_B") is model.netD_B
    assert model.save_dir == Path(model.opt.checkpoints_dir) / "run"
    assert model.network_path(5, "G_A") == model.save_dir / "5_net_G_A.pth"
    assert model.network_path("iter_40", "D_B") == model.save_dir / "iter_40_net_D_B.pth"


def test_set_input_ab_and_direction(tiny_dataset, tmp_path):
    data = batch(n=2)
    ab = make(tiny_dataset, tmp_path / "1", setup=False)
    ab.set_input(data)
    assert torch.equal(ab.real_A, data["A"]) and torch.equal(ab.real_B, data["B"])
    assert ab.get_image_paths() == ["a0.png", "a1.png"]
    ba = make(tiny_dataset, tmp_path / "2", "--direction", "BtoA", setup=False)
    ba.set_input(data)
    assert torch.equal(ba.real_A, data["B"]) and torch.equal(ba.real_B, data["A"])
    assert ba.get_image_paths() == ["b0.png", "b1.png"]


def test_get_current_losses_gives_floats_in_loss_names_order(model):
    for i, name in enumerate(model.loss_names):
        setattr(model, "loss_" + name, torch.tensor(i + 0.5, requires_grad=True) * 1)
    model.loss_idt_A = 0  # models store plain numbers for disabled terms
    losses = model.get_current_losses()
    assert isinstance(losses, OrderedDict)
    assert list(losses.items()) == [("D_A", 0.5), ("G_A", 1.5), ("cycle_A", 2.5), ("idt_A", 0.0), ("D_B", 4.5),
                                    ("G_B", 5.5), ("cycle_B", 6.5), ("idt_B", 7.5)]
    assert all(type(v) is float for v in losses.values())


def test_get_current_visuals_lists_the_visuals_that_exist_in_order(model):
    assert model.get_current_visuals() == OrderedDict()
    model.set_input(batch())
    model.test()
    visuals = model.get_current_visuals()
    assert list(visuals) == ["real_A", "fake_B", "rec_A", "real_B", "fake_A", "rec_B"]  # no identity in test()
    assert all(v.shape == (1, 3, 16, 20) for v in visuals.values())
    assert visuals["real_A"] is model.real_A


def test_set_requires_grad_on_one_net_a_list_and_none(model):
    BaseModel.set_requires_grad(model.netD_A, False)
    assert not any(p.requires_grad for p in model.netD_A.parameters())
    assert all(p.requires_grad for p in model.netD_B.parameters())
    BaseModel.set_requires_grad([model.netD_B, None, model.netG_A])  # default: off; None is skipped
    assert not any(p.requires_grad for n in (model.netD_B, model.netG_A) for p in n.parameters())
    model.set_requires_grad([model.netD_A, model.netD_B, model.netG_A], True)
    assert all(p.requires_grad for n in (model.netD_A, model.netD_B, model.netG_A) for p in n.parameters())


def test_eval_train_and_test_without_gradients(model):
    model.eval()
    assert not any(net.training for _, net in model.networks())
    model.set_input(batch(h=13, w=9))  # not a multiple of 4: run_generator pads and crops back
    model.test()
    for name in ("fake_B", "rec_A", "fake_A", "rec_B"):
        out = getattr(model, name)
        assert out.shape == (1, 3, 13, 9) and not out.requires_grad and out.grad_fn is None
        assert torch.isfinite(out).all()
    assert all(p.grad is None for _, net in model.networks() for p in net.parameters())
    model.train()
    assert all(net.training for _, net in model.networks())


def test_run_generator_equals_the_padded_net_cropped(model):
    x = torch.rand(1, 3, 10, 6) * 2 - 1
    padded = torch.nn.functional.pad(x, (0, 2, 0, 2), mode="reflect")
    with torch.no_grad():
        assert torch.equal(model.run_generator(model.netG_A, x), model.netG_A(padded)[..., :10, :6])


def test_update_learning_rate_steps_the_linear_schedule_and_logs_it(model, caplog):
    # TINY_TRAIN: --n_epochs 1 --n_epochs_decay 1, lr 0.0002: the last epoch runs at lr / 2
    assert [len(model.schedulers), model.optimizers[0].param_groups[0]["lr"]] == [2, 0.0002]
    with caplog.at_level(logging.INFO, logger="models.base_model"):
        model.update_learning_rate()
    assert [o.param_groups[0]["lr"] for o in model.optimizers] == pytest.approx([0.0001, 0.0001], rel=1e-12)
    assert "learning rate 0.0002000 -> 0.0001000" in caplog.messages
    model.update_learning_rate()
    assert model.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.0)


def test_update_learning_rate_plateau_uses_the_metric(tiny_dataset, tmp_path):
    m = make(tiny_dataset, tmp_path / "ck", "--lr_policy", "plateau")
    m.metric = 1.0
    for _ in range(7):  # patience 5: the 7th epoch without improvement reduces by 0.2
        m.update_learning_rate()
    assert m.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.0002 * 0.2)


def test_print_networks_logs_the_parameter_counts(model, caplog):
    counts = {name: sum(p.numel() for p in net.parameters()) for name, net in model.networks()}
    # by hand, instance norm (no affine parameters, convolutions with bias), ngf = ndf = 4:
    # G: 7x7 3->4 (592) + 3x3 4->8 (296) + 3x3 8->16 (1168) + 6 blocks x 2 x 3x3 16->16 (27840)
    #    + 3x3^T 16->8 (1160) + 3x3^T 8->4 (292) + 7x7 4->3 (591)
    # D: 4x4 3->4 (196) + 4->8 (520) + 8->16 (2064) + 16->32 (8224) + 32->1 (513)
    assert counts == {"G_A": 31_939, "G_B": 31_939, "D_A": 11_517, "D_B": 11_517}
    with caplog.at_level(logging.INFO, logger="models.base_model"):
        model.print_networks(False)
    assert caplog.messages == [f"[Network {n}] Total number of parameters : {c / 1e6:.3f} M" for n, c in
                               counts.items()]
    assert caplog.messages[0] == "[Network G_A] Total number of parameters : 0.032 M"
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="models.base_model"):
        model.print_networks(True)
    assert len(caplog.messages) == 8 and caplog.messages[0].startswith("ResnetGenerator(")


# --------------------------------------------------------------------------- saving and loading
def test_save_networks_writes_reference_names_with_cpu_tensors_and_plain_keys(model):
    model.netG_A = nn.DataParallel(model.netG_A)  # wrapped as on several GPUs
    model.save_networks("latest")
    model.save_networks(3)
    assert sorted(p.name for p in model.save_dir.iterdir()) == sorted(
        [f"latest_net_{n}.pth" for n in NETS] + [f"3_net_{n}.pth" for n in NETS])
    for name, net in model.networks():
        saved = load_state_dict_file(model.save_dir / f"latest_net_{name}.pth")
        assert not any(k.startswith("module.") for k in saved)
        assert all(v.device.type == "cpu" for v in saved.values())
        assert_same(saved, unwrap(net).state_dict())
    assert "model.1.weight" in load_state_dict_file(model.save_dir / "latest_net_G_A.pth")  # reference key


def test_save_networks_only_on_the_main_rank(model, monkeypatch):
    from util import dist

    monkeypatch.setattr(dist, "is_main", lambda: False)
    model.save_networks("latest")
    assert not model.save_dir.exists() or list(model.save_dir.iterdir()) == []


def test_continue_train_loads_the_epoch_or_iteration_files(tiny_dataset, tmp_path):
    ck = tmp_path / "ck"
    donor = make(tiny_dataset, ck, "--seed", "7")
    donor.save_networks(4)
    donor.save_networks("iter_12")
    want = states(donor)
    for flags in (["--epoch", "4"], ["--load_iter", "12"]):
        loaded = make(tiny_dataset, ck, "--continue_train", *flags)
        got = states(loaded)
        for name in NETS:
            assert_same(got[name], want[name])


def test_test_mode_setup_loads_latest_generators_only(tiny_dataset, tmp_path):
    ck = tmp_path / "ck"
    donor = make(tiny_dataset, ck)
    donor.save_networks("latest")
    opt = TestOptions().parse(["--dataroot", str(tiny_dataset), "--checkpoints_dir", str(ck), "--name", "run",
                               "--model", "cycle_gan", "--gpu_ids", "-1", "--ngf", "4", "--ndf", "4", "--netG",
                               "resnet_6blocks", "--preprocess", "none"], save=False)
    tester = create_model(opt)
    tester.setup(opt)
    assert tester.model_names == ["G_A", "G_B"] and not hasattr(tester, "netD_A")
    assert_same(states(tester)["G_A"], states(donor)["G_A"])
    assert_same(states(tester)["G_B"], states(donor)["G_B"])


def test_load_networks_accepts_reference_key_layouts(model):
    """A DataParallel-era file (``module.`` prefix) and pre-0.4 instance-norm buffers load unchanged."""
    torch.manual_seed(3)
    ref = networks.define_G(3, 3, 4, "resnet_6blocks", "instance", False).state_dict()
    legacy = {"module." + k: v for k, v in ref.items()}
    legacy["module.model.2.running_mean"] = torch.zeros(4)  # an InstanceNorm2d buffer of old PyTorch
    legacy["module.model.2.running_var"] = torch.ones(4)
    save_state_dict(legacy, model.network_path("old", "G_A"))
    for name in ("G_B", "D_A", "D_B"):
        save_state_dict(unwrap(model.net(name)).state_dict(), model.network_path("old", name))
    model.load_networks("old")
    assert_same(model.netG_A.state_dict(), ref)


def test_load_networks_missing_file_lists_what_is_there(model):
    model.save_networks(2)
    with pytest.raises(FileNotFoundError) as info:
        model.load_networks(9)
    path = model.save_dir / "9_net_G_A.pth"
    assert str(info.value) == (f"checkpoint {path} not found; available: 2_net_D_A.pth, 2_net_D_B.pth, "
                               "2_net_G_A.pth, 2_net_G_B.pth. Check --name, --epoch and --checkpoints_dir")
    empty = model.save_dir.parent / "none"
    model.save_dir = empty
    with pytest.raises(FileNotFoundError, match=f"available: no checkpoints in {empty}"):
        model.load_networks("latest")


def test_load_networks_refuses_a_discriminator_in_a_generator_file(model):
    model.save_networks("latest")
    path = model.network_path("latest", "G_A")
    save_state_dict(unwrap(model.netD_A).state_dict(), path)
    with pytest.raises(CheckpointError) as info:
        model.load_networks("latest")
    assert str(info.value).startswith(f"checkpoint {path} holds a discriminator state dict, but netG_A is a "
                                      "generator")
    assert "put the generator's weights in latest_net_G_A.pth" in str(info.value)


# --------------------------------------------------------------------------- fine-tuning init
def test_load_network_init_loads_only_the_chosen_generator(model, tmp_path):
    before = states(model)
    torch.manual_seed(11)
    donor = networks.define_G(3, 3, 4, "resnet_6blocks", "instance", False).state_dict()
    save_state_dict(donor, tmp_path / "g.pth")
    assert model.load_network_init(tmp_path / "g.pth") is True  # default: netG_A
    after = states(model)
    assert_same(after["G_A"], donor)
    for name in ("G_B", "D_A", "D_B"):
        assert_same(after[name], before[name])
    assert model.load_network_init(tmp_path / "g.pth", net_name="G_B") is True
    assert_same(states(model)["G_B"], donor)


def test_load_network_init_from_flags_and_default_absent(tiny_dataset, tmp_path, caplog):
    sd = tmp_path / "sd"
    torch.manual_seed(11)
    donor = networks.define_G(3, 3, 4, "resnet_6blocks", "instance", False).state_dict()
    save_state_dict(donor, sd / "mine.pth")
    m = make(tiny_dataset, tmp_path / "ck", "--state_dict_dir", str(sd), "--name_state_dict_init", "mine.pth")
    assert_same(states(m)["G_A"], donor)  # setup() ran the hook
    with caplog.at_level(logging.INFO, logger="models.base_model"):
        assert make(tiny_dataset, tmp_path / "ck2", "--state_dict_dir", str(tmp_path / "empty")).opt
    assert f"no {tmp_path / 'empty' / 'init.pth'}: training netG_A from scratch" in caplog.messages


def test_load_network_init_refuses_a_missing_named_file(model, tmp_path):
    with pytest.raises(ValueError) as info:
        model.load_network_init(tmp_path / "nope.pth")
    assert str(info.value) == (f"--name_state_dict_init: {tmp_path / 'nope.pth'} does not exist; put the generator "
                               "state dict there or fix --state_dict_dir / --name_state_dict_init")


def test_load_network_init_names_a_fifo_or_folder_as_such(model, tmp_path):
    import os

    fifo = tmp_path / "init.pth"
    os.mkfifo(fifo)  # the default name: it is there, so it is not "absent"
    with pytest.raises(ValueError, match=r"init\.pth is not a regular file \(a folder, FIFO or device\)"):
        model.load_network_init(fifo)
    (tmp_path / "dir.pth").mkdir()
    with pytest.raises(ValueError, match="is not a regular file"):
        model.load_network_init(tmp_path / "dir.pth")


def test_load_network_init_refuses_a_wrong_shape_naming_file_and_flags(model, tmp_path):
    before = states(model)["G_A"]
    save_state_dict(networks.define_G(3, 3, 8, "resnet_6blocks", "instance").state_dict(), tmp_path / "wide.pth")
    with pytest.raises(ValueError) as info:
        model.load_network_init(tmp_path / "wide.pth")
    message = str(info.value)
    assert message.startswith(f"--name_state_dict_init: {tmp_path / 'wide.pth'} does not fit the generator built "
                              "from --netG resnet_6blocks --ngf 4 --norm instance --input_nc 3 --output_nc 3: ")
    assert "shape mismatch" in message
    assert_same(states(model)["G_A"], before)  # nothing half-loaded


# --------------------------------------------------------------------------- training state
def test_training_state_round_trip_and_mismatch(model):
    state = model.training_state()
    assert list(state) == ["optimizers", "schedulers", "extra"] and len(state["optimizers"]) == 2
    model.load_training_state(state)
    with pytest.raises(ValueError, match="training state does not match this model's optimisers/schedulers"):
        model.load_training_state({"optimizers": state["optimizers"][:1], "schedulers": state["schedulers"]})
