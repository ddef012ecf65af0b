"""The ablation grid of notebook 04, each cell over several seeds:

- rank sweep with alpha = rank/2 (the paper) and with a fixed alpha (control);
- target modules (``mlp.c_proj``, the whole MLP, ``attn.c_proj``, both output projections, ``attn.c_attn``,
  every linear layer) at one rank and one lr (``module_lr``), and which of them learned the task (``module_abilities``);
- number of adapted blocks (the last N) at one rank;
- full fine-tuning vs LoRA at the same number of steps.

``design(profile)`` lists the cells, ``summarize`` turns run results into mean accuracy with a 95%
interval across seeds.
"""
from __future__ import annotations

from .experiments import KINDS, mean_accuracy, run_configs
from .stats import seed_interval


def design(profile: dict, train_bases: bool = False) -> list[dict]:
    """The grid's cells; pure unless ``train_bases`` (a missing base is refused, not trained)."""
    ab = profile["ablations"]
    ranks, seeds, r0 = ab["ranks"], ab["seeds"], ab["module_rank"]
    cells = []

    def add(ablation, kind, setting, x, configs):
        for seed, config in zip(seeds, configs):
            cells.append({"ablation": ablation, "kind": kind, "setting": setting, "x": x, "seed": seed, "config": config})

    for kind in KINDS:
        for rank in ranks:
            add("rank", kind, "alpha = rank/2", rank, run_configs(profile, kind, [rank], seeds, train_bases=train_bases))
            if ab["fixed_alpha"] is not None:  # None: no fixed-alpha control arm
                add("rank", kind, f"alpha = {ab['fixed_alpha']}", rank,
                    run_configs(profile, kind, [rank], seeds, alpha=ab["fixed_alpha"], train_bases=train_bases))
        lr = {} if ab["module_lr"] is None else {"lr": ab["module_lr"]}
        for name, modules in ab["target_modules"].items():
            add("target modules", kind, f"r={r0}" + (f", lr {ab['module_lr']:g}" if lr else ""), name,
                run_configs(profile, kind, [r0], seeds, target_modules=modules, train_bases=train_bases, **lr))
        n_layer = profile["model"]["n_layer"]
        for n in ab["last_n_blocks"] + [None]:
            add("last N blocks", kind, f"r={r0}", n or n_layer,
                run_configs(profile, kind, [r0], seeds, last_n_blocks=n, train_bases=train_bases))
        add("full vs LoRA", kind, "method", f"LoRA r={r0}", run_configs(profile, kind, [r0], seeds, train_bases=train_bases))
        add("full vs LoRA", kind, "method", "full fine-tuning",
            run_configs(profile, kind, [None], seeds, method="full", lr=ab["full_lr"], train_bases=train_bases))
    return cells


def summarize(cells: list[dict], results: list[dict]) -> list[dict]:
    """One row per (ablation, kind, setting, x): mean accuracy over the evaluation points, 95% CI over seeds."""
    groups: dict[tuple, list[float]] = {}
    for cell, result in zip(cells, results):
        key = (cell["ablation"], cell["kind"], cell["setting"], cell["x"])
        groups.setdefault(key, []).append(mean_accuracy(result))
    return [{"ablation": a, "kind": k, "setting": s, "x": x, **seed_interval(v)} for (a, k, s, x), v in groups.items()]


def module_abilities(profile: dict, cells: list[dict], results: list[dict]) -> dict:
    """Which target-module arms learned their task: for each kind, arm and seed, the ability criteria
    (``experiments.diagnose`` against the base on the same prompts, over the trained points), the
    accuracy at each trained point beside the base's, and the failed checks.
    ``{kind: {arm: [{"seed", "passed", "accuracy", "base", "modal", "failing"}, ...]}}``."""
    from .criteria import failures
    from .experiments import diagnose, model_answers, trained_points
    out: dict = {}
    for kind in KINDS:
        arms = [(c, r) for c, r in zip(cells, results) if c["ablation"] == "target modules" and c["kind"] == kind]
        if not arms:
            continue
        base, trained = model_answers(profile, kind), trained_points(profile, kind)
        out[kind] = {}
        for c, r in arms:
            d = diagnose(kind, model_answers(profile, kind, r["adapter_dir"]), base, trained)
            rows = {row["point"]: row for row in d["rows"] if row["point"] in trained}
            out[kind].setdefault(c["x"], []).append({
                "seed": c["seed"], "passed": d["criteria"]["passed"],
                "accuracy": {p: rows[p]["accuracy"] for p in rows},
                "base": {p: sum(base[p]["correct"]) / len(base[p]["correct"]) for p in rows},
                "modal": {p: rows[p].get("modal_position") for p in rows} if kind == "planning" else {},
                "failing": failures(d["criteria"])})
    return out
