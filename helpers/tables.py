"""The text tables notebooks 03-05 print, one function each, so a test can re-render them from the saved
results and compare them with the committed notebooks (``tests/test_committed_notebooks.py``).

>>> ablation_row({"kind": "planning", "ablation": "rank", "setting": "alpha = rank/2", "x": 4,
...               "mean": 0.3271, "low": 0.3, "high": 0.35, "n": 3})
'planning  rank           alpha = rank/2  4                  0.327 [0.300, 0.350] n=3'
>>> ratio_row({"rank": 16, "measure": "thr_1e-3", "mean": 1.0, "low": 0.9, "high": 1.1, "n": 3})
'rank   16: reasoning/planning thr_1e-3 = 1.00  95% CI [0.90, 1.10]  (n=3 seeds)'
"""
from __future__ import annotations

from .criteria import failures


def ablation_row(r: dict) -> str:
    """One row of ``ablations.summarize`` (notebook 04)."""
    return (f"{r['kind']:9s} {r['ablation']:14s} {r['setting']:15s} {str(r['x']):18s} "
            f"{r['mean']:.3f} [{r['low']:.3f}, {r['high']:.3f}] n={r['n']}")


def ability_row(kind: str, arm: str, run: dict) -> str:
    """One adapter of ``ablations.module_abilities`` (notebook 04): base -> adapter at each trained point,
    the most common answer position (planning), and whether it passes the ability criteria (or why not)."""
    points = ", ".join(f"{p}: {run['base'][p]:.2f}->{run['accuracy'][p]:.2f}" for p in run["accuracy"])
    modal = (" (most common answer position " + ", ".join(f"{p}->{m}" for p, m in run["modal"].items()) + ")") if run["modal"] else ""
    verdict = "PASSES the ability criteria" if run["passed"] else "fails: " + "; ".join(run["failing"])
    return f"{kind:9s} {arm:11s} seed {run['seed']}: {points}{modal}  {verdict}"


def probe_row(r: dict) -> str:
    """One arm of ``tools.planning_probe``: accuracy per hop (base -> arm) and the criteria's verdict."""
    hops = ", ".join(f"{p['hops']}: {p['base']:.2f}->{p['accuracy']:.2f}" for p in r["points"])
    modal = next((p["modal_position"] for p in r["points"] if p["hops"] == 3), None)
    return (f"{r['arm']:50s} seed {r['seed']} {r['steps']:5d} steps: {hops} (hop 3: most common answer position {modal})  "
            + ("PASSES the ability criteria" if r["passed"] else "fails"))


def ratio_row(r: dict) -> str:
    """One row of ``rank_study.ratios`` (notebook 05's headline)."""
    return (f"rank {r['rank']:4}: reasoning/planning {r['measure']} = {r['mean']:.2f}  "
            f"95% CI [{r['low']:.2f}, {r['high']:.2f}]  (n={r['n']} seeds)")


def paired_lines(kind: str, key: str, head: tuple, n: int, base_rows: list[dict], adapter_rows: list[dict],
                 trained: list[int]) -> list[str]:
    """Base against the headline adapter on the same prompts, per point, with McNemar's discordant counts
    (``b``: base right, adapter wrong; ``c``: the reverse) and p-value (notebook 03)."""
    lines = [f"{kind} (LoRA r={head[0]}, seed {head[1]} vs base, n={n} per point)"]
    for b, a in zip(base_rows, adapter_rows):
        t = a["vs_base"]
        mark = " (trained)" if a["point"] in trained else ""
        lines.append(f"  {key} {a['point']}{mark:10s} base {b['accuracy']:.3f} -> {a['accuracy']:.3f}  "
                     f"b={t['b']:3d} c={t['c']:3d}  p={t['p_value']:.1e}")
    return lines


def criteria_lines(kind: str, results: dict[tuple[int, int], dict]) -> list[str]:
    """How many adapters pass the ability criteria, and each one's first failed checks (notebook 03);
    ``results``: ``{(rank, seed): criteria result}``."""
    lines = [f"{kind}: {sum(r['passed'] for r in results.values())} of {len(results)} adapters pass"]
    for (rank, seed), result in sorted(results.items()):
        fails = failures(result)
        lines.append(f"  r={rank:3d} seed {seed}: {'pass' if not fails else 'FAIL: ' + '; '.join(fails[:3])}")
    return lines


def lora_setup_lines(tasks: dict, trained: dict, evaluated: dict, ranks: list, seeds: list, n: int,
                     steps: dict) -> list[str]:
    """What notebook 03 trains and evaluates: per kind the LoRA task, its training steps, its trained and evaluated points.

    >>> lora_setup_lines({"planning": {"max_hops": 3}}, {"planning": [1, 2, 3]}, {"planning": [1, 2, 3, 4]}, [4], [0], 500,
    ...                  {"planning": 9600})[0]
    "planning  LoRA task {'max_hops': 3}; 9,600 steps; trained points [1, 2, 3]; evaluated at [1, 2, 3, 4]"
    """
    lines = [f"{kind:9s} LoRA task {tasks[kind]}; {steps[kind]:,} steps; trained points {trained[kind]}; "
             f"evaluated at {evaluated[kind]}" for kind in tasks]
    return lines + [f"ranks {ranks} seeds {seeds} prompts per point {n}"]


def control_lines(control: dict) -> list[str]:
    """Notebook 05's control: each kind's trained adapter against a random update of the same shape and norm."""
    lines = []
    for kind, c in control.items():
        lines.append(f"{kind}: A moved {c['A_relative_change']:.1%} from its init (relative Frobenius norm)")
        for m in ("thr_1e-3", "energy_90", "entropy_rank", "stable_rank"):
            lines.append(f"   {m:13s} trained {c['trained'][m]:7.2f}   random control {c['control'][m]:7.2f}")
    return lines


def _tally(passed: dict) -> str:
    """``"k of n"`` adapters that pass, and the names of those that fail (sorted).

    >>> _tally({"b": False, "a": True, "c": False})
    '1 of 3 (failing: b, c)'
    """
    failing = sorted(k for k, ok in passed.items() if not ok)
    return f"{len(passed) - len(failing)} of {len(passed)}" + (f" (failing: {', '.join(failing)})" if failing else "")


def grid_lines(grid: dict, measures: list[str], what: str = "adapters") -> list[str]:
    """One rank grid of notebook 05 as saved (``{"ranks", "passed", "table", "ratios", "verdicts"}``): how
    many adapters (or other ``what``: fully fine-tuned models) learned, then per measure the trained adapters and
    both controls at each rank, the reasoning/planning ratio, and the verdict on the 2-3x claim with its reason."""
    lines = []
    for kind, v in grid["passed"].items():
        lines.append(f"{kind}: {what} that pass the ability criteria: {_tally(v)}")
        acc = grid.get("accuracy", {}).get(kind, {})
        if acc:  # to compare ranks at (roughly) matched accuracy: mean and range over seeds
            by_rank = {rank: [a for k, a in acc.items() if k.startswith(f"r{rank}-")] for rank in grid["ranks"]}
            lines.append("  accuracy at the hardest trained point: " + ", ".join(
                f"r={rank} {sum(a) / len(a):.2f} ({min(a):.2f}-{max(a):.2f})" for rank, a in by_rank.items() if a))
    for m in measures:
        cell = {(r["kind"], r["arm"], r["rank"]): r for r in grid["table"] if r["measure"] == m}
        lines.append(f"{m}:")
        for rank in grid["ranks"]:
            parts = [f"{kind} {cell[(kind, 'trained', rank)]['mean']:.1f}"
                     + "".join(f" ({arm} {cell[(kind, arm, rank)]['mean']:.1f})" for arm in ("shuffled", "random")
                               if (kind, arm, rank) in cell)
                     for kind in ("planning", "reasoning") if (kind, "trained", rank) in cell]
            ratio = next((r for r in grid["ratios"] if r["measure"] == m and r["rank"] == rank), None)
            lines.append(f"  r={rank:3d}: " + ", ".join(parts)
                         + (f"; ratio {ratio['mean']:.2f} [{ratio['low']:.2f}, {ratio['high']:.2f}]" if ratio else ""))
        verdict = grid["verdicts"][m]
        lines.append(f"  verdict: {verdict['verdict']} ({verdict['why']})")
    return lines


def full_lines(got: dict, measures=("thr_1e-3", "energy_90", "entropy_rank", "stable_rank")) -> list[str]:
    """``tools.whole_mlp_grid --full``'s table (``05_<grid>_full.json``): the full fine-tuning updates as a grid at
    rank = the layer's width (``grid_lines``: learned, measures with the random control, ratio, verdict), then per
    measure the full updates beside the stored grid's widest-rank LoRA adapters (mean [95% interval over seeds]).

    >>> row = lambda kind, arm, rank, m: {"kind": kind, "arm": arm, "rank": rank, "measure": "m", "mean": m, "low": m - 1, "high": m + 1}
    >>> got = {"target_modules": ["x"], "module": "x", "steps": 10, "lr": 0.1, "seeds": [0, 1], "device": "CPU", "width": 8,
    ...        "passed": {"planning": {"r8-s0": True}}, "accuracy": {}, "ratios": [], "verdicts": {"m": {"verdict": "v", "why": "w"}},
    ...        "table": [row("planning", "trained", 8, 5.0), row("planning", "random", 8, 8.0)],
    ...        "lora_rank": 8, "lora": [row("planning", "trained", 8, 6.0)]}
    >>> print("\\n".join(full_lines(got, ["m"])))
    full fine-tuning of ['x'] (weights only), 10 steps at lr 0.1, seeds [0, 1], trained on CPU; measured on x (width 8)
    planning: models that pass the ability criteria: 1 of 1
    m:
      r=  8: planning 5.0 (random 8.0)
      verdict: v (w)
    beside the grid's LoRA adapters at r = 8 (same layer and steps), full / LoRA:
      m: planning 5.0 [4.0, 6.0] / 6.0 [5.0, 7.0]
    """
    head = (f"full fine-tuning of {got['target_modules']} (weights only), {got['steps']} steps at lr {got['lr']:g}, "
            f"seeds {got['seeds']}, trained on {got['device']}; measured on {got['module']} (width {got['width']})")
    lines = [head] + grid_lines(dict(got, ranks=[got["width"]]), measures, what="models")
    full = {(r["kind"], r["measure"]): r for r in got["table"] if r["arm"] == "trained"}
    lora = {(r["kind"], r["measure"]): r for r in got["lora"]}
    lines.append(f"beside the grid's LoRA adapters at r = {got['lora_rank']} (same layer and steps), full / LoRA:")
    for m in measures:
        parts = [f"{kind} " + " / ".join(f"{x['mean']:.1f} [{x['low']:.1f}, {x['high']:.1f}]" for x in (full[(kind, m)], lora[(kind, m)]))
                 for kind in ("planning", "reasoning") if (kind, m) in full and (kind, m) in lora]
        lines.append(f"  {m}: " + ", ".join(parts))
    if got.get("overlap"):
        lines.append("subspace overlap phi of the top-k output-space directions (mean over layers; random subspaces beside):")
        lines += overlap_lines({**got["overlap"], **got.get("lora_overlap", {})}, indent="  ")
    return lines


def overlap_text(by_k: dict) -> str:
    """One pair of updates' overlap (``{k (str): [phi, random]}``), k ascending (a stored JSON keeps its keys sorted as
    strings).

    >>> overlap_text({"16": [0.75, 0.25], "2": [0.25, 0.03125]})
    'k=2: 0.25 (random 0.03), k=16: 0.75 (random 0.25)'
    """
    return ", ".join(f"k={k}: {by_k[k][0]:.2f} (random {by_k[k][1]:.2f})" for k in sorted(by_k, key=int))


def overlap_lines(overlap: dict, indent: str = "") -> list[str]:
    """One line per pair of updates (``{name: {k: [phi, random]}}``, e.g. ``rank_study.update_overlaps``).

    >>> overlap_lines({"a vs b": {"16": [0.75, 0.25], "2": [0.25, 0.03125]}})
    ['a vs b: k=2: 0.25 (random 0.03), k=16: 0.75 (random 0.25)']
    """
    return [f"{indent}{name}: {overlap_text(by_k)}" for name, by_k in overlap.items()]


def arm_lines(effects: list[dict], passed: dict | None = None) -> list[str]:
    """Notebook 05's init and scaling arms (``rank_study.arm_effects``, one line per measure): the task gap
    against each task's method range; ``passed`` (``rank_study.abilities`` of the arms' adapters): which
    arm adapters learned their task."""
    lines = []
    if passed:
        lines += [f"{kind}: arm adapters that pass the ability criteria: {_tally(v)}" for kind, v in passed.items()]
    for e in effects:
        wins = [k for k in ("planning", "reasoning") if e["method_range"][k] > e["task_gap"]]
        arm_seeds = f"; an arm's seed range up to {e['arm_seed_range']:5.2f}" if e.get("arm_seed_range") else ""
        lines.append(f"{e['measure']:13s} task gap {e['task_gap']:6.2f} (seed range {e['seed_range']:5.2f}{arm_seeds}); method range "
                     + ", ".join(f"{k} {e['method_range'][k]:6.2f}" for k in ("planning", "reasoning"))
                     + ("  -> the method moves it more than the task does" if wins else "  -> the task gap exceeds the method range"))
    return lines


def arm_seed_lines(stored: dict) -> list[str]:
    """``tools.arm_seeds``' table (``05_arm_seeds.json``): the arms' effects at three seeds per arm, over every
    arm, then over only the arms every adapter of which learned its task."""
    return (arm_lines(stored["effects"], stored["passed"]) + ["only the arms every adapter of which learned its task:"]
            + arm_lines(stored["effects_learned"]))


def snapshot_lines(got: dict, measures=("thr_1e-3", "entropy_rank", "energy_90")) -> list[str]:
    """``tools.whole_mlp_grid --snapshots``' table (``05_whole_mlp_snapshots.json``): per task and saved step, the
    measures on the paper's layer and the accuracy at the hardest trained point (``*``: the adapter passes the
    ability criteria there); then the final step beside the grid's adapter of the same cell.

    >>> row = {"step": 10, "thr_1e-3": 3.0, "entropy_rank": 2.25, "energy_90": 2.0, "accuracy": 0.5, "passed": True}
    >>> got = {"rank": 4, "seed": 0, "module": "m", "device": "CPU", "grid_device": "GPU", "curves": {"planning": [row]},
    ...        "grid_final": {"planning": dict(row, **{"thr_1e-3": 4.0})}, "grid_final_accuracy": {"planning": 0.75}}
    >>> print("\\n".join(snapshot_lines(got)))
    planning r=4 seed 0 (m, trained on CPU): step 10: thr_1e-3 3.0, entropy_rank 2.2, energy_90 2.0, accuracy 0.50*
      final step against the grid's adapter of this cell (trained on GPU): thr_1e-3 3.0 / 4.0, entropy_rank 2.2 / 2.2, energy_90 2.0 / 2.0, accuracy 0.50 / 0.75

    A full fine-tuning run's (``--full --snapshots``: ``"method": "full"``) is named by its width and set beside the
    reference's model of the same cell:

    >>> print("\\n".join(snapshot_lines(dict(got, method="full"))[:2]))
    planning full fine-tuning (width 4) seed 0 (m, trained on CPU): step 10: thr_1e-3 3.0, entropy_rank 2.2, energy_90 2.0, accuracy 0.50*
      final step against the reference's model of this cell (trained on GPU): thr_1e-3 3.0 / 4.0, entropy_rank 2.2 / 2.2, energy_90 2.0 / 2.0, accuracy 0.50 / 0.75
    """
    full = got.get("method") == "full"
    what, same = (f"full fine-tuning (width {got['rank']})", "the reference's model") if full else \
        (f"r={got['rank']}", "the grid's adapter")
    out = []
    for kind, rows in got["curves"].items():
        steps = "; ".join(f"step {r['step']}: " + ", ".join(f"{m} {r[m]:.1f}" for m in measures)
                          + f", accuracy {r['accuracy']:.2f}{'*' if r['passed'] else ''}" for r in rows)
        out.append(f"{kind} {what} seed {got['seed']} ({got['module']}, trained on {got['device']}): {steps}")
        final, grid = rows[-1], got["grid_final"][kind]
        out.append(f"  final step against {same} of this cell (trained on {got['grid_device']}): "
                   + ", ".join(f"{m} {final[m]:.1f} / {grid[m]:.1f}" for m in measures)
                   + f", accuracy {final['accuracy']:.2f} / {got['grid_final_accuracy'][kind]:.2f}")
    from .rank_study import first_passing
    first = first_passing(got["curves"], measures)
    if first["ratios"]:  # both tasks passed at some saved step
        at = "; ".join(f"{kind} step {p['step']}" + (" (its first saved step)" if first["first_saved"][kind] else "")
                       + ": " + ", ".join(f"{m} {p[m]:.1f}" for m in measures) + f", accuracy {p['accuracy']:.2f}"
                       for kind, p in first["points"].items())
        out.append(f"each task where it first passes the criteria: {at}; reasoning/planning there: "
                   + ", ".join(f"{m} {v:.2f}" for m, v in first["ratios"].items()))
    seeds = first_passing_seeds_text(got.get("seed_curves") or {}, measures)
    if seeds:  # tools.whole_mlp_grid --snapshots --seeds: the same at more seeds
        out.append(seeds)
    return out


def first_passing_seeds_text(seed_curves: dict, measures) -> str | None:
    """The rank over training at several seeds (``seed_curves``: ``{seed: {kind: curve}}``), each task where it first
    passes the criteria, seed by seed, and the reasoning/planning ratio there with its mean and 95% t-interval over the
    seeds (``rank_study.first_passing_seeds``); ``None`` for fewer than two seeds.

    >>> p = lambda step, ok, v: {"step": step, "passed": ok, "thr_1e-3": v}
    >>> print(first_passing_seeds_text({"0": {"planning": [p(1, False, 1.0), p(2, True, 4.0)], "reasoning": [p(1, True, 3.0)]},
    ...                                 "1": {"planning": [p(1, True, 4.0)], "reasoning": [p(1, True, 5.0)]}}, ["thr_1e-3"]))
    over seeds 0, 1 (each seed's planning run paired with its reasoning run), each task where it first passes the criteria: seed 0: planning step 2, reasoning step 1 (its first saved step); seed 1: planning step 1 (its first saved step), reasoning step 1 (its first saved step); reasoning/planning there, mean [95% t-interval] over 2 seeds: thr_1e-3 1.00 [-2.18, 4.18]
    """
    from .rank_study import first_passing_seeds
    if len(seed_curves) < 2:
        return None
    got = first_passing_seeds(seed_curves, measures)
    at = "; ".join(f"seed {seed}: " + ", ".join(
        f"{kind} step {p['step']:,}" + (" (its first saved step)" if first["first_saved"][kind] else "")
        if p else f"{kind} never passes" for kind, p in first["points"].items())
        for seed, first in got["per_seed"].items())
    ratios = (f"; reasoning/planning there, mean [95% t-interval] over {len(got['seeds_passed'])} seeds: "
              + ", ".join(f"{m} {v['mean']:.2f} [{v['low']:.2f}, {v['high']:.2f}]" for m, v in got["ratios"].items())
              if got["ratios"] else "; no seed where both tasks passed")
    return (f"over seeds {', '.join(seed_curves)} (each seed's planning run paired with its reasoning run), "
            f"each task where it first passes the criteria: {at}{ratios}")


def variant_lora_lines(got: dict) -> list[str]:
    """``tools.variant_lora``'s table (``03_variant_lora.json``): the variant base's accuracy beside the committed
    base's, then each adapter's accuracy and its ability verdict."""
    out = [f"{got['kind']} LoRA r={got['rank']} on the base variant {got['variant']!r}; base accuracy (variant / committed): "
           + ", ".join(f"{p}: {got['variant_base_accuracy'][p]:.2f} / {got['committed_base_accuracy'][p]:.2f}"
                       for p in got["variant_base_accuracy"])]
    for name, run in got["runs"].items():
        acc = ", ".join(f"{r['point']}: {r['accuracy']:.2f}" for r in run["rows"])
        verdict = "PASSES the ability criteria" if run["criteria"]["passed"] else "fails (" + "; ".join(failures(run["criteria"])) + ")"
        out.append(f"  {name}: {acc}  {verdict}")
    return out
