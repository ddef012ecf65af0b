"""A dry run of every stage of the pipeline at a profile's real shapes, a few steps each, so a long
run (the ``paper`` profile on a GPU) cannot fail on shapes, memory or plumbing after hours::

    python -m helpers.dryrun --profile paper [--steps 2] [--batch 2]     (or: make dryrun PROFILE=paper)

Stages: the pretraining stand-in, the base fine-tune (both tasks), LoRA on the planning task at the
profile's smallest and largest rank, full fine-tuning, evaluation (greedy exact match), the rank
analysis of the largest-rank adapter, and the report. Each builds its model and batches with the same
functions the real stages use (``helpers.training.train_step`` on ``pretraining_batch`` /
``recipe_batch`` / the LoRA task's encoded samples), at the profile's model, tokenizer, task sizes and
target modules; only the batch is smaller (``--batch``, or each stage's own with ``--profile-batch``) and
the steps few. One line per stage: shapes, seconds per step (the median of the steps after a warm-up one),
peak memory. Writes only to a temporary folder (``--record``: also ``results/<profile>/dryrun[-cuda].json``).
"""
from __future__ import annotations

import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from .base_training import Recipe, hash_token_ids, recipe_batch
from .bases import base_recipe, base_task, curriculum
from .cli import Parser, whole
from .encoding import check_tokenizer_covers, collate, encode
from .evaluation import exact_match, point_samples
from .experiments import task_dict
from .lora import add_lora
from .model import build_model, count_parameters
from .pretraining import Vocab, pretraining_batch
from .profiles import get_profile
from .rank import analyze_adapter, summarize
from .tasks import config_from_dict, generate
from .tokenizer import tokenizer_from_profile
from .training import adamw, prepare_device, schedule, train_step


def peak_memory_gib(device: torch.device) -> float:
    """Peak memory so far: the GPU's allocator peak on CUDA, the process's peak RSS on CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def _time_steps(model, params, batches, lr: float, device) -> float:
    """The median seconds of the steps after the first of ``len(batches)`` (the first warms caches and
    AdamW's state)."""
    optimizer = adamw(params, lr, weight_decay=0.0)
    times = []
    for step, (x, y) in enumerate(batches):
        x, y = x.to(device), y.to(device)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        train_step(model, optimizer, x, y, schedule("constant", step, lr, 0, len(batches)), params=params)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def _line(stage: str, shapes: str, seconds: float | None, device, tokens: int | None = None) -> dict:
    """One stage's row (printed too); ``tokens``: the (padded) tokens of one of its steps."""
    row = {"stage": stage, "shapes": shapes, "seconds_per_step": seconds, "peak_gib": round(peak_memory_gib(device), 2)}
    if tokens is not None and seconds:
        row["tokens_per_step"], row["tokens_per_s"] = tokens, round(tokens / seconds)
    per_step = f"{seconds:7.3f} s/step" if seconds is not None else " " * 13
    print(f"{stage:<22} {per_step}  peak {row['peak_gib']:6.2f} GiB  {shapes}", flush=True)
    return row


def dry_run(profile: dict, steps: int = 2, batch: int | None = 2, device: str | None = None) -> list[dict]:
    """Every stage for ``steps`` steps at batch ``batch`` (``None``: each stage's own batch size in the
    profile, for timings that scale to the real run); returns one row per stage (also printed)."""
    dev = prepare_device(torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu")))
    tok = tokenizer_from_profile(profile["tokenizer"])
    m = profile["model"]
    dims = f"{m['n_layer']} layers x {m['n_embd']}"
    rows = []
    model = build_model(m, tok, seed=0).to(dev)
    rows.append(_line("model", f"{dims}, {count_parameters(model) / 1e6:.1f}M parameters, vocab {len(tok)}", None, dev))

    vocab = Vocab.from_tokenizer(tok, hash_token_ids(tok, **profile["tokenizer"]))
    parts = tuple(profile["pretrain"]["parts"])
    size = batch or profile["pretrain"]["batch_size"]
    batches = [pretraining_batch(parts, vocab, 0, s, size) for s in range(steps)]
    sec = _time_steps(model, list(model.parameters()), batches, profile["pretrain"]["lr"], dev)
    rows.append(_line("pretraining stand-in", f"batch {size} x {batches[-1][0].shape[1]} tokens, {dims}", sec, dev,
                      batches[-1][0].numel()))

    for task in ("hashhop", "hashchain"):
        recipe = base_recipe(task, profile)
        t = base_task(task, profile)
        check_tokenizer_covers(tok, t, what=f"the {profile['name']} tokenizer")
        size = batch or base_recipe(task, profile)["batch_size"]
        batches = [recipe_batch(t, tok, Recipe(**dict(recipe, batch_size=size)), s, curriculum(task, profile))
                   for s in range(steps)]
        sec = _time_steps(model, list(model.parameters()), batches, recipe["lr"], dev)
        rows.append(_line(f"base {task}", f"batch {size} x {max(b[0].shape[1] for b in batches)} tokens", sec, dev,
                          batches[-1][0].numel()))

    lp = profile["lora"]
    task = config_from_dict(task_dict(profile, "planning"))
    profile_batch = batch is None
    batch = batch or lp["batch_size"]
    samples = generate(task, steps * batch, seed=0)
    batches = [collate([encode(tok, s) for s in samples[i * batch:(i + 1) * batch]], tok.pad_token_id) for i in range(steps)]
    longest = max(b[0].shape[1] for b in batches)
    tmp = Path(tempfile.mkdtemp(prefix="dryrun-"))
    adapter = None
    for rank in (min(lp["ranks"]), max(lp["ranks"])):
        lora_model = add_lora(build_model(m, tok, seed=0).to(dev), lp["target_modules"], lp["last_n_blocks"], rank,
                              lp["alpha_ratio"] * rank)
        params = [p for p in lora_model.parameters() if p.requires_grad]
        sec = _time_steps(lora_model, params, batches, lp["lr"], dev)
        rows.append(_line(f"LoRA r={rank}", f"{lp['target_modules']} of {lp['last_n_blocks'] or m['n_layer']} blocks, "
                                            f"{sum(p.numel() for p in params) / 1e6:.2f}M trainable, batch {batch} x {longest}",
                          sec, dev, batches[-1][0].numel()))
        adapter = tmp / f"r{rank}"
        lora_model.save_pretrained(adapter)
    full = build_model(m, tok, seed=0).to(dev)
    sec = _time_steps(full, list(full.parameters()), batches, profile["ablations"]["full_lr"], dev)
    rows.append(_line("full fine-tuning", f"every weight, batch {batch} x {longest}", sec, dev, batches[-1][0].numel()))

    # one full evaluation batch at the profile's batch sizes, so seconds per prompt scale to the real run
    evals = point_samples(task, lp["eval_hops"][:2], batch if not profile_batch else profile["eval"]["batch_size"] // 2)
    flat = [s for group in evals.values() for s in group]
    exact_match(full, tok, flat[:1])  # warm-up
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    start = time.perf_counter()
    exact_match(full, tok, flat)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    per_prompt = (time.perf_counter() - start) / len(flat)
    rows.append(_line("evaluation", f"{len(flat)} prompts, greedy exact match, {per_prompt:.4f} s/prompt", None, dev))
    rows[-1]["seconds_per_prompt"] = per_prompt

    start = time.perf_counter()
    layers = analyze_adapter(adapter)
    mean = summarize(layers)
    rows.append(_line("rank analysis", f"{len(layers)} layers of r={max(lp['ranks'])}, SVD of each delta W "
                                       f"({time.perf_counter() - start:.1f} s); mean thr_1e-3 {mean['thr_1e-3']:.0f}", None, dev))

    from .report import claims
    n = len(claims(profile["name"]))
    rows.append(_line("report", f"{n} claims from results/{profile['name']}/", None, dev))
    return rows


def main(argv=None) -> int:
    parser = Parser(prog="python -m helpers.dryrun", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="paper", help="profile whose shapes to run (default paper)")
    parser.add_argument("--steps", type=whole(2), default=2, help="steps per training stage (>= 2; default 2)")
    parser.add_argument("--batch", type=whole(1), default=2, help="batch size of the dry run (default 2)")
    parser.add_argument("--profile-batch", action="store_true",
                        help="each stage at the profile's own batch size instead of --batch (timings that scale to the "
                             "real run; for a GPU)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default=None, help="default: cuda if available")
    parser.add_argument("--record", action="store_true",
                        help="also store the timings as results/<profile>/dryrun.json (the README's cost table shows "
                             "them); without it nothing is written outside a temporary folder")
    args = parser.parse_args(argv)
    profile = parser.run(get_profile, args.profile)
    start = time.perf_counter()
    batch = None if args.profile_batch else args.batch
    rows = parser.run(dry_run, profile, args.steps, batch, args.device)
    seconds = time.perf_counter() - start
    print(f"dry run of profile {args.profile!r}: every stage ran in {seconds:.0f} s")
    if args.record:
        import os

        import torch as _torch

        from .runs import save_results
        device = args.device or ("cuda" if _torch.cuda.is_available() else "cpu")
        # the CPU record is the README's dry-run column; a GPU's is the measured column beside the estimate
        saved = save_results(profile, "dryrun.json" if device == "cpu" else f"dryrun-{device}.json", {
            "steps": args.steps, "batch": batch or "profile", "seconds": round(seconds, 1), "stages": rows,
            "machine": {"nproc": os.cpu_count(), "torch_threads": _torch.get_num_threads(),
                        "device": device,
                        "gpu": _torch.cuda.get_device_name() if device == "cuda" else None,
                        "loadavg": [round(x, 2) for x in os.getloadavg()]}})
        print(f"wrote {saved}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
