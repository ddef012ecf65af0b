"""Check the generators at scale: ``N`` samples of each task in the paper's default configs, every
label solved again by the oracle, every prompt checked for a repeated hash::

    python -m helpers.sanity --n 1000000 [--task hashhop|hashchain|both] [--seed S] [--out FILE]

Samples are drawn in chunks from one seeded stream (the first ``N`` samples are exactly
``tasks.generate(cfg, N, seed)``), so memory stays flat at any ``N``. A prompt *repeats a hash*
unless every hash but the start appears exactly once as a link's value, the start never does, and
only a HashChain start has more than one outgoing link (a tree of distinct hashes: ``links + 1``
distinct hashes). Each hash must also have the configured length and alphabet, and the metadata
must agree with the prompt (hop count in range; the shortest chain's length).

The result (counts, the first few failures, samples/s, provenance) is written atomically; the exit
status is 0 only if every sample passed. Only the full check (``--n 1000000``, both tasks, seed 0)
writes the committed ``results/sanity.json`` by default; any other run writes under
``runs/sanity/`` unless ``--out`` says where, so a quick check never replaces the committed result.

>>> check_sample(generate(HashHopConfig(), 1, 0)[0], HashHopConfig()) is None
True
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter

from tqdm import tqdm

from .io import atomic_write_json
from .oracle import UnsolvablePrompt, parse, shortest_chain, solve
from .cli import Parser, output_file
from .paths import RESULTS, RUNS
from .runs import provenance
from .tasks import (HashChainConfig, HashHopConfig, Sample, TaskConfig, config_to_dict, generate,
                    hashchain_sample, hashhop_sample)  # generate: used by the doctest above

PAPER_CONFIGS = {"hashhop": HashHopConfig(), "hashchain": HashChainConfig()}
DEFAULT_OUT = RESULTS / "sanity.json"
FULL_RUN = {"n": 1_000_000, "task": "both", "seed": 0}  # the run that owns DEFAULT_OUT
MAX_FAILURES_KEPT = 5


def repeated_hash(sample: Sample, cfg: TaskConfig) -> str | None:
    """Why the prompt's hashes are not a tree of distinct, well-formed hashes, or ``None``."""
    links, query = parse(sample.prompt)
    start = query["Start"]
    keys, values = [k for k, _ in links], [v for _, v in links]
    if len(set(values)) != len(values):
        return "a hash is the value of two links"
    if start in values:
        return "the start hash is also a link's value"
    if not set(keys) <= set(values) | {start}:
        return "a link starts at a hash that is neither the start nor reached"
    out_degree = Counter(keys)
    for key, count in out_degree.items():
        if count > 1 and (key != start or isinstance(cfg, HashHopConfig)):
            return f"hash {key!r} has {count} outgoing links"
    hashes = {start, *keys, *values}
    if len(hashes) != len(links) + 1:
        return f"{len(hashes)} distinct hashes for {len(links)} links"
    bad = [h for h in hashes if len(h) != cfg.hash_length or not set(h) <= set(cfg.alphabet)]
    if bad:
        return f"malformed hash {bad[0]!r}"
    return None


def check_sample(sample: Sample, cfg: TaskConfig) -> str | None:
    """The first problem with one sample (wrong label, repeated hash, metadata), or ``None``."""
    try:
        solved = solve(sample.prompt)
    except UnsolvablePrompt as err:
        return f"oracle: unsolvable prompt ({err})"
    if solved != sample.answer:
        return f"label: generator says {sample.answer!r}, oracle says {solved!r}"
    problem = repeated_hash(sample, cfg)
    if problem:
        return f"repeated hash: {problem}"
    if isinstance(cfg, HashHopConfig):
        if not cfg.min_hops <= sample.meta["hops"] <= cfg.max_hops:
            return f"meta: hops {sample.meta['hops']} outside {cfg.min_hops}..{cfg.max_hops}"
    else:
        links, query = parse(sample.prompt)
        length = shortest_chain(links, query["Start"])[1]
        if length != sample.meta["shortest"]:
            return f"meta: shortest {sample.meta['shortest']} but the prompt's shortest chain has {length} hashes"
    return None


def check_task(cfg: TaskConfig, n: int, seed: int = 0, chunk: int = 10_000, progress: bool = True) -> dict:
    """Generate and check ``n`` samples of one task in chunks; counts, failures and speed."""
    make = hashhop_sample if isinstance(cfg, HashHopConfig) else hashchain_sample
    rng = random.Random(seed)  # the stream tasks.generate(cfg, n, seed) draws from
    counts = Counter()
    failures = []
    start = time.perf_counter()
    with tqdm(total=n, desc=cfg.task, unit="samples", unit_scale=True, disable=not progress) as bar:
        done = 0
        while done < n:
            size = min(chunk, n - done)
            for i in range(done, done + size):
                problem = check_sample(make(cfg, rng), cfg)
                if problem:
                    counts[problem.split(":")[0]] += 1
                    if len(failures) < MAX_FAILURES_KEPT:
                        failures.append({"index": i, "problem": problem})
            done += size
            bar.update(size)
    seconds = time.perf_counter() - start
    n_failed = sum(counts.values())
    return {"task": cfg.task, "config": config_to_dict(cfg), "n": n, "seed": seed, "passed": n - n_failed,
            "failed": n_failed, "failures_by_kind": dict(sorted(counts.items())), "first_failures": failures,
            "seconds": round(seconds, 2), "samples_per_s": round(n / seconds, 1) if seconds > 0 else None}


def run(n: int, tasks=("hashhop", "hashchain"), seed: int = 0, chunk: int = 10_000, progress: bool = True) -> dict:
    results = {task: check_task(PAPER_CONFIGS[task], n, seed, chunk, progress) for task in tasks}
    return {"n": n, "seed": seed, "tasks": results, "ok": all(r["failed"] == 0 for r in results.values()),
            "provenance": provenance()}


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m helpers.sanity", description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=_positive_int, required=True, help="samples per task (>= 1)")
    p.add_argument("--task", choices=("hashhop", "hashchain", "both"), default="both", help="which task (default both)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--chunk", type=_positive_int, default=10_000, help="samples per chunk (default 10000)")
    p.add_argument("--out", type=output_file(), default=None,
                   help="result JSON, written atomically (default: results/sanity.json for the full check "
                        "--n 1000000 of both tasks with seed 0, else runs/sanity/<task>-n<N>-seed<S>.json)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.out is None:
        full = {"n": args.n, "task": args.task, "seed": args.seed} == FULL_RUN
        args.out = DEFAULT_OUT if full else RUNS / "sanity" / f"{args.task}-n{args.n}-seed{args.seed}.json"
    tasks = ("hashhop", "hashchain") if args.task == "both" else (args.task,)
    result = run(args.n, tasks, args.seed, args.chunk, progress=not args.no_progress)
    result["command"] = ["python", "-m", "helpers.sanity", *(sys.argv[1:] if argv is None else argv)]
    atomic_write_json(args.out, result)
    for task, r in result["tasks"].items():
        verdict = "all passed" if r["failed"] == 0 else f"{r['failed']} FAILED {r['failures_by_kind']}"
        print(f"{task}: {r['n']:,} samples, {verdict}; {r['samples_per_s']:,.0f} samples/s ({r['seconds']} s)")
    print(f"wrote {args.out}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
