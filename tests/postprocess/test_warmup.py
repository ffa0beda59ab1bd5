"""postprocess.warmup: the ahead-of-use kernel compile step that `make` runs after installing."""
from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT
from postprocess import warmup

#: Run in a fresh interpreter (kernels compiled by other tests would hide what warm_up does): the
#: numba specialisations (kernel -> signatures) before warm_up, after it, and after running the
#: pipelines on other sizes and settings than warm_up uses.
PROBE = r"""
import json
import numpy as np
from numba.core.registry import CPUDispatcher
from postprocess._kernels import _shared, cells, colour, palette

def specialisations():
    return {f"{m.__name__}.{n}": sorted(map(str, f.signatures)) for m in (_shared, cells, colour, palette)
            for n, f in vars(m).items() if isinstance(f, CPUDispatcher) and f.__module__ == m.__name__}

from postprocess import dither, pixelize_frames, pixelize_image, warmup
before = specialisations()
seconds = warmup.warm_up(seed=3)
after = specialisations()
rng = np.random.default_rng(5)
rgb = rng.integers(0, 256, (50, 61, 3), dtype=np.uint8)
rgba = np.dstack([rgb, rng.integers(0, 256, (50, 61), dtype=np.uint8)])
pixelize_image(rgb, pixel_size=5)
pixelize_image(rgb, pixel_size=3, n_colors=9, min_delta_e=6.0, vivid=False, cleanup=False)
pixelize_image(rgb, pixel_size=3, palette=np.array([[0, 0, 0], [255, 255, 255], [200, 30, 30]], np.uint8))
pixelize_image(rgb, pixel_size=3, saturation=1.5, contrast=1.3, outline=0.5)
pixelize_image(rgba, pixel_size=5, keep_alpha=False)
for mode in dither.DITHER_MODES:
    pixelize_image(rgba, pixel_size=5, n_colors=4, dither=mode)
list(pixelize_frames([rgb, rgb, rgb], pixel_size=5))
list(pixelize_frames([rgba, rgba], pixel_size=5, n_colors=3, dither="ordered"))
print(json.dumps({"before": before, "after": after, "later": specialisations(), "seconds": seconds}))
"""


def test_warm_up_compiles_every_specialisation_the_pipelines_use():
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(proc.stdout.splitlines()[-1])
    assert not any(data["before"].values())  # nothing compiled before warm_up in a fresh process
    compiled = {name for name, sigs in data["after"].items() if sigs}
    assert {"postprocess._kernels.palette.nearest", "postprocess._kernels.cells.reduce_cells_u8",
            "postprocess._kernels.colour.srgb_u8_to_xyzn", "postprocess._kernels.palette.kmeanspp"} <= compiled
    new = {name: sorted(set(data["later"][name]) - set(data["after"][name])) for name in data["later"]}
    assert {name: sigs for name, sigs in new.items() if sigs} == {}, "specialisations warm_up missed"
    assert isinstance(data["seconds"], float) and data["seconds"] > 0.0


def test_warm_up_cli(capsys):
    assert warmup.main([]) == 0
    assert capsys.readouterr().out.startswith("postprocess kernels ready in ")
    assert warmup.main(["--bogus"]) == 2
    assert "usage: python -m postprocess.warmup" in capsys.readouterr().err
