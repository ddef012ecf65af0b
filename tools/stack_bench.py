"""Would a sweep run faster with several LoRA runs' batches stacked into one step (issue 11's suggestion)?
An upper bound, measured on one thread: the training step of one LoRA run (small profile, r=16 on
``mlp.c_proj``, its real training prompts) at the run's own batch size and at 2, 3 and 4 times it, the
arms alternating. Stacking K runs can at best reach the K-times batch's samples/s (K adapters in one
step add work, not remove it), so the ratio of those samples/s to the one-run batch's bounds the gain::

    OMP_NUM_THREADS=1 python -m tools.stack_bench [--reps N] [--steps N] [--kind planning|reasoning]

Prints one JSON object (samples/s per stacking factor and the ratio to one run); nothing is written.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import torch

from helpers.encoding import collate, encode
from helpers.experiments import run_configs
from helpers.lora import _epoch_samples, _task, add_lora, load_base
from helpers.profiles import get_profile
from helpers.training import adamw, train_step

FACTORS = (1, 2, 3, 4)


def stacked_batches(config: dict, tokenizer, factor: int, steps: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``steps`` batches of ``factor`` times the run's batch size, cut from the run's own first epoch."""
    rows = [encode(tokenizer, s) for s in _epoch_samples(_task(config["task"]), config["samples_per_epoch"], config["seed"], 0)]
    size = config["batch_size"] * factor
    return [collate([rows[(i * size + j) % len(rows)] for j in range(size)], tokenizer.pad_token_id) for i in range(steps)]


def samples_per_second(model, optimizer, batches, lr: float) -> float:
    start = time.perf_counter()
    for x, y in batches:
        train_step(model, optimizer, x, y, lr)
    return sum(len(x) for x, _ in batches) / (time.perf_counter() - start)


def measure(kind: str = "planning", reps: int = 3, steps: int = 20, factors=FACTORS) -> dict:
    config = run_configs(get_profile("small"), kind, [16], [0])[0]
    model, tokenizer = load_base(config)
    model = add_lora(model, config["target_modules"], config["last_n_blocks"], config["rank"], config["alpha"])
    optimizer = adamw([p for p in model.parameters() if p.requires_grad], config["lr"], weight_decay=0.0)
    model.train()
    batches = {k: stacked_batches(config, tokenizer, k, steps) for k in factors}
    for k in factors:  # warm-up: first calls allocate
        samples_per_second(model, optimizer, batches[k][:2], config["lr"])
    rates = {k: [] for k in factors}
    for _ in range(reps):
        for k in factors:
            rates[k].append(samples_per_second(model, optimizer, batches[k], config["lr"]))
    one = statistics.median(rates[factors[0]])
    return {"kind": kind, "batch_size": config["batch_size"], "threads": torch.get_num_threads(), "reps": reps,
            "steps": steps, "samples_per_s": {str(k): round(statistics.median(r), 1) for k, r in rates.items()},
            "ratio_to_one_run": {str(k): round(statistics.median(r) / one, 3) for k, r in rates.items()}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.stack_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--kind", choices=["planning", "reasoning"], default="planning")
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.kind, args.reps, args.steps)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
