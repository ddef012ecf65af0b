"""From a profile to run configs and back to tables: the glue that keeps notebooks 03-05 short.

``kind`` is ``"planning"`` (HashHop LoRA on the HashHop base) or ``"reasoning"`` (HashChain LoRA on
the HashChain base), as in the paper.
"""
from __future__ import annotations

from pathlib import Path

from .bases import get_base
from .evaluation import evaluate_points
from .model import load_pretrained
from .runs import sha256_file
from .sweep import run_jobs
from .tasks import TaskConfigError, config_from_dict
from .lora import lora_run_config

KINDS = {"planning": "hashhop", "reasoning": "hashchain"}
POINT_KEY = {"planning": "hops", "reasoning": "shortest"}


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise TaskConfigError(f"kind: allowed values are {sorted(KINDS)}, got {kind!r}")
    return KINDS[kind]


def task_dict(profile: dict, kind: str) -> dict:
    """The LoRA training task of ``kind`` in this profile, with the profile's hash format."""
    hashes = {k: profile["tokenizer"][k] for k in ("alphabet", "hash_length")}
    return {"task": _kind(kind), **profile["lora"][kind], **hashes}


def eval_points(profile: dict, kind: str) -> list[int]:
    return profile["lora"]["eval_hops" if kind == "planning" else "eval_shortest"]


def base_for(profile: dict, kind: str, progress: bool = True):
    return get_base(_kind(kind), profile, progress=progress)


def base_fingerprint(base) -> str:
    weights = Path(base) / "model.safetensors"
    return sha256_file(weights) if weights.exists() else str(base)


def run_configs(profile: dict, kind: str, ranks: list[int], seeds: list[int], alpha: float | None = None,
                eval_n: int | None = None, **overrides) -> list[dict]:
    """One LoRA run config per (rank, seed); alpha is ``alpha_ratio * rank`` unless fixed. With
    ``method="full"`` every weight is trained instead (rank and alpha are then recorded as None)."""
    lp = profile["lora"]
    common = {"target_modules": lp["target_modules"], "last_n_blocks": lp["last_n_blocks"], "dropout": lp["dropout"],
              "lr": lp["lr"], "batch_size": lp["batch_size"], "steps": lp["steps"], "warmup_steps": lp["warmup_steps"]}
    common.update(overrides)
    settings = []
    for rank in ranks:
        for seed in seeds:
            a = None if rank is None else float(alpha if alpha is not None else lp["alpha_ratio"] * rank)
            settings.append(dict(common, rank=rank, alpha=a, seed=seed))
    points, n = eval_points(profile, kind), eval_n or profile["eval"]["n_per_point"]
    for s in settings:  # refuse bad settings before a base is loaded (or trained)
        lora_run_config("<base>", "", task_dict(profile, kind), points, n, **s)
    base = base_for(profile, kind)
    fingerprint = base_fingerprint(base)
    return [lora_run_config(base, fingerprint, task_dict(profile, kind), points, n, **s) for s in settings]


def run_all(profile: dict, configs: list[dict], progress: bool = True) -> list[dict]:
    return run_jobs(configs, workers=profile["workers"], progress=progress)


def evaluate_base(profile: dict, kind: str) -> list[dict]:
    """The base model's accuracy on the LoRA task's evaluation points (same prompts as the runs)."""
    model, tokenizer = load_pretrained(base_for(profile, kind))
    task = config_from_dict(task_dict(profile, kind))
    return evaluate_points(model, tokenizer, task, eval_points(profile, kind), profile["eval"]["n_per_point"])


# Student's t 97.5% quantiles for 1..30 degrees of freedom (n seeds -> n - 1 degrees).
T_975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
         2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def mean_accuracy(result: dict) -> float:
    """A run's accuracy averaged over its evaluation points (each point weighs the same)."""
    rows = result["accuracy"]
    return sum(r["accuracy"] for r in rows) / len(rows)


def seed_interval(values: list[float]) -> dict:
    """Mean and 95% t-interval across seeds (n < 2: no interval)."""
    from statistics import mean, stdev
    n = len(values)
    m = mean(values)
    if n < 2:
        return {"mean": m, "low": m, "high": m, "n": n, "values": values}
    t = T_975[n - 2] if n - 2 < len(T_975) else 1.96
    half = t * stdev(values) / n ** 0.5
    return {"mean": m, "low": m - half, "high": m + half, "n": n, "values": values}
