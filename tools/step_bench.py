"""Where a LoRA training step's time goes on this machine, and what two ways to speed it up would give (issue 11's
"measure where the time goes"): the small profile's r=16 run on ``mlp.c_proj`` (its own first prompts, one
thread), the step as the notebooks run it (the attention the committed bases load with, the fused GELU) against
eager attention, ``torch.compile`` and both, the arms alternating in one process; and the op breakdown of the
step as run (``torch.profiler``: each op's share of the step's CPU time)::

    OMP_NUM_THREADS=1 python -m tools.step_bench [--kind planning|reasoning] [--reps N] [--steps N] [--arms A ...]

Prints one JSON object (seconds per step per arm, the ratio to the step as run, the one-off compile seconds, the
largest ops' shares, the tanh GELU's kernel time against the erf GELU's); nothing is written. Nothing else uses it:
a compiled step gives other float results than the eager one, so no committed result is trained compiled.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import torch

ARMS = ("as run", "eager attention", "compiled", "eager attention, compiled")


def build(config: dict, arm: str):
    """``(model, optimizer, tokenizer)`` of the run's LoRA model in one arm of ``ARMS``; compiling happens at the
    first step (``torch.compile`` is lazy)."""
    from helpers.lora import add_lora, load_base
    from helpers.training import adamw
    if arm not in ARMS:
        raise ValueError(f"arms: allowed values are {list(ARMS)}, got {arm!r}")
    model, tokenizer = load_base(config)
    if "eager attention" in arm:
        model.config._attn_implementation = "eager"
    model = add_lora(model, config["target_modules"], config["last_n_blocks"], config["rank"], config["alpha"])
    optimizer = adamw([p for p in model.parameters() if p.requires_grad], config["lr"], weight_decay=0.0)
    model.train()
    return (torch.compile(model) if "compiled" in arm else model), optimizer, tokenizer


def seconds_per_step(model, optimizer, batches, lr: float) -> float:
    from helpers.training import train_step
    start = time.perf_counter()
    for x, y in batches:
        train_step(model, optimizer, x, y, lr)
    return (time.perf_counter() - start) / len(batches)


def op_shares(model, optimizer, batches, lr: float, top: int = 8) -> dict[str, float]:
    """The ``top`` ops with the most self CPU time over ``batches`` steps, each as a share of all ops' time."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        seconds_per_step(model, optimizer, batches, lr)
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events)
    return {e.key: round(e.self_cpu_time_total / total, 3) for e in events[:top]}


def gelu_kernels_ms(shape: tuple, reps: int = 50) -> dict[str, float]:
    """Milliseconds per call of the GELU the bases run (tanh approximation) and of the exact (erf) GELU, on a
    tensor of the MLP's hidden activations' ``shape``: how much of the GELU's share is its tanh kernel."""
    x = torch.randn(shape)
    out = {}
    for approximate in ("tanh", "none"):
        torch.nn.functional.gelu(x, approximate=approximate)
        start = time.perf_counter()
        for _ in range(reps):
            torch.nn.functional.gelu(x, approximate=approximate)
        out[approximate] = round((time.perf_counter() - start) / reps * 1e3, 3)
    return out


def measure(kind: str = "reasoning", reps: int = 3, steps: int = 10, arms=ARMS) -> dict:
    from helpers.experiments import run_configs
    from helpers.profiles import get_profile
    from tools.stack_bench import stacked_batches
    config = run_configs(get_profile("small"), kind, [16], [0])[0]
    built = {arm: build(config, arm) for arm in arms}
    batches = stacked_batches(config, built[arms[0]][2], 1, steps)
    first = {}
    for arm in arms:  # the first steps compile (or allocate): timed apart
        start = time.perf_counter()
        seconds_per_step(*built[arm][:2], batches[:2], config["lr"])
        first[arm] = round(time.perf_counter() - start, 2)
    times = {arm: [] for arm in arms}
    for _ in range(reps):
        for arm in arms:
            times[arm].append(seconds_per_step(*built[arm][:2], batches, config["lr"]))
    median = {arm: statistics.median(t) for arm, t in times.items()}
    return {"kind": kind, "threads": torch.get_num_threads(), "reps": reps, "steps": steps,
            "prompt_width": batches[0][0].shape[1], "first_two_steps_s": first,
            "s_per_step": {arm: round(v, 4) for arm, v in median.items()},
            "speedup_over_as_run": {arm: round(median[arms[0]] / v, 3) for arm, v in median.items()},
            "op_shares_as_run": op_shares(*built[arms[0]][:2], batches[:5], config["lr"]),
            "gelu_ms_tanh_vs_erf": gelu_kernels_ms((*batches[0][0].shape, 4 * built[arms[0]][0].config.n_embd))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.step_bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=["planning", "reasoning"], default="reasoning")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS),
                        help="the arms to time; the first is the baseline of the ratios (default: all)")
    args = parser.parse_args(argv)
    if args.reps < 1 or args.steps < 3:
        parser.error(f"--reps, --steps: need reps >= 1 and steps >= 3, got {args.reps} and {args.steps}")
    print(json.dumps(measure(args.kind, args.reps, args.steps, tuple(args.arms))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
