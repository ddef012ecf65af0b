"""The README's claims table, generated from the notebooks' results files (never typed by hand).

``python -m helpers.report`` rewrites the part of README.md between ``<!-- claims:start -->`` and
``<!-- claims:end -->`` (and the benchmark between ``<!-- bench:start/end -->``) and writes
``results/claims.json``. ``make figures`` runs it after the notebooks.
"""
from __future__ import annotations

import json
import re
import sys

from .criteria import failures
from .errors import Refused
from .rank_study import claim_verdict, first_passing, key_rank, study_file
from .tables import first_passing_seeds_text, overlap_text
from .io import atomic_write_json, atomic_write_text
from .stats import seed_interval
from .paths import REPO_ROOT, RESULTS


def _load(profile: str, name: str):
    path = RESULTS / profile / name
    return json.loads(path.read_text()) if path.exists() else None


def _mean(rows):
    return sum(r["accuracy"] for r in rows) / len(rows)


# The paper's numbers beside the structural baselines of its own setups (README, "paper vs baselines"):
# HashHop on 20-hash chains: a uniform guess among the 19 non-start hashes is 1/19; its planning LoRA
# trained on hops 1-10, so a hop-agnostic model that follows the chain scores at most 1/10 averaged over
# them. HashChain with 3-4 chains: naming a random chain's end scores 1/3.5 on average (1/4 with 4 chains).
PAPER_BASELINES = [
    {"what": "HashHop base, 2 hops (20-hash chains)", "paper": 0.75, "uniform": 1 / 19, "structural": 1 / 2,
     "structural_is": "hop-agnostic over hops 1-2"},
    {"what": "HashHop best LoRA, 3 hops", "paper": 0.84, "uniform": 1 / 19, "structural": 1 / 10,
     "structural_is": "hop-agnostic over hops 1-10"},
    {"what": "HashHop best LoRA, 5 hops", "paper": 0.59, "uniform": 1 / 19, "structural": 1 / 10,
     "structural_is": "hop-agnostic over hops 1-10"},
    {"what": "HashChain base, shortest 2 (3-4 chains)", "paper": 0.75, "uniform": None, "structural": 1 / 3.5,
     "structural_is": "random chain end"},
    {"what": "HashChain base, shortest 6 (3-4 chains)", "paper": 0.27, "uniform": None, "structural": 1 / 3.5,
     "structural_is": "random chain end"},
    {"what": "HashChain LoRA overall (4 chains)", "paper": 0.38, "uniform": None, "structural": 1 / 4,
     "structural_is": "random chain end"},
]
TASK_NAME = {"planning": "HashHop", "reasoning": "HashChain"}
KEY = {"planning": "hops", "reasoning": "shortest"}


def _headline(lora: dict, kind: str) -> dict:
    """The largest rank's adapters of ``kind`` over all seeds: which pass the criteria, the failures."""
    rank = max(lora["ranks"])
    runs = {k: v for k, v in lora["lora"][kind].items() if k.startswith(f"r{rank}-")}
    failing = {k: failures(v["criteria"]) for k, v in runs.items()}
    return {"rank": rank, "runs": runs, "failing": {k: f for k, f in failing.items() if f}}


def _steps_text(lora: dict, kind: str) -> str:
    """``", 9,600 steps"``: how long notebook 03's sweep of ``kind`` trained (``""`` in results from before it saved it)."""
    return f", {lora['steps'][kind]:,} steps" if "steps" in lora else ""


def learned(lora: dict | None, kind: str, ranks=None) -> tuple[bool, str]:
    """Whether every adapter of ``kind`` (at ``ranks``, default all) passes the ability criteria, and
    if not, why (the first failing adapter's failed checks)."""
    if not lora:
        return False, "no LoRA results"
    bad, considered = [], 0
    for name, d in sorted(lora["lora"][kind].items()):
        if ranks is None or key_rank(name) in ranks:
            considered += 1
            if not d["criteria"]["passed"]:
                bad.append(name)
    if not bad:
        return True, ""
    why = "; ".join(failures(lora["lora"][kind][bad[0]]["criteria"]))
    return False, f"{len(bad)} of {considered} {kind} adapters fail the ability criteria (e.g. {bad[0]}: {why})"


def grid_learned(rank: dict, kind: str) -> str:
    """Why the rank analysis' ``kind`` adapters cannot carry a verdict ('' if every one passed the
    ability criteria that notebook 05 checks for each adapter of its grid: ``passed``)."""
    if "passed" not in rank:
        return "results without the ability check of every adapter"
    bad = sorted((k for k, ok in rank["passed"][kind].items() if not ok), key=lambda k: (key_rank(k), k))
    if not bad:
        return ""
    return f"{len(bad)} of {len(rank['passed'][kind])} {kind} adapters of the grid fail the ability criteria (e.g. {bad[0]})"


def base_findings(profile: str) -> list[str]:
    """One sentence per base, from ``02_base.json``: its accuracy at the checked points and its verdict."""
    base = _load(profile, "02_base.json")
    if not base or "criteria" not in base:
        return []
    lines = []
    for task, crit in base["criteria"].items():
        checks = "; ".join(f"{'hops' if task == 'hashhop' else 'shortest'} {c['point']}: {c['what']} {c['value']:.2f} "
                           f"(need {c['need']})" for c in crit["checks"])
        minutes = base["train_minutes"][task] + base.get("pretrain_minutes", 0.0)
        lines.append(f"{'HashHop' if task == 'hashhop' else 'HashChain'} base ({base['n_per_point']} prompts per point): "
                     f"{checks}: {'meets' if crit['passed'] else 'does NOT meet'} its targets "
                     f"({minutes:.0f} min with the stand-in, one core).")
    return lines + base_variant_findings(profile, base)


_TARGET_LABELS = {"hashhop_1hop": "hops 1", "hashhop_2hop": "hops 2", "hashchain_shortest2": "shortest 2",
                  "hashchain_shortest3": "shortest 3"}


def base_variant_findings(profile: str, base: dict) -> list[str]:
    """One sentence per base variant of ``tools.base_variants`` (``02_base_variants.json``: a second seed,
    the HashChain recipes tried), each number beside the model the variant changes: the committed recipe's first
    stage (the file's ``references``; a file without them: the committed base, ``base``: ``02_base.json``)."""
    variants = _load(profile, "02_base_variants.json")
    if not variants:
        return []
    lines = []
    for row in variants["variants"]:
        targets = row["targets"]
        ref = variants.get("references", {}).get(row["task"])
        label_ref, ref_targets = ("first stage", ref["targets"]) if ref else ("committed", base["targets"])
        numbers = ", ".join(f"{label} {targets[k]:.2f} ({label_ref} {ref_targets[k]:.2f})"
                            for k, label in _TARGET_LABELS.items() if k in targets)
        if "hashchain_shortest3_random_end" in targets:
            numbers += f"; random chain end at shortest 3: {targets['hashchain_shortest3_random_end']:.2f}"
        if row.get("depth"):  # a variant trained with depth queries: how it answers them (tools.base_variants.depth_scores)
            numbers += "; " + depth_sentence(row["depth"])
        limit = ", stopped at its time limit" if row["stopped_at_time_limit"] else ""
        total = (f"; {row['total_steps']} steps and {row['total_minutes']:.0f} min of base training in all, the model it "
                 f"started from included" if row.get("total_steps", row["steps"]) != row["steps"] else "")
        lines.append(f"Base variant '{row['variant']}' (`tools.base_variants`, {row['steps']} steps, {row['minutes']:.0f} min"
                     f"{limit}{total}): {numbers}: {'meets' if row['criteria']['passed'] else 'does NOT meet'} its targets.")
    return lines


def depth_sentence(depth: dict) -> str:
    """A depth-query variant's depth probe (``tools.base_variants.depth_scores``) in words, per shortest length.

    >>> depth_sentence({"2": {"ends": 0.5, "shortest_least": 0.9, "n": 500}, "3": {"ends": 0.25, "shortest_least": 0.6, "n": 500}})
    "chain ends' depths answered right at shortest 2 / 3: 0.50 / 0.25, the shortest chain's end alone the least deep by those answers: 0.90 / 0.60"
    """
    points = list(depth)
    each = lambda key: " / ".join(f"{depth[p][key]:.2f}" for p in points)
    return (f"chain ends' depths answered right at shortest {' / '.join(str(p) for p in points)}: {each('ends')}, the "
            f"shortest chain's end alone the least deep by those answers: {each('shortest_least')}")


def variant_lora_findings(profile: str) -> list[str]:
    """``tools.variant_lora`` (``03_variant_lora.json``): notebook 03's largest-rank runs on a base variant, so
    the README says whether its LoRA experiments would still test something on that base."""
    got = _load(profile, "03_variant_lora.json")
    if not got:
        return []
    key = KEY[got["kind"]]
    runs = list(got["runs"].values())
    parts = []
    for i, point in enumerate(r["point"] for r in runs[0]["rows"]):
        if point not in got["trained_points"]:
            continue
        mean = sum(run["rows"][i]["accuracy"] for run in runs) / len(runs)
        p = min(run["rows"][i]["vs_base"]["p_value"] for run in runs)
        parts.append(f"{key} {point}: base {got['variant_base_accuracy'][str(point)]:.2f} (committed base "
                     f"{got['committed_base_accuracy'][str(point)]:.2f}) -> {mean:.2f} (McNemar p >= {p:.2g})")
    passed = sum(run["criteria"]["passed"] for run in runs)
    return [f"Notebook 03's {got['kind']} LoRA (r={got['rank']}, {len(runs)} seeds) on the base variant '{got['variant']}' "
            f"(`tools.variant_lora`): " + "; ".join(parts) + f"; {passed} of {len(runs)} adapters pass the ability criteria."]


def lora_findings(profile: str) -> list[str]:
    """The sentences notebook 03 ends with and the README repeats, from ``03_lora.json``."""
    lora = _load(profile, "03_lora.json")
    if not lora:
        return ["No LoRA results yet: run notebook 03."]
    lines = []
    for kind in ("planning", "reasoning"):
        key, head = KEY[kind], _headline(lora, kind)
        base = {r["point"]: r for r in lora["base"][kind]["rows"]}
        per_rank = {r[key]: r for r in lora["per_rank"][kind][str(head["rank"])]}
        trained = lora["trained_points"][kind]
        n_pass = sum(lora["passed"][kind].values())
        parts = []
        trained = [p for p in trained if p in per_rank]
        for p in trained:
            ps = [v["rows"][[r["point"] for r in v["rows"]].index(p)]["vs_base"]["p_value"] for v in head["runs"].values()]
            parts.append(f"{key} {p}: base {base[p]['accuracy']:.2f} -> {per_rank[p]['accuracy']:.2f} "
                         f"[{per_rank[p]['ci_low']:.2f}, {per_rank[p]['ci_high']:.2f}] (McNemar p <= {max(ps):.1g})")
        beyond = [p for p in per_rank if p not in trained]
        parts_beyond = ", ".join(f"{key} {p}: {base[p]['accuracy']:.2f} -> {per_rank[p]['accuracy']:.2f}" for p in beyond)
        if kind == "planning":
            modal = {r["point"]: r["modal_position"] for r in next(iter(head["runs"].values()))["rows"]}
            structure = "most common answer position per hop " + ", ".join(f"{h}->{modal[h]}" for h in sorted(modal))
        else:
            cats = {r["point"]: r["categories"] for r in next(iter(head["runs"].values()))["rows"]}
            structure = "answers that are some chain's end: " + ", ".join(
                f"{p}: {c['shortest end'] + c['other chain end']:.0%}" for p, c in sorted(cats.items()))
        steps = _steps_text(lora, kind)
        lines.append(f"{TASK_NAME[kind]} ({kind}): {n_pass} of {len(lora['passed'][kind])} adapters pass the ability "
                     f"criteria. r={head['rank']} over {len(head['runs'])} seeds{steps}, trained points: " + "; ".join(parts)
                     + (f". Beyond training: {parts_beyond}" if beyond else "") + f". Seed {lora['seeds'][0]}: {structure}.")
    long = lora.get("paper_layer_16x") or {"lora": {}}
    for kind in (k for k in ("planning", "reasoning") if k in long["lora"]):  # the kinds notebook 03's sweep trains shorter
        key, d = KEY[kind], long["lora"][kind]
        base = {r["point"]: r["accuracy"] for r in lora["base"][kind]["rows"]}
        rows = [f"{key} {r['point']}{' (trained)' if r['point'] in lora['trained_points'][kind] else ''}: base "
                f"{base[r['point']]:.2f} -> {r['accuracy']:.2f} (McNemar p = {r['vs_base']['p_value']:.1g})" for r in d["rows"]]
        if kind == "planning":
            structure = "most common answer position per hop " + ", ".join(f"{r['point']}->{r['modal_position']}" for r in d["rows"])
        else:
            structure = "answers that are the shortest chain's end: " + ", ".join(
                f"{r['point']}: {r['categories']['shortest end']:.0%}" for r in d["rows"])
        lines.append(f"{TASK_NAME[kind]} ({kind}) on the paper's layer trained 16x longer ({long['steps']:,} steps, r={long['rank']}, "
                     f"seed {long['seed']}, the committed adapter of tools.whole_mlp_grid --grid paper_layer): "
                     + ("passes" if d["criteria"]["passed"] else "fails") + " the ability criteria; " + "; ".join(rows)
                     + f"; {structure}.")
    return lines


def rank_findings(profile: str) -> list[str]:
    """What notebook 05's grid measured, from ``05_rank.json``: where the paper's measure (and the others)
    can count, the controls and the full fine-tuning update at the largest rank, the init and scaling
    arms against the task gap, and the subspace overlaps."""
    rank = _load(profile, "05_rank.json")
    if not rank or "table" not in rank:
        return []
    grids = [("Rank grid", rank)]
    if rank.get("attention"):
        grids.append((f"Rank grid on {', '.join(rank['attention']['target_modules'])}", rank["attention"]))
    whole = _load(profile, study_file("whole_mlp"))  # tools.whole_mlp_grid
    if whole and "table" in whole:
        arms = _load(profile, study_file("whole_mlp", "arms")) or {}  # tools.whole_mlp_grid --arms
        grids.append((layer_grid_name(whole), dict(whole, arms=arms.get("effects", []), arm_passed=arms.get("passed", {}))))
    grids += [(layer_grid_name(alone), alone) for alone in paper_layer_grids(profile)]
    lines = []
    for name, grid in grids:
        top = max(grid["ranks"])
        if grid.get("passed"):
            lines.append(f"{name}: adapters that pass the ability criteria: " + ", ".join(
                f"{k} {sum(v.values())} of {len(v)}" for k, v in grid["passed"].items()) + ".")
        for m in ("thr_1e-3", "energy_90", "entropy_rank"):
            at_top = {(r["kind"], r["arm"]): r for r in grid["table"] if r["rank"] == top and r["measure"] == m}
            usable = [u["rank"] for u in grid["usable"].get(m, []) if u["usable"]]
            cells = ", ".join(f"{k} {a} {at_top[(k, a)]['mean']:.1f}" for k in ("planning", "reasoning")
                              for a in ("trained", "shuffled", "random") if (k, a) in at_top)
            full = ", ".join(f"{k} {v[m]:.1f}" for k, v in grid.get("full_fine_tuning", {}).items() if m in v)
            lines.append(f"{name}, {m} (ranks {grid['ranks']}, {len(grid.get('seeds', rank['seeds']))} seeds): usable (unsaturated and apart "
                         f"from the random control) at r = {usable or 'none'}; at r={top}: {cells}"
                         + (f"; full fine-tuning update: {full}" if full else "") + ".")
    for name, grid in grids:  # then the init and scaling arms of each grid
        where = "" if grid is rank else f" on {layer_grid_name(grid, short=True)}" if "module" in grid else \
            f" on {', '.join(grid['target_modules'])}"
        fails = {k: [a for a, ok in v.items() if not ok] for k, v in grid.get("arm_passed", {}).items()}
        learned_note = "; arm adapters failing the ability criteria: " + ", ".join(
            f"{k} {len(v)} of {len(grid['arm_passed'][k])}" for k, v in fails.items()) if any(fails.values()) else ""
        for e in grid.get("arms", []):
            if e and e["measure"] in ("thr_1e-3", "entropy_rank"):
                moved = [k for k in ("planning", "reasoning") if e["method_range"][k] > e["task_gap"]]
                arm_seeds = f", an arm's seed range up to {e['arm_seed_range']:.2f}" if e.get("arm_seed_range") else ""
                lines.append(f"Init and scaling arms{where} at r={e['rank']}, {e['measure']}: task gap {e['task_gap']:.2f} "
                             f"(seed range {e['seed_range']:.2f}{arm_seeds}), method range planning {e['method_range']['planning']:.2f}, "
                             f"reasoning {e['method_range']['reasoning']:.2f}: "
                             + ("the method moves it more than the task does" if moved else "the task gap exceeds the method range")
                             + learned_note + ".")
    for grid in ("whole_mlp", "paper_layer"):  # tools.whole_mlp_grid --snapshots
        snaps = _load(profile, study_file(grid, "snapshots"))
        if snaps and "curves" in snaps:
            lines.append(snapshot_finding(snaps))
    for grid in ("whole_mlp", "paper_layer"):  # tools.whole_mlp_grid --full, then --full --snapshots
        full = _load(profile, study_file(grid, "full"))
        if full and "table" in full:
            lines.append(full_reference_finding(full))
            lines += [overlap_finding(name, by_k) for name, by_k in {**full.get("overlap", {}), **full.get("lora_overlap", {})}.items()]
        snaps = _load(profile, study_file(grid, "full_snapshots"))
        if snaps and "curves" in snaps:
            lines.append(snapshot_finding(snaps, ("thr_1e-3", "energy_90")))
    lines += [overlap_finding(name, by_k) for name, by_k in rank.get("overlap", {}).items()]
    return lines


def overlap_finding(name: str, by_k: dict) -> str:
    """One findings line on the subspace overlap of two updates (``{k (str): [phi, random]}``).

    >>> overlap_finding("a vs b", {"2": [0.25, 0.03125], "1": [0.5, 0.015625]})
    'Subspace overlap (a vs b): k=1: 0.50 (random 0.02), k=2: 0.25 (random 0.03).'
    """
    return f"Subspace overlap ({name}): {overlap_text(by_k)}."


FIRST_PASS_MEASURES = ("thr_1e-3", "entropy_rank", "energy_90")


def snapshot_finding(snaps: dict, measures=("thr_1e-3",)) -> str:
    """One sentence on a rank over training (``tools.whole_mlp_grid --snapshots``, e.g. ``05_whole_mlp_snapshots.json``;
    ``--full --snapshots``: a full fine-tuning run's): per task, the ``measures`` and the hardest trained point's accuracy
    at the first and last saved step, and the first step at which the adapter passes the ability criteria; where both
    tasks pass, their reasoning/planning ratio each at that step (``rank_study.first_passing``).

    >>> rows = [{"step": s, "thr_1e-3": t, "energy_90": t / 2, "accuracy": a, "passed": p} for s, t, a, p in (
    ...         (10, 5.0, 0.3, False), (20, 7.0, 0.6, True), (40, 8.0, 0.7, True))]
    >>> snapshot_finding({"rank": 8, "seed": 0, "module": "m", "device": "CPU", "curves": {"planning": rows}})
    'Rank over training on m inside the whole-MLP LoRA (r=8, seed 0, trained on CPU), thr_1e-3 and accuracy at the hardest trained point: planning step 10: 5.0, 0.30 -> step 40: 8.0, 0.70, first passes the ability criteria at step 20.'
    >>> snapshot_finding({"rank": 8, "seed": 0, "module": "m", "target_modules": ["m"], "steps": 40, "method": "full",
    ...                   "device": "CPU", "curves": {"planning": rows}}, ("thr_1e-3", "energy_90"))
    'Rank over training on m alone, fully fine-tuned (no LoRA), 40 steps (width 8, seed 0, trained on CPU), thr_1e-3, energy_90 and accuracy at the hardest trained point: planning step 10: 5.0, 2.5, 0.30 -> step 40: 8.0, 4.0, 0.70, first passes the ability criteria at step 20.'
    >>> both = {"planning": rows, "reasoning": [dict(r, passed=True, energy_90=r["energy_90"] / 2) for r in rows]}
    >>> snapshot_finding({"rank": 8, "seed": 0, "module": "m", "device": "CPU", "curves": both}, ("energy_90",)).split("; ")[-1]
    'each task where it first passes the criteria (planning at step 20, reasoning at step 10, its first saved step): reasoning/planning thr_1e-3 0.71, energy_90 0.36.'
    """
    parts = []
    for kind, rows in snaps["curves"].items():
        first, last = rows[0], rows[-1]
        passes = next((r["step"] for r in rows if r["passed"]), None)
        at = lambda r: ", ".join(f"{r[m]:.1f}" for m in measures) + f", {r['accuracy']:.2f}"
        parts.append(f"{kind} step {first['step']}: {at(first)} -> step {last['step']}: {at(last)}, "
                     + (f"first passes the ability criteria at step {passes}" if passes is not None else "never passes the ability criteria"))
    alone = snaps.get("target_modules") == [snaps["module"]]  # tools.whole_mlp_grid --snapshots --grid paper_layer
    full = snaps.get("method") == "full"  # tools.whole_mlp_grid --full --snapshots: its rank is the layer's width
    where = (f"{snaps['module']} alone, " + ("fully fine-tuned (no LoRA), " if full else "") + f"{snaps['steps']:,} steps"
             if alone else f"{snaps['module']} inside the whole-MLP LoRA")
    size = f"width {snaps['rank']}" if full else f"r={snaps['rank']}"
    matched = first_passing(snaps["curves"], FIRST_PASS_MEASURES)  # each task as it has learned
    both = ("; each task where it first passes the criteria (" + ", ".join(
        f"{kind} at step {p['step']}" + (", its first saved step" if matched["first_saved"][kind] else "")
        for kind, p in matched["points"].items()) + "): reasoning/planning "
        + ", ".join(f"{m} {v:.2f}" for m, v in matched["ratios"].items())) if matched["ratios"] else ""
    seeds = first_passing_seeds_text(snaps.get("seed_curves") or {}, FIRST_PASS_MEASURES)  # --snapshots --seeds
    return (f"Rank over training on {where} ({size}, seed {snaps['seed']}, trained on {snaps['device']}), "
            f"{', '.join(measures)} and accuracy at the hardest trained point: " + "; ".join(parts) + both + "."
            + (f" The same {seeds}." if seeds else ""))


def full_reference_finding(full: dict, measures=("thr_1e-3", "energy_90", "entropy_rank")) -> str:
    """One sentence on a grid's full fine-tuning reference (``tools.whole_mlp_grid --full``): how many of its models
    learned, then per measure both tasks' full updates (the shuffled-target control, the random matrix and the grid's
    widest-rank LoRA adapters beside them), the reasoning/planning ratio and the verdict that measure allows.

    >>> row = lambda kind, arm, m: {"kind": kind, "arm": arm, "rank": 4, "measure": "m", "mean": m, "low": m, "high": m}
    >>> full = {"target_modules": ["x"], "module": "x", "steps": 10, "lr": 0.1, "seeds": [0, 1], "device": "CPU",
    ...         "width": 4, "passed": {"planning": {"r4-s0": True}}, "lora_rank": 4,
    ...         "table": [row("planning", "trained", 2.0), row("planning", "random", 4.0)], "lora": [row("planning", "trained", 3.0)],
    ...         "ratios": [{"rank": 4, "measure": "m", "mean": 1.1, "low": 0.9, "high": 1.3, "n": 2}],
    ...         "verdicts": {"m": {"verdict": "not reproduced", "why": "counted at r = [4]"}}}
    >>> full_reference_finding(full, ["m"])
    'Full fine-tuning of x alone, no LoRA (10 steps at lr 0.1, 2 seeds, trained on CPU), its update on x (width 4): models that pass the ability criteria planning 1 of 1; m: planning 2.0 (random 4.0, LoRA r=4 3.0), ratio 1.10 [0.90, 1.30]: not reproduced (counted at r = [4]).'
    """
    cells = {(r["kind"], r["arm"], r["measure"]): r for r in full["table"]}
    lora = {(r["kind"], r["measure"]): r for r in full["lora"]}
    parts = []
    for m in measures:
        kinds = ", ".join(f"{k} {cells[(k, 'trained', m)]['mean']:.1f} ("
                          + (f"shuffled targets {cells[(k, 'shuffled', m)]['mean']:.1f}, " if (k, "shuffled", m) in cells else "")
                          + f"random {cells[(k, 'random', m)]['mean']:.1f}"
                          + (f", LoRA r={full['lora_rank']} {lora[(k, m)]['mean']:.1f}" if (k, m) in lora else "") + ")"
                          for k in ("planning", "reasoning") if (k, "trained", m) in cells)
        ratio = next((r for r in full["ratios"] if r["measure"] == m), None)
        verdict = full["verdicts"][m]
        parts.append(f"{m}: {kinds}" + (f", ratio {ratio['mean']:.2f} [{ratio['low']:.2f}, {ratio['high']:.2f}]" if ratio else "")
                     + f": {verdict['verdict']} ({verdict['why']})")
    learned = ", ".join(f"{k} {sum(v.values())} of {len(v)}" for k, v in full["passed"].items())
    return (f"Full fine-tuning of {', '.join(full['target_modules'])} alone, no LoRA ({full['steps']:,} steps at lr {full['lr']:g}, "
            f"{len(full['seeds'])} seeds, trained on {full['device']}), its update on {full['module']} (width {full['width']}): "
            f"models that pass the ability criteria {learned}; " + "; ".join(parts) + ".")


def _paired_effect(tests: list[dict]) -> str:
    """'gain' where McNemar's test finds every adapter above the base (p < 0.05), 'loss' where below, else 'same'."""
    if all(t["p_value"] < 0.05 and t["c"] > t["b"] for t in tests):
        return "gain"
    return "loss" if all(t["p_value"] < 0.05 and t["b"] > t["c"] for t in tests) else "same"


def long_lora_claim(lora: dict, long: dict, kind: str, paper: str) -> dict:
    """'LoRA adds the ability' read on notebook 03's diagnostics of the committed adapter of the paper's layer trained
    16x longer (``03_lora.json``'s ``paper_layer_16x``: one seed, the grid's other seeds by their criteria alone)."""
    key, d = KEY[kind], long["lora"][kind]
    base = {r["point"]: r["accuracy"] for r in lora["base"][kind]["rows"]}
    sig = {r["point"]: _paired_effect([r["vs_base"]]) for r in d["rows"]}
    gains, losses = [p for p, v in sig.items() if v == "gain"], [p for p, v in sig.items() if v == "loss"]
    grid = long["grid_passed"][kind]
    ours = (f"{key}: base->r={long['rank']} seed {long['seed']}, {long['steps']:,} steps ("
            + ", ".join(f"{r['point']}: {base[r['point']]:.2f}->{r['accuracy']:.2f}" for r in d["rows"])
            + f"); McNemar p<0.05: gains at {gains or 'none'}, losses at {losses or 'none'} (n={lora['n_per_point']} per "
            f"point); {sum(grid.values())} of {len(grid)} of the grid's {kind} adapters pass the ability criteria")
    if not d["criteria"]["passed"]:
        verdict, ours = "untestable here", ours + "; this adapter fails them: " + ", ".join(failures(d["criteria"]))
    else:
        verdict = "not reproduced" if not gains else "partly reproduced" if losses else "reproduced"
    return {"claim": f"LoRA adds {kind} ability over the frozen base ({TASK_NAME[kind]}), on the paper's layer trained "
                     f"16x longer", "paper": paper, "ours": ours, "verdict": verdict, "notebook": "03"}


def rank_dependence_claim(lora: dict) -> dict:
    """'HashHop accuracy barely depends on the LoRA rank' on notebook 03's planning sweep: per rank the accuracy averaged
    over the evaluated hops (the paper's measure), 95% t-interval over seeds, and how many adapters learned the task.
    Reproduced if every rank's interval overlaps every other's. A rank whose adapters fail the criteria while the
    largest rank's learn is part of the answer (the rank mattered); where the largest rank's do not learn, no adapter
    here has the ability: untestable."""
    by_rank: dict[int, list] = {}
    for name, d in lora["lora"]["planning"].items():
        by_rank.setdefault(key_rank(name), []).append(d)
    rows = {r: seed_interval([sum(x["accuracy"] for x in d["rows"]) / len(d["rows"]) for d in ds])
            for r, ds in sorted(by_rank.items())}
    learn = {r: sum(d["criteria"]["passed"] for d in ds) for r, ds in by_rank.items()}
    spread = max(v["mean"] for v in rows.values()) - min(v["mean"] for v in rows.values())
    overlap = max(v["low"] for v in rows.values()) <= min(v["high"] for v in rows.values())
    ok, why = learned(lora, "planning", [max(rows)])
    steps = _steps_text(lora, "planning")
    ours = ("mean over hops, ranks " + ", ".join(f"{r}: {v['mean']:.3f} [{v['low']:.3f}, {v['high']:.3f}] ({learn[r]} of "
                                                 f"{v['n']} learn)" for r, v in rows.items())
            + f" (spread {spread:.3f}, {next(iter(rows.values()))['n']} seeds{steps}); "
            + ("intervals overlap" if overlap else "intervals apart") + ("" if ok else f"; {why}"))
    return {"claim": "HashHop accuracy barely depends on the LoRA rank",
            "paper": "ranks 8-256 within a few points (mean over hops .28-.31), one run each", "ours": ours,
            "verdict": ("reproduced" if overlap else "not reproduced") if ok else "untestable here", "notebook": "03"}


def claims(profile: str) -> list[dict]:
    lora, ab, rank, base = (_load(profile, n) for n in ("03_lora.json", "04_ablations.json", "05_rank.json", "02_base.json"))
    if lora and "trained_points" not in lora:
        lora = None  # a results file from before the ability criteria: nothing in it is trusted
    out = []
    if base and "criteria" in base:
        crit = base["criteria"]
        nums = ", ".join(f"{k} {v:.2f}" for k, v in base["targets"].items())
        why = "; ".join(f"{t}: " + ", ".join(failures(crit[t])) for t in crit if not crit[t]["passed"])
        out.append({"claim": "(setup) the base does the paper's base task: HashHop >=0.9 at 1 hop and >=0.75 at 2 on "
                             "10-hash chains; HashChain (lengths 2-6, 3-4 chains) >=0.8 at shortest 2, >= random chain end + 0.15 at 3",
                    "paper": "pretrained GPT-2 fully fine-tuned: .83 at 1 hop, .75 at 2 (20-hash chains); HashChain .75 at length 2",
                    "ours": nums + (f" (failing: {why})" if why else ""),
                    "verdict": "met" if all(c["passed"] for c in crit.values()) else "not met", "notebook": "02"})
    for kind, paper in (("planning", "best LoRA above the base at 2-5 hops (.75->.86 at 2, .69->.84 at 3)"),
                        ("reasoning", "LoRA enhances reasoning (abstract); HashChain LoRA .36-.40 overall, base .49 (other chain count)")):
        if not lora:
            continue
        ok, why = learned(lora, kind, [max(lora["ranks"])])
        key, head = KEY[kind], _headline(lora, kind)
        base_rows = {r["point"]: r for r in lora["base"][kind]["rows"]}
        per_rank = {r[key]: r for r in lora["per_rank"][kind][str(head["rank"])]}
        sig = {p: _paired_effect([v["rows"][[r["point"] for r in v["rows"]].index(p)]["vs_base"] for v in head["runs"].values()])
               for p in per_rank}
        detail = ", ".join(f"{p}: {base_rows[p]['accuracy']:.2f}->{per_rank[p]['accuracy']:.2f}" for p in per_rank)
        gains = [p for p, v in sig.items() if v == "gain"]
        losses = [p for p, v in sig.items() if v == "loss"]
        steps = _steps_text(lora, kind)
        ours = (f"{key}: base->r={head['rank']} mean of {len(head['runs'])} seeds{steps} ({detail}); McNemar p<0.05 in every seed: "
                f"gains at {gains or 'none'}, losses at {losses or 'none'} (n={lora['n_per_point']} per point)")
        if not ok:
            verdict, ours = "untestable here", ours + f"; {why}"
        else:
            verdict = "not reproduced" if not gains else "partly reproduced" if losses else "reproduced"
        out.append({"claim": f"LoRA adds {kind} ability over the frozen base ({TASK_NAME[kind]})", "paper": paper,
                    "ours": ours, "verdict": verdict, "notebook": "03"})
        long = lora.get("paper_layer_16x")
        if long and kind in long["lora"]:
            out.append(long_lora_claim(lora, long, kind, paper))
    if lora:
        out.append(rank_dependence_claim(lora))
    if ab and ab.get("module_abilities"):
        out += module_claims(ab, (_load(profile, "planning_probes.json") or {}).get("rows", []))
    if rank:
        out += rank_claims(rank, ["thr_1e-3", "entropy_rank", "energy_90"])
        if rank.get("attention"):
            out += rank_claims(rank["attention"], ["thr_1e-3", "entropy_rank", "energy_90"],
                               layer=", ".join(rank["attention"]["target_modules"]))
        whole = _load(profile, study_file("whole_mlp"))
        if whole and "ratios" in whole:
            out += rank_claims(whole, ["thr_1e-3", "entropy_rank", "energy_90"], layer=layer_grid_name(whole, short=True),
                               note="the paper's layer, trained with mlp.c_fc: where both tasks learn")
        alone_grids = paper_layer_grids(profile)
        for alone in alone_grids:
            out += rank_claims(alone, ["thr_1e-3", "entropy_rank", "energy_90"], layer=layer_grid_name(alone, short=True),
                               note=f"the paper's layer alone, r = {', '.join(map(str, alone['ranks']))}, "
                                    f"{alone['steps']:,} steps")
        out.append(per_layer_claim(rank, alone_grids))
    return out


# the paper's planning adapter, r = 256: its threshold rank at 1e-3 per layer (12 layers)
PAPER_PER_LAYER = (256, (43, 46, 67, 68, 55, 47, 43, 57, 63, 46, 49, 151))
PER_LAYER_CLAIM = ("planning adapter: threshold rank at 1e-3 per layer is well below the LoRA rank",
                   f"r={PAPER_PER_LAYER[0]}: " + ", ".join(map(str, PAPER_PER_LAYER[1])))


def _thr_mean(grid: dict, kind: str, arm: str, rank: int) -> float:
    """The seeds' mean threshold rank (1e-3) of one cell of a grid's table."""
    return next(r["mean"] for r in grid["table"] if r["measure"] == "thr_1e-3" and r["kind"] == kind
                and r["arm"] == arm and r["rank"] == rank)


def per_layer_claim(rank: dict, alone: list[dict]) -> dict:
    """The paper's 'threshold rank per layer well below r' (its planning adapter at r = 256 of 768: 43-151, 17-59%
    of r), read on planning adapters that learned: the widest rank of a grid on the paper's layer alone at the paper's
    scaling (``paper_layer_grids`` without rsLoRA, holding ``per_layer_thr_1e-3``) every planning adapter of which
    passed the criteria; 'well below' counts as at most half of r. A measure that is saturated or not apart from its
    random control there is untestable; the grids below the full width say whether it is at the paper's r/width.
    Without such a grid, notebook 05's (``rank``) full-width adapter, whose planning adapters must have learned."""
    claim, paper = PER_LAYER_CLAIM
    default = [g for g in alone if not g.get("use_rslora")]
    done = [g for g in default if "per_layer_thr_1e-3" in g and all(
        ok for name, ok in g["passed"]["planning"].items() if name.startswith(f"r{max(g['ranks'])}-"))]
    if not done:
        top = rank["planning_top_rank_thr_1e-3_per_layer"]
        saturated = max(top) >= max(rank["ranks"])
        why_p = grid_learned(rank, "planning")
        return {"claim": claim, "paper": paper,
                "ours": f"r={max(rank['ranks'])}: " + ", ".join(str(v) for v in top)
                        + ("; saturated: the measure equals the LoRA rank, so it cannot show a lower rank" if saturated else "")
                        + (f"; {why_p}" if why_p else ""),
                "verdict": "untestable here" if saturated or why_p else "reproduced", "notebook": "05"}
    g = done[0]
    top = max(g["ranks"])
    per_seed = g["per_layer_thr_1e-3"]["planning"]
    mean, rnd = _thr_mean(g, "planning", "trained", top), _thr_mean(g, "planning", "random", top)
    usable = next(u for u in g["usable"]["thr_1e-3"] if u["rank"] == top)
    first = per_seed[min(per_seed, key=int)]
    ours = (f"{g['module']} alone, r={top}, {g['steps']:,} steps, every planning adapter learned: per layer "
            + ", ".join(f"{v:g}" for v in first) + f" (seed {min(per_seed, key=int)}); mean {mean:.1f} of {top} over "
            f"{len(per_seed)} seeds ({mean / top:.0%} of r), random update {rnd:.1f}; 'well below' counted as at most "
            f"half of r (the paper's values: {100 * min(PAPER_PER_LAYER[1]) / PAPER_PER_LAYER[0]:.0f}-"
            f"{max(PAPER_PER_LAYER[1]) / PAPER_PER_LAYER[0]:.0%} of r)")
    below = [(r, _thr_mean(b, "planning", "trained", r), _thr_mean(b, "planning", "random", r))
             for b in default for r in b["ranks"] if r < top]
    if below:
        ours += "; below the full width, r/width inside the paper's range: " + ", ".join(
            f"r={r}: {m:.1f} (random {x:.1f})" for r, m, x in sorted(below)) + \
            (", the LoRA rank itself: saturated there" if all(m >= r - 0.5 for r, m, _ in below) else "")
    if not usable["usable"]:
        return {"claim": claim, "paper": paper, "ours": f"{ours}; not usable at r={top}: {usable['why']}",
                "verdict": "untestable here", "notebook": "05"}
    return {"claim": claim, "paper": paper, "ours": ours,
            "verdict": "reproduced" if mean <= top / 2 else "not reproduced", "notebook": "05"}


RANK_CLAIMS = {"thr_1e-3": ("effective rank (s/s[0] > 1e-3) is 2-3x lower for reasoning than for planning",
                             "ratio 1/3-1/2 (no reasoning numbers saved; one run per setting)"),
               "entropy_rank": ("same claim, entropy effective rank (not in the paper)", "-"),
               "energy_90": ("same claim, 90%-energy rank (not in the paper)", "-")}


def layer_grid_name(grid: dict, short: bool = False) -> str:
    """How the findings and claims name a grid of ``tools.whole_mlp_grid`` (``05_whole_mlp.json``,
    ``05_paper_layer.json``): the layer its measures are read on, inside which LoRA, and rsLoRA where it scales so.

    >>> layer_grid_name({"module": "mlp.c_proj", "target_modules": ["mlp.c_fc", "mlp.c_proj"]}, short=True)
    'mlp.c_proj inside a LoRA on mlp.c_fc + mlp.c_proj'
    >>> layer_grid_name({"module": "mlp.c_proj", "target_modules": ["mlp.c_proj"], "use_rslora": True}, short=True)
    'mlp.c_proj alone, rsLoRA (alpha/sqrt(r))'
    """
    alone = grid["target_modules"] == [grid["module"]]
    name = (f"{grid['module']} alone" if alone else f"{grid['module']} inside a LoRA on {' + '.join(grid['target_modules'])}") \
        + (", rsLoRA (alpha/sqrt(r))" if grid.get("use_rslora") else "")
    return name if short else f"Rank grid on {name} ({grid['steps']} steps, trained on {grid['device']})"


def rank_claims(grid: dict, measures: list[str], layer: str | None = None,
                note: str = "where both tasks learn; not the paper's layer") -> list[dict]:
    """The 2-3x claim per measure on one of notebook 05's grids (its ``ratios``, ``usable`` and
    ``passed``): a verdict only at ranks where every adapter of both tasks learned and the measure is
    usable (``rank_study.claim_verdict``); ``layer`` names a grid other than the paper's layer alone, ``note``
    says what it is."""
    out = []
    for m in measures:
        rows = [r for r in grid["ratios"] if r["measure"] == m]
        if not rows:
            continue
        claim, paper = RANK_CLAIMS[m]
        if layer:
            claim, paper = f"{claim}, on {layer} ({note})", "-"
        verdict, why = claim_verdict(rows, grid.get("usable", {}).get(m, []), grid.get("passed", {}))
        ours = "; ".join(f"r={r['rank']}: {r['mean']:.2f} [{r['low']:.2f}, {r['high']:.2f}]" for r in rows)
        limits = [u["rank"] for u in grid.get("usable", {}).get(m, []) if not u["usable"]]
        if limits:  # why, rank by rank: 05_rank.json's "usable"
            ours += f"; not usable at r = {limits} (saturated, or not apart from the random control)"
        out.append({"claim": claim, "paper": paper, "ours": f"{ours}; {why}", "verdict": verdict, "notebook": "05"})
    return out


PAPER_LAYER = "mlp.c_proj"
# tools.whole_mlp_grid's grids on the paper's layer alone (rank_study.LAYER_GRIDS)
PAPER_LAYER_GRIDS = ("paper_layer", "paper_layer_rslora", "paper_layer_ranks")


def paper_layer_grids(profile: str) -> list[dict]:
    """The stored results of ``tools.whole_mlp_grid``'s grids on the paper's layer alone (``PAPER_LAYER_GRIDS``) that
    hold a grid's table and ratios, in that order."""
    stored = [_load(profile, study_file(key)) for key in PAPER_LAYER_GRIDS]
    return [g for g in stored if g and "table" in g and "ratios" in g]


def _hop(probe_row: dict, hops: int) -> float:
    """A planning probe's accuracy at ``hops``."""
    return next(p["accuracy"] for p in probe_row["points"] if p["hops"] == hops)


def module_claims(ab: dict, probes: list[dict] = ()) -> list[dict]:
    """Notebook 04's target-module arms: can a LoRA on the paper's layer (``mlp.c_proj``) add the
    ability, and can a LoRA anywhere? A verdict needs an arm that learned (the criteria): if none did,
    the task is beyond these LoRAs and the question is untestable here. Where the paper's layer fails in
    notebook 04's steps, ``probes`` (``planning_probes.json``' rows: longer planning runs) can show it learning
    given more training: a probe arm on the paper's layer alone every seed of which passes makes it reproduced."""
    out = []
    longer = {}  # planning probe arms on the paper's layer alone, every seed of which passed
    for r in probes:
        if r["target_modules"] == [PAPER_LAYER]:
            longer.setdefault(r["arm"], []).append(r)
    longer = {a: runs for a, runs in longer.items() if all(r["passed"] for r in runs)}
    for kind, by_arm in ab["module_abilities"].items():
        if PAPER_LAYER not in by_arm:
            continue
        arms = {PAPER_LAYER: by_arm[PAPER_LAYER], **{a: runs for a, runs in by_arm.items() if a != PAPER_LAYER}}

        def phrase(name, runs):
            acc = "; ".join(f"{p}: {sum(r['accuracy'][p] for r in runs) / len(runs):.2f}" for p in runs[0]["accuracy"])
            n_pass = sum(r["passed"] for r in runs)
            return f"{name} {n_pass}/{len(runs)} pass ({acc})"
        paper_runs = arms[PAPER_LAYER]
        base = "; ".join(f"{p}: {v:.2f}" for p, v in paper_runs[0]["base"].items())
        learners = [a for a, runs in arms.items() if all(r["passed"] for r in runs)]
        setting = next((r["setting"] for r in ab["rows"] if r["ablation"] == "target modules"), "")
        ours = (f"{setting}, {len(paper_runs)} seed(s) per arm; {KEY[kind]} trained, accuracy "
                f"(base {base}): " + ", ".join(phrase(a, runs) for a, runs in arms.items()))
        if PAPER_LAYER in learners:
            verdict = "reproduced"
        elif kind == "planning" and longer:
            verdict = "reproduced"
            ours += (f"; {PAPER_LAYER} fails in these steps ({'; '.join(paper_runs[0]['failing'])}) but learns given more "
                     "training (tools.planning_probe): " + ", ".join(
                         f"{a}: {len(runs)}/{len(runs)} pass at {runs[0]['steps']:,} steps (3rd hop "
                         + ", ".join(f"{_hop(r, 3):.2f}" for r in runs) + ")" for a, runs in longer.items()))
        elif learners:
            verdict = "not reproduced"
            ours += f"; {PAPER_LAYER} fails ({'; '.join(paper_runs[0]['failing'])}) where {', '.join(learners)} learn"
        else:
            verdict = "untestable here"
            ours += "; no arm learned the task, so no layer can be told apart"
        out.append({"claim": f"a LoRA on {PAPER_LAYER} (the paper's layer) adds the {kind} ability (other layers: not in the paper)",
                    "paper": "mlp.c_proj only, not ablated", "ours": ours, "verdict": verdict, "notebook": "04"})
    return out


def finding_lines(profile: str, notebook: str) -> list[str]:
    """The claims table's rows that rest on ``notebook``'s results ("02" to "05"), as that notebook
    prints its finding: the same rows, from the same code, as the README's table."""
    return [f"{r['claim']}: {r['verdict'].upper()}\n    ours: {r['ours']}\n" for r in claims(profile) if r["notebook"] == notebook]


def paper_baselines_table() -> str:
    """The paper's numbers beside the uniform guess and the structural baseline of its own setup."""
    lines = ["| paper's result | paper | uniform guess | structural baseline |", "|---|---|---|---|"]
    for r in PAPER_BASELINES:
        uni = f"{r['uniform']:.2f}" if r["uniform"] is not None else "-"
        lines.append(f"| {r['what']} | {r['paper']:.2f} | {uni} | {r['structural']:.2f} ({r['structural_is']}) |")
    return "\n".join(lines)


def table(rows: list[dict]) -> str:
    lines = ["| claim | paper | ours | verdict |", "|---|---|---|---|"]
    lines += [f"| {r['claim']} | {r['paper']} | {r['ours']} | **{r['verdict']}** |" for r in rows]
    return "\n".join(lines)


def cost_text(profile: str = "paper") -> str:
    """The README's cost estimate of ``profile`` on one GPU, with the dry run's measured CPU seconds per
    step beside it when ``results/<profile>/dryrun.json`` exists (``make dryrun ... --record``)."""
    from .cost import DEFAULT_MFU, H100_FP32_TFLOPS, cost_table, measured_seconds, stage_costs
    from .profiles import get_profile
    rows = stage_costs(get_profile(profile))
    gpu = _load(profile, "dryrun-cuda.json")
    measured = measured_seconds(rows, gpu) if gpu and gpu.get("batch") == "profile" else None
    gpu_name = (gpu["machine"].get("gpu") or "GPU").replace("NVIDIA ", "") if measured else ""
    text = (f"_Estimate (not a measurement), generated by `python -m helpers.report` from the `{profile}` profile's "
            f"shapes and step counts (`helpers.cost`): one H100 at {DEFAULT_MFU:.0%} MFU of its {H100_FP32_TFLOPS:.0f} "
            f"TFLOPS fp32 peak; the ablation grid of notebook 04 is not included._"
            + (f" _The last column multiplies each stage's step count by its step time measured on one {gpu_name} "
               f"(`results/{profile}/dryrun-cuda.json`: `python -m helpers.dryrun --profile {profile} --device cuda "
               f"--profile-batch --steps {gpu['steps']} --record`, the profile's batch sizes, TF32 matrix products, "
               f"median of the steps after the first), scaled by tokens per step; evaluation: prompts x measured "
               f"seconds per prompt. Step times measured, totals extrapolated._" if measured else "")
            + "\n\n" + cost_table(rows, measured=measured, measured_name=f"{gpu_name} (measured steps)"))
    dry = _load(profile, "dryrun.json")
    if dry:
        rows = [r for r in dry["stages"] if r["seconds_per_step"] is not None]
        text += (f"\n\nMeasured by the dry run (`python -m helpers.dryrun --profile {profile} --record`, batch {dry['batch']}, "
                 f"{dry['machine']['device']}, {dry['machine']['torch_threads']} thread(s) of {dry['machine']['nproc']} "
                 f"cores, load average {dry['machine']['loadavg'][0]}): "
                 + "; ".join(f"{r['stage']} {r['seconds_per_step']:.2f} s/step" for r in rows)
                 + f"; peak memory {max(r['peak_gib'] for r in dry['stages']):.1f} GiB; all stages in {dry['seconds']:.0f} s.")
    return text


def gpu_text(profile: str = "paper") -> str:
    """The README's GPU measurements of ``profile``: ``tools.bench`` at its shapes (tokens/s, MFU) and the
    recipe arms of its pretraining stand-in (``tools/gpu_session.sh``), from ``results/<profile>/``."""
    bench, arms = _load(profile, "bench-cuda.json"), _load(profile, "recipe-arms-cuda.json")
    if not (bench or arms):
        return f"_No GPU measurements in `results/{profile}/` (run `bash tools/gpu_session.sh` on a GPU)._"
    out = []
    if bench:
        v, m = bench["training"]["variants"], bench["mfu"]
        out.append(f"`python -m tools.bench --device cuda --profile {profile}` on one {bench['machine']['gpu']} "
                   f"({bench['model']['parameters'] / 1e6:.1f}M parameters, batch {bench['training']['batch']['size']} "
                   f"planning prompts, `results/{profile}/bench-cuda.json`): our training step "
                   f"{v['ours']['tokens_per_s']:,.0f} tokens/s in fp32 = {m['mfu_ours']:.0%} MFU of the measured fp32 matmul "
                   f"peak ({m['peak_flops'] / 1e12:.1f} TFLOP/s, {m['peak_matmul_n']}^2); {v['ours_bf16_autocast']['tokens_per_s']:,.0f} "
                   f"tokens/s with bf16 autocast ({1 / bench['training']['ratio_fp32_over_bf16']:.1f}x); padding to n_positions "
                   f"with a mask, as the reference does, {bench['training']['ratio_ours_over_plain_n_positions']:.1f}x slower; "
                   f"batched exact-match evaluation {bench['evaluation']['ratio_ours_over_reference']:.0f}x faster than the "
                   f"reference's one-prompt sampled generation.")
    if arms:
        lines = ["| arm (init std, lr) | processes sharing the GPU | steps | steps/s | copy | recall | index | count |",
                 "|---|---|---|---|---|---|---|---|"]
        for name, group in arms["sets"].items():
            for arm, a in sorted(group["arms"].items()):
                acc = a["pretrain"]["curve"][-1]["accuracy"] if a["pretrain"]["curve"] else {}
                lines.append(f"| {arm.replace('init', 'init ').replace('-lr', ', lr ')} | {group['processes_side_by_side']} | "
                             f"{a['pretrain']['steps']:,} | {a['pretrain']['steps_per_s']} | "
                             + " | ".join(f"{acc.get(k, float('nan')):.2f}" for k in ("copy", "recall", "index", "count")) + " |")
        first = [a["pretrain"]["curve"][0]["accuracy"]["copy"] for g in arms["sets"].values() for a in g["arms"].values()
                 if a["pretrain"]["curve"]]
        out.append(f"The from-scratch recipe at 124M (`results/{profile}/recipe-arms-cuda.json`, `bash tools/gpu_session.sh`): "
                   f"the pretraining stand-in at the paper profile's shapes, one seed per arm, held-out per-token accuracy "
                   f"of each part at the last evaluation (at the first, after 100 steps, copy was {min(first):.2f}-{max(first):.2f} "
                   f"in every arm):\n\n" + "\n".join(lines))
    return "\n\n".join(out)


def bench_text() -> str:
    path = RESULTS / "bench.json"
    if not path.exists():
        return "_Run `python -m tools.bench` to measure._"
    data = json.loads(path.read_text())
    ratios = data.get("ratios", {})
    def cell(k, v):
        if not isinstance(v, (int, float)):
            return str(v)
        return f"{100 * v:.0f}% of the measured fp32 matmul peak" if k == "mfu" else f"{v:.2f}x"
    lines = ["| measure | value |", "|---|---|"] + [f"| {k} | {cell(k, v)} |" for k, v in ratios.items()]
    return "\n".join(lines)


def _replace(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise Refused(f"README.md has no <!-- {name}:start --> ... <!-- {name}:end --> markers")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


def arm_seed_findings(profile: str) -> list[str]:
    """``tools.arm_seeds`` (``05_arm_seeds.json``): the attention arms at three seeds each; the method range
    over every arm and over only the arms every adapter of which learned its task."""
    stored = _load(profile, "05_arm_seeds.json")
    if not stored:
        return []
    fails = {k: [a for a, ok in v.items() if not ok] for k, v in stored["passed"].items()}
    learned = {m["measure"]: m for m in stored["effects_learned"] if m}
    lines = []
    for e in stored["effects"]:
        if not e or e["measure"] not in ("thr_1e-3", "entropy_rank"):
            continue
        only = learned[e["measure"]]
        moved = all(x["method_range"][k] > x["task_gap"] for x in (e, only) for k in ("planning", "reasoning"))
        lines.append(f"Init and scaling arms on {', '.join(stored['layer'])} at r={e['rank']}, {len(stored['seeds'])} seeds per "
                     f"arm (`tools.arm_seeds`), {e['measure']}: task gap {e['task_gap']:.2f} (seed range {e['seed_range']:.2f}, "
                     f"an arm's up to {e['arm_seed_range']:.2f}); method range over every arm: planning "
                     f"{e['method_range']['planning']:.2f}, reasoning {e['method_range']['reasoning']:.2f}; over only the arms "
                     f"every adapter of which learned: planning {only['method_range']['planning']:.2f}, reasoning "
                     f"{only['method_range']['reasoning']:.2f}: "
                     + ("the method moves it more than the task does" if moved else "not every method range exceeds the task gap")
                     + "; adapters failing the ability criteria (the default's included): "
                     + ", ".join(f"{k} {len(v)} of {len(stored['passed'][k])}" for k, v in fails.items()) + ".")
    return lines


README_PROFILE = "small"  # the profile whose numbers the README's tables show


def main(argv=None) -> int:
    from .cli import Parser

    parser = Parser(prog="python -m helpers.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default=README_PROFILE, help=f"whose results fill the table (default {README_PROFILE})")
    parser.add_argument("--readme", action="store_true",
                        help=f"write the README's tables and results/claims.json for this profile too (done by default "
                             f"only for {README_PROFILE!r}, the profile the README reports)")
    args = parser.parse_args(argv)
    if not (RESULTS / args.profile).is_dir():  # else a typo would replace the README's tables with "no results"
        have = sorted(p.name for p in RESULTS.iterdir() if p.is_dir()) if RESULTS.is_dir() else []
        parser.error(f"--profile: no results/{args.profile}/ folder; allowed values here are {have}")
    rows = parser.run(claims, args.profile)
    if not (args.readme or args.profile == README_PROFILE):  # the README reports one profile; others never replace it
        atomic_write_json(RESULTS / args.profile / "claims.json", {"profile": args.profile, "claims": rows})
        print(table(rows) if rows else "no claims yet")
        print(f"{len(rows)} claims written to results/{args.profile}/claims.json (the README is left alone: add --readme)")
        return 0
    atomic_write_json(RESULTS / "claims.json", {"profile": args.profile, "claims": rows})
    readme = REPO_ROOT / "README.md"
    body = f"_Profile `{args.profile}`, generated by `python -m helpers.report` from `results/{args.profile}/`._\n\n" + (
        table(rows) if rows else "_No results yet: run `make figures`._")
    text = parser.run(_replace, readme.read_text(), "claims", body)
    text = parser.run(_replace, text, "bench", bench_text())
    if "<!-- findings:start -->" in text:
        lines = (base_findings(args.profile) + variant_lora_findings(args.profile) + lora_findings(args.profile)
                 + rank_findings(args.profile) + arm_seed_findings(args.profile))
        text = _replace(text, "findings", "\n".join(f"- {line}" for line in lines))
    if "<!-- cost:start -->" in text:
        text = _replace(text, "cost", cost_text())
    if "<!-- gpu:start -->" in text:
        text = _replace(text, "gpu", gpu_text())
    if "<!-- baselines:start -->" in text:
        text = _replace(text, "baselines", paper_baselines_table())
    atomic_write_text(readme, text)
    print(f"{len(rows)} claims written to README.md and results/claims.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
