"""From a profile to run configs and back to tables: the glue that keeps notebooks 03-05 short.

``kind`` is ``"planning"`` (HashHop LoRA on the HashHop base) or ``"reasoning"`` (HashChain LoRA on
the HashChain base), as in the paper.
"""
from __future__ import annotations

from pathlib import Path

from .bases import get_base
from .encoding import check_tokenizer_covers
from .evaluation import evaluate_points
from .stats import seed_interval, wilson_interval
from .model import load_pretrained
from .runs import sha256_file
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


def base_for(profile: dict, kind: str, progress: bool = True, train: bool = True):
    return get_base(_kind(kind), profile, progress=progress, train=train)


def base_fingerprint(base) -> str:
    weights = Path(base) / "model.safetensors"
    return sha256_file(weights) if weights.exists() else str(base)


def run_configs(profile: dict, kind: str, ranks: list[int], seeds: list[int], alpha: float | None = None,
                eval_n: int | None = None, train_bases: bool = False, **overrides) -> list[dict]:
    """One LoRA run config per (rank, seed); alpha is ``alpha_ratio * rank`` unless fixed. With
    ``method="full"`` every weight is trained instead (rank and alpha are then recorded as None).
    Building configs never trains a model: a base that is not there yet is refused (``MissingFileError``)
    unless ``train_bases=True`` (notebook 02 trains the bases of a ``base_source: "train"`` profile).

    The default run (no ``alpha``, ``eval_n`` or overrides) at the rank grid's largest rank and first seed
    also saves its adapter at ``rank_analysis.snapshots`` (notebook 05's rank over training): notebooks
    03-05 then share that one run instead of training it once with and once without snapshots."""
    lp = profile["lora"]
    common = {k: lp[k] for k in ("target_modules", "last_n_blocks", "dropout", "lr", "batch_size", "steps",
                                 "warmup_steps", "samples_per_epoch", "fresh_each_epoch")}
    common.update(overrides)
    ra = profile["rank_analysis"]
    settings = []
    for rank in ranks:
        for seed in seeds:
            a = None if rank is None else float(alpha if alpha is not None else lp["alpha_ratio"] * rank)
            settings.append(dict(common, rank=rank, alpha=a, seed=seed))
            if not overrides and alpha is None and eval_n is None and rank == max(ra["ranks"]) and seed == ra["seeds"][0]:
                settings[-1]["snapshots"] = list(ra["snapshots"])
    points, n = eval_points(profile, kind), eval_n or profile["eval"]["n_per_point"]
    for s in settings:  # refuse bad settings before a base is loaded (or trained)
        lora_run_config("<base>", "", task_dict(profile, kind), points, n, **s)
    base = base_for(profile, kind, train=train_bases)
    fingerprint = base_fingerprint(base)
    return [lora_run_config(base, fingerprint, task_dict(profile, kind), points, n, **s) for s in settings]


def sweep_steps(profile: dict, kind: str) -> int:
    """How long each run of notebook 03's sweep of ``kind`` trains: ``lora.steps_x[kind]`` times ``lora.steps``.

    >>> sweep_steps({"lora": {"steps": 600, "steps_x": {"planning": 16, "reasoning": 1}}}, "planning")
    9600
    """
    _kind(kind)
    lp = profile["lora"]
    x = lp["steps_x"].get(kind) if isinstance(lp["steps_x"], dict) else None
    if not isinstance(x, int) or isinstance(x, bool) or x < 1:
        raise TaskConfigError(f"lora.steps_x: needs an integer >= 1 for each of {sorted(KINDS)}, got {lp['steps_x']!r}")
    return lp["steps"] * x


def sweep_configs(profile: dict, kind: str, train_bases: bool = False) -> list[dict]:
    """Notebook 03's sweep of ``kind``: every rank and seed of ``lora``, each run ``sweep_steps`` long (planning's
    3rd hop needs 16x the steps on the paper's layer). At ``lora.steps`` the runs are the rank grid's own, shared with
    notebooks 04-05 (the largest rank's first seed with its snapshots)."""
    steps = sweep_steps(profile, kind)
    longer = {} if steps == profile["lora"]["steps"] else {"steps": steps}
    return run_configs(profile, kind, profile["lora"]["ranks"], profile["lora"]["seeds"], train_bases=train_bases, **longer)


def evaluate_base(profile: dict, kind: str) -> list[dict]:
    """The base model's accuracy on the LoRA task's evaluation points (same prompts as the runs)."""
    base = base_for(profile, kind)
    model, tokenizer = load_pretrained(base)
    task = config_from_dict(task_dict(profile, kind))
    check_tokenizer_covers(tokenizer, task, what=f"base {base}")
    return evaluate_points(model, tokenizer, task, eval_points(profile, kind), profile["eval"]["n_per_point"])


def mean_accuracy(result: dict) -> float:
    """A run's accuracy averaged over its evaluation points (each point weighs the same)."""
    rows = result["accuracy"]
    return sum(r["accuracy"] for r in rows) / len(rows)


# ----------------------------------------------------------------------------- did it learn the ability?
def trained_points(profile: dict, kind: str) -> list[int]:
    """The hop counts (planning) or shortest lengths (reasoning) the LoRA task trains on."""
    task = config_from_dict(task_dict(profile, kind))
    if kind == "planning":
        return list(range(task.min_hops, task.max_hops + 1))
    return list(task.chain_lengths[:-1])


def model_answers(profile: dict, kind: str, adapter_dir: str | None = None) -> dict:
    """Greedy answers of the base (``adapter_dir=None``), of one adapter, or of a fully fine-tuned model
    (``adapter_dir`` = its run's ``model`` folder) on the LoRA task's evaluation prompts (the same
    prompts for every model, so verdicts are paired)."""
    from .diagnostics import answer_points, scored
    from .evaluation import point_samples
    from .lora import load_adapter, stored_answers
    task = config_from_dict(task_dict(profile, kind))
    points, n = eval_points(profile, kind), profile["eval"]["n_per_point"]
    stored = stored_answers(adapter_dir, points, n) if adapter_dir else None
    if stored is not None:  # the run answered these very prompts when it finished
        return {p: scored(samples, stored[p]) for p, samples in point_samples(task, points, n).items()}
    base = base_for(profile, kind, progress=False)
    if adapter_dir and not (Path(adapter_dir) / "adapter_config.json").is_file():
        model, tokenizer = load_pretrained(adapter_dir, tokenizer_from=base)  # a fully fine-tuned model: weights only
    else:
        model, tokenizer = load_adapter(str(base), adapter_dir) if adapter_dir else load_pretrained(base)
    return answer_points(model, tokenizer, task, points, n)


def diagnose(kind: str, answers: dict, base: dict, trained: list[int]) -> dict:
    """Everything notebook 03 says about one model on one task, per evaluation point: accuracy with
    its Wilson interval, the answer structure (HashHop: position histogram; HashChain: category
    shares), the structural baselines, and the exact McNemar test against the base on the same
    prompts; plus the ability criteria (``helpers.criteria``) over the trained points."""
    from . import criteria
    from .diagnostics import category_shares, hop_agnostic, modal_position, position_histogram, random_chain_end
    from .stats import mcnemar
    rows = []
    for point, got in answers.items():
        samples, correct = got["samples"], got["correct"]
        lo, hi = wilson_interval(sum(correct), len(correct))
        row = {"point": point, "n": len(correct), "accuracy": sum(correct) / len(correct), "ci_low": lo, "ci_high": hi,
               "vs_base": mcnemar(base[point]["correct"], correct)}
        if kind == "planning":
            row["positions"] = position_histogram(samples, got["answers"])
            row["modal_position"] = modal_position(row["positions"])
            row["hop_agnostic"] = hop_agnostic(trained)
        else:
            row["categories"] = category_shares(samples, got["answers"])
            row["random_chain_end"] = random_chain_end(samples)
        rows.append(row)
    trained = [p for p in trained if p in answers]  # only the trained points that are evaluated can be checked
    acc = {r["point"]: r["accuracy"] for r in rows}
    base_acc = {p: sum(g["correct"]) / len(g["correct"]) for p, g in base.items()}
    if kind == "planning":
        verdict = criteria.planning_adapter(trained, acc, base_acc, {r["point"]: r["modal_position"] for r in rows})
    else:
        verdict = criteria.reasoning_adapter(trained, acc, base_acc, {r["point"]: r["random_chain_end"] for r in rows})
    return {"rows": rows, "criteria": verdict}


def seed_table(diagnoses: list[dict], key: str) -> list[dict]:
    """Per evaluation point: mean accuracy over seeds with a 95% t-interval across them, in the row
    format of ``plotting.accuracy_figure`` (one seed: its Wilson interval)."""
    rows = []
    for i, first in enumerate(diagnoses[0]["rows"]):
        values = [d["rows"][i]["accuracy"] for d in diagnoses]
        interval = seed_interval(values)
        low, high = (interval["low"], interval["high"]) if len(values) > 1 else (first["ci_low"], first["ci_high"])
        rows.append({key: first["point"], "accuracy": interval["mean"], "ci_low": max(0.0, low), "ci_high": min(1.0, high),
                     "n_seeds": len(values), "seeds": values})
    return rows
