"""Benchmark: CycleGAN training throughput on the CPU and the cost of a checkpoint save.

Fixed small configuration: resnet_6blocks, ngf 32, ndf 32, 64 px crops, batch 4,
20 timed iterations after 3 warm-up iterations, on the synthetic cartoon/sprite dataset (datasets/make_synthetic_dataset.py). Prints
iterations/s, images/s, peak RSS, and the time of one full checkpoint save (weights
of the four networks + the training-state snapshot) next to the time of one iteration
(target: a save costs less than one iteration).

    python benchmarks/bench_train.py [--iters 20] [--threads N]
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    """Time training iterations and one checkpoint save of a small CycleGAN and print them; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iters", type=int, default=20, help="timed iterations")
    parser.add_argument("--warmup", type=int, default=3, help="untimed iterations first")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    args = parser.parse_args(argv)

    import torch

    from data import create_dataset
    from datasets.make_synthetic_dataset import make_dataset
    from engine.checkpoint import Progress, save_checkpoint
    from engine.training import seed_everything
    from models import create_model
    from options.train_options import TrainOptions

    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        make_dataset(root, n=20, size=72, seed=0, test_fraction=0.1)
        opt = TrainOptions().parse([
            "--dataroot", str(root), "--checkpoints_dir", str(Path(tmp) / "ck"), "--name", "bench",
            "--gpu_ids", "-1", "--netG", "resnet_6blocks", "--ngf", "32", "--ndf", "32", "--load_size", "72",
            "--crop_size", "64", "--batch_size", "4", "--num_threads", "0", "--display_id", "0",
        ], save=False)
        seed_everything(opt.seed)
        dataset = create_dataset(opt)
        model = create_model(opt)
        model.setup(opt)
        batches = []
        epoch = 1
        while len(batches) < args.warmup + args.iters:
            dataset.set_epoch(epoch)
            batches += list(dataset)
            epoch += 1
        step_times = []
        t_start = None
        for i, batch in enumerate(batches[: args.warmup + args.iters]):
            if i == args.warmup:
                t_start = time.perf_counter()
            t = time.perf_counter()
            model.set_input(batch)
            model.optimize_parameters()
            if i >= args.warmup:
                step_times.append(time.perf_counter() - t)
        total = time.perf_counter() - t_start
        saves = []
        progress = Progress(epoch=1, epoch_iter=4 * args.iters, total_iters=4 * args.iters)
        for _ in range(3):
            t = time.perf_counter()
            save_checkpoint(model, opt, progress, "latest")
            saves.append(time.perf_counter() - t)
        size_mb = sum(p.stat().st_size for p in (Path(tmp) / "ck" / "bench").glob("latest_*.pth")) / 2**20

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    it_s = args.iters / total
    step = statistics.median(step_times)
    save = statistics.median(saves)
    print(f"CycleGAN resnet_6blocks ngf 32 ndf 32, 64 px crops, batch 4, CPU, torch threads {torch.get_num_threads()}")
    print(f"{'iterations/s':>14} | {'images/s':>9} | {'median s/iter':>13} | {'peak RSS MiB':>12} | "
          f"{'save s':>7} | {'save / iter':>11} | {'checkpoint MiB':>14}")
    print(f"{it_s:>14.2f} | {4 * it_s:>9.2f} | {step:>13.3f} | {peak_mb:>12.0f} | {save:>7.3f} | "
          f"{save / step:>11.2f} | {size_mb:>14.1f}")
    print(f"target: a save costs less than one iteration -> {'met' if save < step else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
