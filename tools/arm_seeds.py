"""Notebook 05's init and scaling arms on ``attn.c_attn`` (the layer where both tasks learn) at three seeds
instead of one: does "the method, not the task, sets the rank" hold beyond one seed per arm? Every arm
adapter is checked against the ability criteria like the grid's, and the arms' effects are measured as in
the notebook (``rank_study.arm_effects``: each arm's value is now the mean over its seeds, and the largest
seed range of any arm is reported beside the task gap and the method range)::

    python -m tools.arm_seeds              # small profile; writes results/small/05_arm_seeds.json

Runs go to the run cache (``runs/lora/``) through the same sweep as the notebooks, longest first on the
profile's workers; seed 0 of every arm is notebook 05's own run (a rerun loads them). Notebook 05 prints the
stored table beside its arms, so these runs are not part of ``make figures`` (its 30-minute budget). The
profile's worker count stays: it sets each run's thread count, part of a run's identity (``lora.lora_run``).
"""
from __future__ import annotations

import copy

SEEDS = [0, 1, 2]


def seeded_profile(profile: dict, seeds=SEEDS) -> dict:
    """The profile with the arms at ``seeds`` (``rank_analysis.control_seeds``, which sets the arms' seeds)."""
    p = copy.deepcopy(profile)
    p["rank_analysis"]["control_seeds"] = list(seeds)
    return p


def arm_seed_cells(profile: dict) -> list[dict]:
    """The attention grid's trained cells at the arm rank (the default arm, its seeds) and every init and
    scaling arm at ``SEEDS`` on the same layer and lr: ``{"kind", "rank", "seed", "arm", "config"}``."""
    from helpers.rank_study import arm_cells, attention_cells, attention_settings
    rank = profile["rank_analysis"]["arm_rank"]
    grid = [c for c in attention_cells(profile) if c["arm"] == "trained" and c["rank"] == rank]
    return grid + arm_cells(seeded_profile(profile), **attention_settings(profile))


def study(profile: dict, progress: bool = True) -> dict:
    """Train (or load) every cell; the criteria per adapter and the arms' effects for every grid measure."""
    from helpers.rank_study import GRID_MEASURES, abilities, arm_effects, attention_settings, cell_summaries
    from helpers.sweep import run_all
    cells = arm_seed_cells(profile)
    results = run_all(profile, [c["config"] for c in cells], progress=progress)
    passed, accuracy = abilities(profile, cells, results)
    rows = [{k: v for k, v in r.items() if k != "adapter_dir"} for r in cell_summaries(cells, results)]
    rank = profile["rank_analysis"]["arm_rank"]
    learned = learned_rows(rows, passed)
    return {"layer": attention_settings(profile)["target_modules"], "rank": rank, "seeds": SEEDS, "passed": passed,
            "accuracy": accuracy, "effects": [arm_effects(rows, m, rank) for m in GRID_MEASURES],
            "learned_arms": sorted({(r["kind"], r["arm"]) for r in learned}),
            "effects_learned": [arm_effects(learned, m, rank) for m in GRID_MEASURES], "rows": rows}


def learned_rows(rows: list[dict], passed: dict) -> list[dict]:
    """The rows of the arms (the default included) every adapter of which passed the ability criteria, per
    task (``passed``: ``rank_study.abilities``' verdicts, by ``rank_study.adapter_name``).

    >>> rows = [{"kind": "planning", "arm": a, "rank": 4, "seed": s} for a in ("trained", "x", "y") for s in (0, 1)]
    >>> passed = {"planning": {"r4-s0": True, "r4-s1": True, "x r4-s0": True, "x r4-s1": False, "y r4-s0": True,
    ...                        "y r4-s1": True}}
    >>> sorted({r["arm"] for r in learned_rows(rows, passed)})
    ['trained', 'y']
    """
    from helpers.rank_study import adapter_name
    failed = {(r["kind"], r["arm"]) for r in rows if not passed.get(r["kind"], {}).get(adapter_name(r), False)}
    return [r for r in rows if (r["kind"], r["arm"]) not in failed]


def main(argv=None) -> int:
    from helpers.cli import Parser
    from helpers.profiles import get_profile
    from helpers.runs import save_results
    from helpers.tables import arm_seed_lines
    parser = Parser(prog="python -m tools.arm_seeds", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="small", help="profile name (default: small)")
    args = parser.parse_args(argv)
    profile = parser.run(get_profile, args.profile)
    got = study(profile)
    path = save_results(profile, "05_arm_seeds.json", {"profile": args.profile, **got})
    print("\n".join(arm_seed_lines(got)))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
