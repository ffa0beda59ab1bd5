"""Benchmark: CycleGAN training throughput on the CPU and the cost of a checkpoint save.

Fixed small configuration: resnet_6blocks, ngf 32, ndf 32, 64 px crops, batch 4,
20 timed iterations after 3 warm-up iterations, on the synthetic cartoon/sprite dataset
(datasets/make_synthetic_dataset.py), in float32 and with ``--amp`` (bf16 autocast where the CPU has
bf16 units), alternating A B A B so that the machine's drifting load hits both. Prints iterations/s,
images/s and the bf16/fp32 ratio, peak RSS, and the time of one full checkpoint save (weights of the
four networks + the training-state snapshot) next to the time of one iteration (target: a save
costs less than one iteration).

    python benchmarks/bench_train.py [--iters 20] [--rounds 2] [--no-amp] [--threads N]
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


def _time_training(tmp: Path, root: Path, amp: bool, args) -> tuple[float, float, float, float]:
    """One fresh model trained for ``args.warmup + args.iters`` steps (``--amp`` or not), then three saves:
    ``(iterations/s, median s/iter, median save s, checkpoint MiB)``."""
    from data import create_dataset
    from engine.checkpoint import Progress, save_checkpoint
    from engine.training import seed_everything
    from models import create_model
    from options.train_options import TrainOptions

    name = f"bench_{'bf16' if amp else 'fp32'}"
    opt = TrainOptions().parse([
        "--dataroot", str(root), "--checkpoints_dir", str(tmp / "ck"), "--name", name,
        "--gpu_ids", "-1", "--netG", "resnet_6blocks", "--ngf", "32", "--ndf", "32", "--load_size", "72",
        "--crop_size", "64", "--batch_size", "4", "--num_threads", "0", "--display_id", "0",
    ] + (["--amp"] if amp else []), save=False)
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
    t_start = time.perf_counter()
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
    size_mb = sum(p.stat().st_size for p in (tmp / "ck" / name).glob("latest_*.pth")) / 2**20
    return args.iters / total, statistics.median(step_times), statistics.median(saves), size_mb


def main(argv: list[str] | None = None) -> int:
    """Time training iterations and one checkpoint save of a small CycleGAN and print them; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iters", type=int, default=20, help="timed iterations")
    parser.add_argument("--warmup", type=int, default=3, help="untimed iterations first")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=True,
                        help="also time --amp (bf16 autocast where the CPU has bf16 units), alternating with fp32")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each precision (A B A B ...)")
    args = parser.parse_args(argv)
    if args.iters < 1 or args.warmup < 0 or args.rounds < 1:
        parser.error("--iters and --rounds must be >= 1, --warmup >= 0")

    import torch

    from datasets.make_synthetic_dataset import make_dataset
    from models.amp import cpu_has_bf16

    amp_supported = cpu_has_bf16()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        make_dataset(root, n=20, size=72, seed=0, test_fraction=0.1)
        modes = [False, True] if args.amp else [False]
        runs: dict[bool, list[tuple[float, float, float, float]]] = {m: [] for m in modes}
        for _ in range(args.rounds):  # A B A B: the machine's load drifts, so compare in one run
            for amp in modes:
                runs[amp].append(_time_training(Path(tmp), root, amp, args))

    print(f"CycleGAN resnet_6blocks ngf 32 ndf 32, 64 px crops, batch 4, CPU, torch threads {torch.get_num_threads()}"
          f", {args.rounds} round(s){' fp32/bf16 alternating' if args.amp else ''}")
    print(f"{'precision':>9} | {'iterations/s':>12} | {'images/s':>8} | {'median s/iter':>13} | {'save s':>7} | "
          f"{'save / iter':>11} | {'checkpoint MiB':>14}")
    base = None
    for amp in modes:
        it_s = statistics.median(r[0] for r in runs[amp])
        step = statistics.median(r[1] for r in runs[amp])
        save = statistics.median(r[2] for r in runs[amp])
        size_mb = runs[amp][0][3]
        base = it_s if base is None else base
        label = "bf16" if amp else "fp32"
        print(f"{label:>9} | {it_s:>12.2f} | {4 * it_s:>8.2f} | {step:>13.3f} | {save:>7.3f} | {save / step:>11.2f} | "
              f"{size_mb:>14.1f}" + (f"   ({it_s / base:.2f}x fp32)" if amp else ""))
    step = statistics.median(r[1] for r in runs[False])
    save = statistics.median(r[2] for r in runs[False])
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak_mb:.0f} MiB")
    print(f"target: a save costs less than one iteration -> {'met' if save < step else 'NOT met'}")
    if args.amp and not amp_supported:
        print("--amp: this CPU has no bfloat16 units (AVX-512 BF16 or AMX): the bf16 row ran in float32")
    return 0


if __name__ == "__main__":
    sys.exit(main())
