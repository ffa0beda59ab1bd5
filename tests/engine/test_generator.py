"""engine.generator: the generator stage under --amp (bf16 where the CPU has the units, float32 elsewhere)."""
from __future__ import annotations

import numpy as np
import torch

from engine.generator import GeneratorStage, Guidance
from models import amp, networks


def _tiny(tmp_path):
    torch.manual_seed(0)
    net = networks.define_G(3, 3, 4, "resnet_6blocks", "instance", False, "normal", 0.02)
    path = tmp_path / "g.pth"
    torch.save(net.state_dict(), path)
    return str(path)


def test_amp_runs_in_bf16_where_supported_and_stays_close_to_float32(tmp_path, monkeypatch):
    path = _tiny(tmp_path)
    image = np.random.default_rng(0).integers(0, 256, (24, 20, 3), dtype=np.uint8)
    plain = GeneratorStage(path, overrides={}, device="cpu", gen_size=0)
    monkeypatch.setattr(amp, "cpu_has_bf16", lambda: True)
    mixed = GeneratorStage(path, overrides={}, device="cpu", gen_size=0, amp=True, guidance=Guidance(keep_tone=True))
    assert plain.amp_dtype is None and mixed.amp_dtype == torch.bfloat16
    a, b = plain([image])[0], mixed([image])[0]
    assert a.dtype == b.dtype == np.uint8 and a.shape == b.shape == image.shape
    assert np.abs(a.astype(int) - b.astype(int)).mean() < 4  # bf16 rounding, not another picture


def test_amp_on_a_cpu_without_bf16_warns_and_runs_float32(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(amp, "cpu_has_bf16", lambda: False)
    with caplog.at_level("WARNING", logger="engine.generator"):
        stage = GeneratorStage(_tiny(tmp_path), overrides={}, device="cpu", gen_size=0, amp=True)
    assert stage.amp_dtype is None
    assert "--amp: this CPU has no bfloat16 units" in caplog.text
