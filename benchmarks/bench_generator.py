"""Benchmark: pixelize's per-image time with the generator stage vs the bare generator forward.

A randomly initialised resnet_9blocks (ngf 64, instance norm) at 256x256 on the CPU.
Both are measured in the same run, for batch sizes 1 and 4:

* bare: ``generator(x)`` under ``torch.inference_mode`` on a ready tensor;
* pixelize: the whole job on a folder of PNGs (decode, conversion, padding, forward,
  post-processing, indexed-PNG save, atomic rename) divided by the number of images.

The overhead target is <= 10 %. Prints a table and the ratios.

    python benchmarks/bench_generator.py [--images 8] [--repeats 3] [--threads N]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    """Time the bare generator and pixelize's generator stage and print the overhead; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=8, help="images per pixelize run (a multiple of 4)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats; the median is reported")
    parser.add_argument("--size", type=int, default=256, help="image side in pixels")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    args = parser.parse_args(argv)

    import numpy as np
    import torch

    from engine.generator import GeneratorStage
    from engine.jobs import collect_jobs
    from engine.pixelize import Pixelizer
    from models import networks
    from options import pixelize_options
    from util.checkpoint import save_state_dict
    from util.image import save_image

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    size = args.size
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        net = networks.define_G(3, 3, 64, "resnet_9blocks", "instance", False)
        save_state_dict(net.state_dict(), tmp / "g.pth")
        yy, xx = np.mgrid[0:size, 0:size] / size
        for i in range(args.images):
            img = np.stack([np.sin(6 * xx + i), np.cos(5 * yy - i), np.sin(4 * (xx + yy) + 2 * i)], -1)
            img = (img + 1) * 127.5 + rng.normal(0, 3, img.shape)
            save_image(tmp / "in" / f"img{i}.png", np.clip(img, 0, 255).astype(np.uint8))

        t0 = time.perf_counter()
        stage = GeneratorStage(str(tmp / "g.pth"), overrides={}, device="cpu", gen_size=0)
        load_s = time.perf_counter() - t0
        net = stage.net
        rows = []
        for batch in (1, 4):
            opt = pixelize_options.parse(["--input", str(tmp / "in"), "--output", str(tmp / f"out{batch}"),
                                          "--batch_size", str(batch), "--no_html", "--overwrite",
                                          "--model_path", str(tmp / "g.pth"), "--gen_size", "0"])
            jobs, _ = collect_jobs(opt.input)
            runner = Pixelizer(opt, generator=stage)
            x = torch.rand(batch, 3, size, size) * 2 - 1
            with torch.inference_mode():
                net(x)  # warm-up
            bare, runs = [], []
            for _ in range(args.repeats):  # interleaved, so drifts in machine load hit both alike
                with torch.inference_mode():
                    t = time.perf_counter()
                    for _ in range(len(jobs) // batch):
                        net(x)
                    bare.append((time.perf_counter() - t) / len(jobs))
                t = time.perf_counter()
                summary = runner.run(jobs, lambda outcome: None)
                runs.append((time.perf_counter() - t) / len(jobs))
                assert summary.done == len(jobs), summary.line(opt.output)
            rows.append((batch, statistics.median(bare), statistics.median(runs)))

    print(f"resnet_9blocks ngf 64 instance, {size}x{size}, CPU, torch threads {torch.get_num_threads()}, "
          f"{args.images} images, median of {args.repeats}; model load {load_s * 1000:.0f} ms (once)")
    print(f"{'batch':>5} | {'bare forward s/img':>18} | {'pixelize s/img':>14} | {'overhead':>8} | {'pixelize img/s':>14}")
    for batch, b, p in rows:
        print(f"{batch:>5} | {b:>18.3f} | {p:>14.3f} | {100 * (p / b - 1):>7.1f}% | {1 / p:>14.2f}")
    worst = max(p / b - 1 for _, b, p in rows)
    print(f"target: overhead <= 10% -> {'met' if worst <= 0.10 else 'NOT met'} (worst {100 * worst:.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
