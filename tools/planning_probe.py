"""What it takes for an adapter to learn the 3rd hop: planning runs on the committed HashHop base that
vary one thing at a time from notebook 03's setting (chain length, adapted layers, training steps,
LoRA or full fine-tuning), each evaluated like every LoRA run (held-out prompts, greedy exact match)
and checked against the ability criteria (``helpers.criteria``) over the trained hop counts.

    python -m tools.planning_probe              # small profile; writes results/small/planning_probes.json

Runs go to the run cache (``runs/lora/``) through the same sweep as the notebooks, longest first on
the profile's workers; a rerun loads them. Notebook 04 prints the stored table beside its module
ablation, so these longer runs are not part of ``make figures``.
"""
from __future__ import annotations

import copy
from pathlib import Path

ALL_LINEAR = ["attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"]
WHOLE_MLP = ["mlp.c_fc", "mlp.c_proj"]
# (name, planning task, run settings over the profile's LoRA settings); rank 64 = the full width here;
# seed 0 unless the settings name seeds. The "lr 3e-3" arms are notebook 04's module arms at two more seeds:
# is its one-seed contrast between the MLP (mlp.c_proj, the whole MLP) and attn.c_attn a seed's luck?
ARMS = [
    ("10-hash chains, all linear, 4x steps", {"chain_length": 10}, {"target_modules": ALL_LINEAR, "steps_x": 4}),
    ("5-hash chains, mlp.c_proj, 4x steps", {}, {"steps_x": 4}),
    ("5-hash chains, attn.c_attn, 4x steps", {}, {"target_modules": ["attn.c_attn"], "steps_x": 4}),
    ("5-hash chains, all linear, 4x steps", {}, {"target_modules": ALL_LINEAR, "steps_x": 4}),
    ("5-hash chains, full fine-tuning (lr 3e-4), 4x steps", {}, {"method": "full", "lr": 3e-4, "steps_x": 4}),
    ("5-hash chains, whole MLP, 4x steps", {}, {"target_modules": WHOLE_MLP, "steps_x": 4, "seeds": [0, 1]}),
    ("5-hash chains, mlp.c_proj, lr 3e-3", {}, {"lr": 3e-3, "seeds": [1, 2]}),
    ("5-hash chains, whole MLP, lr 3e-3", {}, {"target_modules": WHOLE_MLP, "lr": 3e-3, "seeds": [1, 2]}),
    ("5-hash chains, attn.c_attn, lr 3e-3", {}, {"target_modules": ["attn.c_attn"], "lr": 3e-3, "seeds": [1, 2]}),
    # rsLoRA (scale alpha/sqrt(r): 8x the default's at r = 64) lifts the whole MLP's 3rd hop from 0.53-0.57 to
    # 0.81-0.87 at 4x the steps (tools.whole_mlp_grid --arms), but not mlp.c_proj's at 600 steps (0.45, notebook 05):
    # does the paper's layer alone learn the hop with it, given the steps?
    ("5-hash chains, mlp.c_proj, rsLoRA, 4x steps", {}, {"use_rslora": True, "steps_x": 4, "seeds": [0, 1, 2]}),
    ("5-hash chains, mlp.c_proj, rsLoRA, 16x steps", {}, {"use_rslora": True, "steps_x": 16}),
    ("5-hash chains, mlp.c_proj, 16x steps", {}, {"steps_x": 16, "seeds": [0, 1, 2]}),
]


def _arm_profile(profile: dict, task: dict) -> dict:
    p = copy.deepcopy(profile)
    p["lora"]["planning"] = dict(p["lora"]["planning"], **task)
    return p


def arm_configs(profile: dict, rank: int = 64) -> list[tuple[str, dict, dict]]:
    """``(arm name, planning task change, run config)`` per arm and seed: the profile's planning LoRA
    settings with the arm's changes."""
    from helpers.experiments import run_configs
    out = []
    for name, task, settings in ARMS:
        extra = {k: v for k, v in settings.items() if k not in ("steps_x", "seeds")}
        extra["steps"] = profile["lora"]["steps"] * settings.get("steps_x", 1)
        r = None if extra.get("method") == "full" else rank
        for config in run_configs(_arm_profile(profile, task), "planning", [r], settings.get("seeds", [0]), **extra):
            out.append((name, task, config))
    return out


def probe(profile: dict, progress: bool = True) -> list[dict]:
    """Train (or load) every arm and check it against the base on the same prompts."""
    from helpers.criteria import failures
    from helpers.experiments import diagnose, model_answers, trained_points
    from helpers.sweep import run_all
    arms = arm_configs(profile)
    results = run_all(profile, [config for _, _, config in arms], progress=progress)
    rows = []
    for (name, task, config), result in zip(arms, results):
        p = _arm_profile(profile, task)
        base = model_answers(p, "planning")
        trained = trained_points(p, "planning")
        trained_dir = result["adapter_dir"] or str(Path(result["run_dir"]) / "model")  # LoRA, or full fine-tuning
        d = diagnose("planning", model_answers(p, "planning", trained_dir), base, trained)
        rows.append({"arm": name, "seed": config["seed"], "task": config["task"], "steps": config["steps"], "lr": config["lr"],
                     "target_modules": config["target_modules"] if config.get("method", "lora") == "lora" else "all weights",
                     "passed": d["criteria"]["passed"], "failing": failures(d["criteria"]),
                     "points": [{"hops": r["point"], "accuracy": r["accuracy"], "modal_position": r["modal_position"],
                                 "base": sum(base[r["point"]]["correct"]) / len(base[r["point"]]["correct"])}
                                for r in d["rows"]]})
    return rows


def main(argv=None) -> int:
    from helpers.cli import Parser
    from helpers.profiles import get_profile
    from helpers.runs import save_results
    from helpers.tables import probe_row
    parser = Parser(prog="python -m tools.planning_probe", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="small", help="profile name (default: small)")
    args = parser.parse_args(argv)
    profile = parser.run(get_profile, args.profile)
    rows = probe(profile)
    path = save_results(profile, "planning_probes.json", {"profile": args.profile, "rows": rows})
    for r in rows:
        print(probe_row(r))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
