"""Planning vs reasoning rank analysis across ranks and seeds (notebook 05), on top of ``helpers.rank``.

The grid (``profile["rank_analysis"]``): LoRA ranks up to the adapted layer's full width, several seeds
per task, and at every rank two controls: an adapter trained on shuffled targets (the task's prompts,
each answer a random hash of its map: what training without the task gives) and a random update of
the same shape and norm (``control_adapter``). A measure decides the claim only at ranks where it is
*unsaturated* (below r for every adapter compared) and *separated* from the random control
(``usable_ranks``); the full fine-tuning update (``full_update_layers``) shows how many directions
each task needs without the LoRA constraint.

The paper's headline: the effective rank of trained LoRA updates is 2-3x lower for reasoning
(HashChain) than for planning (HashHop). ``ratios`` measures that ratio for every rank measure, per
LoRA rank, with a 95% interval across seeds (the seed-``i`` reasoning adapter over the seed-``i``
planning adapter). ``control_adapter`` builds the baseline a threshold count must beat: the same
``A`` as at the start of training (peft's random init, same seed) with a random ``B`` of the trained
``B``'s norm, i.e. a random update of the same shape and size.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file

from .stats import seed_interval
from .lora import _resolve, add_lora
from .model import load_pretrained
from .rank import analyze_adapter, in_module, only_module, rank_measures, singular_values, summarize

KINDS = ("planning", "reasoning")
# the measures notebook 05 draws for every grid (the paper's threshold count and three that do not threshold)
GRID_MEASURES = ["thr_1e-3", "energy_90", "entropy_rank", "stable_rank"]
# where a measure counts as saturated: its mean reaches this share of the LoRA rank
SATURATED_SHARE = 0.95


def study_cells(profile: dict, ranks: list[int], **overrides) -> list[dict]:
    """Every adapter of one rank grid: ``{"kind", "rank", "seed", "arm", "config"}`` for each task, rank
    and seed (``rank_analysis.seeds``), and the shuffled-target control at every rank
    (``rank_analysis.control_seeds``); ``overrides`` are run settings (e.g. ``target_modules``, ``lr``)."""
    from .experiments import run_configs
    ra = profile["rank_analysis"]
    cells = []
    for kind in KINDS:
        for arm, seeds, extra in (("trained", ra["seeds"], {}), ("shuffled", ra["control_seeds"], {"targets": "shuffled"})):
            for cfg in run_configs(profile, kind, ranks, seeds, **extra, **overrides):
                cells.append({"kind": kind, "rank": cfg["rank"], "seed": cfg["seed"], "arm": arm, "config": cfg})
    return cells


def rank_cells(profile: dict) -> list[dict]:
    """The grid on the paper's layer (the profile's LoRA target, ``rank_analysis.ranks``). Cells shared
    with notebook 03 have its configs (run cache)."""
    return study_cells(profile, profile["rank_analysis"]["ranks"])


def attention_settings(profile: dict) -> dict:
    """The run settings of the grid on the layer where both tasks learn (``rank_analysis.attention``)."""
    at = profile["rank_analysis"]["attention"]
    return {"target_modules": at["target_modules"], "lr": at["lr"]}


def attention_cells(profile: dict) -> list[dict]:
    """The same grid on the layer where both tasks learn (``rank_analysis.attention``: its target modules,
    ranks and lr). Cells shared with notebook 04's module arms come from the run cache."""
    return study_cells(profile, profile["rank_analysis"]["attention"]["ranks"], **attention_settings(profile))


# The grids trained longer than make figures can (tools.whole_mlp_grid), by their key in rank_analysis: the whole MLP,
# and the paper's layer alone at peft's default scaling (at the full width, and below it) and with rsLoRA, each read on
# its ``module`` alone; per grid, its results file (results/<profile>/) and the tag of its exported adapters
# (models/adapters/<kind>-<profile>-<tag>-r<rank>)
LAYER_GRIDS = {"whole_mlp": ("05_whole_mlp.json", "mlp"), "paper_layer": ("05_paper_layer.json", "x16"),
               "paper_layer_rslora": ("05_paper_layer_rslora.json", "rslora"),
               "paper_layer_ranks": ("05_paper_layer_ranks.json", "x16")}


# The studies of tools.whole_mlp_grid set against a stored grid, and the suffix of their results file
STUDIES = {"grid": "", "arms": "_arms", "snapshots": "_snapshots", "full": "_full", "full_snapshots": "_full_snapshots"}


def study_file(grid: str, study: str = "grid") -> str:
    """The results file (in ``results/<profile>/``) of a grid of ``tools.whole_mlp_grid`` or of a study set against
    it (``STUDIES``): the one place these names are spelled (the tool writes them, notebook 05 and the report read them).

    >>> study_file("paper_layer"), study_file("paper_layer", "full_snapshots"), study_file("whole_mlp", "arms")
    ('05_paper_layer.json', '05_paper_layer_full_snapshots.json', '05_whole_mlp_arms.json')
    """
    if study not in STUDIES:
        raise ValueError(f"study: allowed values are {list(STUDIES)}, got {study!r}")
    return LAYER_GRIDS[_known_grid(grid)][0].replace(".json", f"{STUDIES[study]}.json")


def _known_grid(grid: str) -> str:
    """``grid`` if it is a key of ``LAYER_GRIDS``, else an error naming the allowed ones."""
    if grid not in LAYER_GRIDS:
        raise ValueError(f"grid: allowed values are {list(LAYER_GRIDS)}, got {grid!r}")
    return grid


def stored_study(profile: dict, grid: str, study: str = "grid") -> dict | None:
    """What ``tools.whole_mlp_grid`` stored of a grid (``LAYER_GRIDS``) or of a study set against it (``study_file``),
    as notebook 05 reads it; None where it was not run for this profile."""
    import json

    from .paths import results_path
    path = results_path(profile, study_file(grid, study))
    return json.loads(path.read_text()) if path.is_file() else None


def stored_layer_grid(profile: dict, grid: str) -> dict | None:
    """One of ``tools.whole_mlp_grid``'s grids as it stored it (``stored_study``), with the adapters it exported
    (``exported``: ``{kind: repo-relative folder}``); None where it was not trained for this profile (or its exported
    adapters are missing)."""
    from .paths import REPO_ROOT
    got = stored_study(profile, grid)
    if got is None or not all((REPO_ROOT / folder / "adapter_config.json").is_file()
                              for folder in got.get("exported", {}).values()):
        return None
    return got


def layer_grid_settings(profile: dict, grid: str = "whole_mlp") -> dict:
    """The run settings of one of the grids that ``tools.whole_mlp_grid`` trains (``rank_analysis[grid]``, ``grid`` in
    ``LAYER_GRIDS``): its target modules, lr (None: ``lora.lr``), ``steps_x`` times the profile's LoRA steps and, where
    it sets it, ``use_rslora``. The MLP with its input projection adapted learns planning at 4x the steps; the paper's
    layer alone needs 16x at peft's default scaling, or rsLoRA at 4x (``tools.planning_probe``)."""
    wm = profile["rank_analysis"][_known_grid(grid)]
    out = {"target_modules": list(wm["target_modules"]), "lr": wm["lr"] if wm["lr"] is not None else profile["lora"]["lr"],
           "steps": profile["lora"]["steps"] * wm["steps_x"]}
    if wm.get("use_rslora"):
        out["use_rslora"] = True
    return out


def layer_grid_cells(profile: dict, grid: str = "whole_mlp") -> list[dict]:
    """One of the grids of ``tools.whole_mlp_grid`` (``rank_analysis[grid]``: ranks, lr, steps, scaling), with the
    seeds and controls of every grid. Its measures are read on ``rank_analysis[grid]["module"]`` alone."""
    return study_cells(profile, profile["rank_analysis"][grid]["ranks"], **layer_grid_settings(profile, grid))


def arm_cells(profile: dict, **settings) -> list[dict]:
    """The init and scaling arms (``rank_analysis.arms``) at ``rank_analysis.arm_rank``, per task and
    control seed: ``{"kind", "rank", "seed", "arm", "config"}``; ``arm`` is the arm's name. An arm's
    ``alpha`` fixes the LoRA alpha; its other keys are run settings (``init``, ``use_rslora``);
    ``settings`` apply to every arm (e.g. ``attention_settings``)."""
    from .experiments import run_configs
    ra = profile["rank_analysis"]
    cells = []
    for kind in KINDS:
        for name, arm in ra["arms"].items():
            extra = {k: v for k, v in arm.items() if k != "alpha"}
            for cfg in run_configs(profile, kind, [ra["arm_rank"]], ra["control_seeds"], alpha=arm.get("alpha"), **extra,
                                   **settings):
                cells.append({"kind": kind, "rank": cfg["rank"], "seed": cfg["seed"], "arm": name, "config": cfg})
    return cells


def snapshot_configs(profile: dict, attention: bool = False) -> dict:
    """Per task, the run whose adapter is also saved at the ``rank_analysis.snapshots`` steps: the rank over
    training. On the paper's layer, the grid's largest rank and first seed (the grid's own run, and notebook
    03's, see ``experiments.run_configs``); with ``attention``, the same cell of the attention grid
    (``rank_analysis.attention``), a run of its own (the grid's cell is notebook 04's module arm, without snapshots)."""
    from .experiments import run_configs
    ra = profile["rank_analysis"]
    if not attention:
        return {kind: run_configs(profile, kind, [max(ra["ranks"])], ra["seeds"][:1])[0] for kind in KINDS}
    return {kind: run_configs(profile, kind, [max(ra["attention"]["ranks"])], ra["seeds"][:1],
                              snapshots=list(ra["snapshots"]), **attention_settings(profile))[0] for kind in KINDS}


def layer_grid_snapshot_configs(profile: dict, grid: str = "whole_mlp", seed: int | None = None) -> dict:
    """Per task, the grid's widest-rank, first-seed run (``layer_grid_cells``) once more, saving its adapter at the
    ``rank_analysis.snapshots`` steps scaled by the grid's ``steps_x`` (the run is ``steps_x`` times as long): the rank
    over training on the paper's layer where both tasks learn (``tools.whole_mlp_grid --snapshots [--grid GRID]``).
    ``seed``: another of the grid's seeds (``rank_analysis.seeds``) in place of the first."""
    from .experiments import run_configs
    ra = profile["rank_analysis"]
    wm = ra[grid]
    if seed is not None and seed not in ra["seeds"]:
        raise ValueError(f"seed: allowed values are the grid's seeds {ra['seeds']}, got {seed!r}")
    return {kind: run_configs(profile, kind, [max(wm["ranks"])], ra["seeds"][:1] if seed is None else [seed],
                              snapshots=[n * wm["steps_x"] for n in ra["snapshots"]],
                              **layer_grid_settings(profile, grid))[0]
            for kind in KINDS}


def layer_grid_full_cells(profile: dict, grid: str = "paper_layer", **extra) -> list[dict]:
    """The reference without the LoRA constraint for one of ``tools.whole_mlp_grid``'s grids: per task and seed of
    the grid, a full fine-tuning run of the grid's target modules' weights alone (``trainable: "target_modules"``),
    as long as the grid's runs (``steps_x``), at the profile's full fine-tuning lr (``ablations.full_lr``, notebook
    04's), and the same on shuffled targets at the control seeds (what such training gives without the task):
    ``{"kind", "rank": None, "seed", "arm": "full" | "shuffled", "config"}`` (``tools.whole_mlp_grid --full``).
    ``extra``: run-config values over these (e.g. ``snapshots``: ``layer_grid_full_snapshot_configs``)."""
    from .experiments import run_configs
    ra = profile["rank_analysis"]
    settings = {k: v for k, v in layer_grid_settings(profile, grid).items() if k in ("target_modules", "steps")}
    return [{"kind": kind, "rank": None, "seed": cfg["seed"], "arm": arm, "config": cfg} for kind in KINDS
            for arm, seeds, arm_extra in (("full", ra["seeds"], {}), ("shuffled", ra["control_seeds"], {"targets": "shuffled"}))
            for cfg in run_configs(profile, kind, [None], seeds, method="full", lr=profile["ablations"]["full_lr"],
                                   trainable="target_modules", **arm_extra, **settings, **extra)]


def layer_grid_full_snapshot_configs(profile: dict, grid: str = "paper_layer") -> dict:
    """Per task, the full fine-tuning reference's first-seed run (``layer_grid_full_cells``) once more, saving its
    model at the ``rank_analysis.snapshots`` steps scaled by the grid's ``steps_x``, as the grid's own rank over
    training does (``layer_grid_snapshot_configs``): the rank over training without the LoRA constraint
    (``tools.whole_mlp_grid --full --snapshots [--grid GRID]``)."""
    ra = profile["rank_analysis"]
    steps = [n * ra[_known_grid(grid)]["steps_x"] for n in ra["snapshots"]]
    return {c["kind"]: c["config"] for c in layer_grid_full_cells(profile, grid, snapshots=steps)
            if c["arm"] == "full" and c["seed"] == ra["seeds"][0]}


def study_configs(profile: dict) -> list[dict]:
    """Every run notebook 05 reads, for one pool of workers (longest first, no idle worker between
    sections): the grid and its shuffled controls (``rank_cells``, in that order, first), the same on
    attention (``attention_cells``), the arms on both layers, the snapshot runs of both layers."""
    return ([c["config"] for c in rank_cells(profile) + attention_cells(profile) + arm_cells(profile)
             + arm_cells(profile, **attention_settings(profile))] + list(snapshot_configs(profile).values())
            + list(snapshot_configs(profile, attention=True).values()))


def arm_effects(rows: list[dict], measure: str, rank: int) -> dict:
    """Does the task or the method set ``measure`` at ``rank``? ``rows``: cell summaries (trained seeds
    and arms). Returns the task gap under the default (|reasoning - planning| of the seed means), the
    spread over seeds (largest seed range of the two tasks), each arm's value per task (the mean over its
    seeds), the largest seed range of any arm (0 where every arm has one seed), and the method range per
    task (largest - smallest over the default and every arm).

    >>> rows = [{"kind": k, "rank": 8, "arm": a, "seed": s, "m": v} for k, a, s, v in (
    ...     ("planning", "trained", 0, 4.0), ("planning", "trained", 1, 5.0), ("reasoning", "trained", 0, 4.0),
    ...     ("reasoning", "trained", 1, 4.0), ("planning", "x", 0, 8.0), ("reasoning", "x", 0, 7.0),
    ...     ("reasoning", "x", 1, 9.0))]
    >>> e = arm_effects(rows, "m", 8); e["task_gap"], e["seed_range"], e["method_range"], e["arm_seed_range"]
    (0.5, 1.0, {'planning': 3.5, 'reasoning': 4.0}, 2.0)
    """
    at = [r for r in rows if r["rank"] == rank and r["arm"] != "shuffled"]
    by = {}
    for r in at:
        by.setdefault((r["arm"], r["kind"]), []).append(r[measure])
    default = {k: by.get(("trained", k), []) for k in KINDS}
    if not all(default.values()):
        return {}
    mean = {k: sum(v) / len(v) for k, v in default.items()}
    arms = sorted({r["arm"] for r in at} - {"trained"})
    values = {a: {k: sum(by[a, k]) / len(by[a, k]) if (a, k) in by else None for k in KINDS} for a in arms}
    method_range = {k: max([mean[k]] + [v[k] for v in values.values() if v[k] is not None])
                    - min([mean[k]] + [v[k] for v in values.values() if v[k] is not None]) for k in KINDS}
    return {"measure": measure, "rank": rank, "default": mean, "arms": values,
            "task_gap": abs(mean["reasoning"] - mean["planning"]),
            "seed_range": max(max(v) - min(v) for v in default.values()), "method_range": method_range,
            "arm_seed_range": max([max(v) - min(v) for (a, _), v in by.items() if a != "trained"], default=0.0)}


def snapshot_dirs(result: dict, steps: int) -> list[tuple[int, Path]]:
    """``[(step, adapter folder), ...]`` of one run with ``snapshots``, in step order: every saved step, then the
    final adapter at ``steps``."""
    run = Path(result["run_dir"])
    found = sorted(int(p.name.split("-")[1]) for p in (run / "snapshots").glob("step-*"))
    return [(n, run / "snapshots" / f"step-{n}") for n in found] + [(steps, Path(result["adapter_dir"]))]


def snapshot_summaries(result: dict, steps: int, module: str | None = None) -> list[dict]:
    """The measures (mean over layers, or over the ``module`` layers alone: ``layer_summary``) of one run's adapter
    at each saved step and at the end (``result`` of a run with ``snapshots``): ``[{"step", **measures}, ...]``."""
    return [{"step": n, **layer_summary(d, module)} for n, d in snapshot_dirs(result, steps)]


def snapshot_curves(profile: dict, configs: dict, results: dict, module: str | None = None) -> dict:
    """The rank over training of one run with ``snapshots`` per task (``configs``, ``results``: ``{kind: ...}``): at
    every saved step and at the end, the measures on ``module`` (an adapter's: ``layer_summary``; a full fine-tuning
    run's update ``W - W_base`` of that module: ``full_update_layers``), the accuracy at the task's hardest trained
    point and whether the adapter or model passes the ability criteria there (``abilities``):
    ``{kind: [{"step", **measures, "accuracy", "passed"}, ...]}``."""
    curves = {}
    for kind, cfg in configs.items():
        full = cfg.get("method") == "full"
        if full and module is None:
            raise ValueError("module: name the layer whose full fine-tuning update is measured, e.g. 'mlp.c_proj'")
        result = dict(results[kind], adapter_dir=str(Path(results[kind]["run_dir"]) / "model")) if full else results[kind]
        dirs = snapshot_dirs(result, cfg["steps"])
        rows = [{"step": n, **(summarize(full_update_layers(cfg["base"], d, module)) if full else layer_summary(d, module))}
                for n, d in dirs]
        cells = [{"kind": kind, "rank": cfg["rank"], "seed": cfg["seed"], "arm": f"step {n}", "config": cfg} for n, _ in dirs]
        passed, accuracy = abilities(profile, cells, [{"adapter_dir": str(d)} for _, d in dirs])
        curves[kind] = [dict(row, accuracy=accuracy[kind][adapter_name(c)], passed=passed[kind][adapter_name(c)])
                        for row, c in zip(rows, cells)]
    return curves


def first_passing(curves: dict, measures=GRID_MEASURES) -> dict:
    """The two tasks' updates each at the first saved step where its run passes the ability criteria (``curves``:
    ``snapshot_curves``' points per task): each compared just as it has learned, the nearest this design comes to
    matched accuracy (the tasks' accuracies lie on different scales). ``{"points": {kind: point or None}, "first_saved":
    {kind: the run passed already at its first saved step, so it may have learned before}, "ratios": {measure:
    reasoning / planning}}`` (no ratios unless both passed; only the measures both points hold).

    >>> p = lambda step, ok, v: {"step": step, "passed": ok, "thr_1e-3": v}
    >>> got = first_passing({"planning": [p(1, False, 2.0), p(2, True, 4.0)], "reasoning": [p(1, True, 3.0)]}, ["thr_1e-3"])
    >>> got["points"]["planning"]["step"], got["first_saved"], got["ratios"]
    (2, {'planning': False, 'reasoning': True}, {'thr_1e-3': 0.75})
    """
    points = {kind: next((p for p in rows if p["passed"]), None) for kind, rows in curves.items()}
    first_saved = {kind: points[kind] is rows[0] for kind, rows in curves.items()}
    both = all(points.get(kind) for kind in ("planning", "reasoning"))
    ratios = {m: points["reasoning"][m] / points["planning"][m] for m in measures
              if m in points["reasoning"] and m in points["planning"]} if both else {}
    return {"points": points, "first_saved": first_saved, "ratios": ratios}


def first_passing_seeds(seed_curves: dict, measures=GRID_MEASURES) -> dict:
    """``first_passing`` for the rank over training of several seeds (``{seed: curves}``: one run per task and seed,
    the tasks' runs of one seed paired): per seed its points and ratios, and per measure the seeds' ratios with their
    mean and 95% t-interval (``stats.seed_interval``), over the seeds where both tasks passed.

    >>> p = lambda step, ok, v: {"step": step, "passed": ok, "thr_1e-3": v}
    >>> got = first_passing_seeds({"0": {"planning": [p(1, True, 4.0)], "reasoning": [p(1, True, 3.0)]},
    ...                            "1": {"planning": [p(1, True, 4.0)], "reasoning": [p(1, True, 5.0)]},
    ...                            "2": {"planning": [p(1, False, 4.0)], "reasoning": [p(1, True, 5.0)]}}, ["thr_1e-3"])
    >>> got["ratios"]["thr_1e-3"]["values"], got["ratios"]["thr_1e-3"]["mean"], got["seeds_passed"]
    ([0.75, 1.25], 1.0, ['0', '1'])
    """
    from .stats import seed_interval
    per_seed = {str(seed): first_passing(curves, measures) for seed, curves in seed_curves.items()}
    passed = [seed for seed, got in per_seed.items() if got["ratios"]]
    ratios = {m: seed_interval([per_seed[s]["ratios"][m] for s in passed]) for m in measures
              if passed and all(m in per_seed[s]["ratios"] for s in passed)}
    return {"per_seed": per_seed, "seeds_passed": passed, "ratios": ratios}


def layer_summary(adapter_dir, module: str | None = None) -> dict:
    """Every measure of an adapter, averaged over its adapted layers, or over only those named ``*.<module>``
    (e.g. the paper's layer ``mlp.c_proj`` inside a whole-MLP adapter); a module it does not adapt is an error."""
    return summarize(only_module(analyze_adapter(adapter_dir), module, adapter_dir))


def cell_summaries(cells: list[dict], results: list[dict], module: str | None = None) -> list[dict]:
    """Every measure, averaged over each adapter's layers (or its ``module`` layers: ``layer_summary``), with its
    cell's kind, rank, seed and arm."""
    return [{"kind": c["kind"], "rank": c["rank"], "seed": c["seed"], "arm": c["arm"], "adapter_dir": r["adapter_dir"],
             **layer_summary(r["adapter_dir"], module)} for c, r in zip(cells, results) if r.get("adapter_dir")]


def per_layer_values(cells: list[dict], results: list[dict], module: str | None = None,
                     measure: str = "thr_1e-3") -> dict:
    """``measure`` layer by layer (``module`` layers alone, where given) of the widest rank's trained adapters, as the
    paper lists its threshold rank per layer for one adapter: ``{kind: {seed (str): [value per layer, by block]}}``."""
    from .rank import analyze_adapter, only_module
    top = max(c["rank"] for c in cells)
    out: dict = {}
    for c, r in zip(cells, results):
        if c["arm"] == "trained" and c["rank"] == top and r.get("adapter_dir"):
            layers = only_module(analyze_adapter(r["adapter_dir"]), module, r["adapter_dir"])
            out.setdefault(c["kind"], {})[str(c["seed"])] = [l[measure] for l in layers]
    return out


def random_controls(cells: list[dict], results: list[dict], tmp_dir: Path, module: str | None = None) -> list[dict]:
    """The random-update control of every (kind, rank), built from the first seed's trained adapter:
    ``{"kind", "rank", "arm": "random", "A_relative_change", **measures}`` (how far training moved that
    adapter's A from its init, mean over layers; with ``module``, over its ``module`` layers alone)."""
    out, done = [], set()
    for c, r in zip(cells, results):
        if c["arm"] != "trained" or (c["kind"], c["rank"]) in done or not r.get("adapter_dir"):
            continue
        done.add((c["kind"], c["rank"]))
        folder = Path(tmp_dir) / f"{c['kind']}-r{c['rank']}"
        a_change = control_adapter(c["config"], r["adapter_dir"], folder)
        if module is not None:
            a_change = {k: v for k, v in a_change.items() if in_module(k, module)}
        out.append({"kind": c["kind"], "rank": c["rank"], "seed": c["seed"], "arm": "random",
                    "A_relative_change": sum(a_change.values()) / len(a_change), **layer_summary(folder, module)})
    return out


def measure_table(rows: list[dict], measure: str) -> list[dict]:
    """Mean and 95% t-interval over seeds of ``measure`` for every (kind, arm, rank)."""
    groups: dict[tuple, list[float]] = {}
    for r in rows:
        groups.setdefault((r["kind"], r["arm"], r["rank"]), []).append(r[measure])
    return [{"kind": k, "arm": a, "rank": rk, "measure": measure, **seed_interval(v)}
            for (k, a, rk), v in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2]))]


def usable_ranks(table: list[dict], measure: str) -> list[dict]:
    """Per LoRA rank, whether ``measure`` can decide the claim there: *unsaturated* (every trained
    adapter's mean below ``SATURATED_SHARE`` of r; a count equal to r says only that every direction
    passed) and *separated* (for each task the trained interval excludes that rank's random control).

    >>> t = [{"kind": k, "arm": a, "rank": 4, "measure": "m", "mean": v, "low": v - .1, "high": v + .1, "n": 3}
    ...      for k, a, v in (("planning", "trained", 4.0), ("reasoning", "trained", 4.0), ("planning", "random", 4.0),
    ...                      ("reasoning", "random", 4.0))]
    >>> usable_ranks(t, "m")[0]["usable"], usable_ranks(t, "m")[0]["why"]
    (False, 'saturated (planning 4.0, reasoning 4.0 of r=4); not separated from the random control (planning 4.0 vs 4.0, reasoning 4.0 vs 4.0)')
    """
    out = []
    for rank in sorted({r["rank"] for r in table if r["measure"] == measure}):
        cell = {(r["kind"], r["arm"]): r for r in table if r["measure"] == measure and r["rank"] == rank}
        trained = {k: cell.get((k, "trained")) for k in KINDS}
        if not all(trained.values()):
            continue
        saturated = any(t["mean"] >= SATURATED_SHARE * rank for t in trained.values())
        random = {k: cell.get((k, "random")) for k in KINDS}
        # an interval needs two seeds: with one, "different from the control" cannot be told from seed noise
        separated = all(random[k] is not None and trained[k].get("n", 0) >= 2
                        and not (trained[k]["low"] <= random[k]["mean"] <= trained[k]["high"]) for k in KINDS)
        why = []
        if saturated:
            why.append("saturated (" + ", ".join(f"{k} {trained[k]['mean']:.1f}" for k in KINDS) + f" of r={rank})")
        if not separated:
            why.append("not separated from the random control (" + ", ".join(
                f"{k} {trained[k]['mean']:.1f} vs {random[k]['mean']:.1f}" if random[k] else f"{k}: no control"
                for k in KINDS) + (", one seed: no interval" if any(trained[k].get("n", 0) < 2 for k in KINDS) else "") + ")")
        out.append({"rank": rank, "measure": measure, "usable": not why, "why": "; ".join(why)})
    return out


def full_update_layers(base_dir: str, model_dir: str, module: str = "mlp.c_proj") -> list[dict]:
    """The rank measures of the full fine-tuning update ``W_tuned - W_base`` of ``module`` in every
    block (the reference without the LoRA constraint), one dict per layer like ``rank.analyze_adapter``."""
    from .rank import full_update_deltas
    return [{"module": name, "shape": list(delta.shape), **rank_measures(singular_values(delta))}
            for name, delta in full_update_deltas(_resolve(base_dir), model_dir, module).items()]


def updates_overlap(a: dict, b: dict) -> dict:
    """The subspace overlap phi of two updates of the same layers (``rank.updates_of``) at their top-k output-space
    directions, the mean over layers, with the random-subspace expectation: ``{k (str): [phi, random]}``."""
    from .rank import compare_layers
    rows = compare_layers(a, b)  # the same layers in both, or an error naming them
    return {str(k): [sum(r["phi_out"][i] for r in rows) / len(rows), rows[0]["random_out"][i]]
            for i, k in enumerate(rows[0]["k"])}


def update_overlaps(cells: list[dict], results: list[dict], lora_dirs: dict | None = None,
                    module: str = "mlp.c_proj", method: str | None = None) -> dict:
    """Where the updates of a grid's cells point (LoRA adapters at one rank, or the full fine-tuning reference's models:
    ``layer_grid_full_cells``), by the overlap of their top singular directions (``updates_overlap``), at the first
    seed: planning against reasoning (as notebook 05 compares two adapters), and per task against the next seed's (how
    stable the directions are), against the shuffled-target control's, and against ``lora_dirs`` (``{kind: adapter
    folder}``, e.g. the LoRA adapter of a full model's cell): ``{name: {k: [phi, random]}}``, each name starting with
    the method ("full fine-tuning" or "LoRA r=<rank>", or ``method`` where given, e.g. to name the layer too)."""
    from .rank import updates_of
    runs = {(c["kind"], c["arm"], c["seed"]): (c, r) for c, r in zip(cells, results)}
    trained = "full" if any(c["arm"] == "full" for c in cells) else "trained"
    first = min(c["seed"] for c in cells if c["arm"] == trained)

    def update(kind, arm, seed):
        c, r = runs[(kind, arm, seed)]
        return updates_of(r.get("adapter_dir") or Path(r["run_dir"]) / "model", _resolve(c["config"]["base"]), module)
    ups = {kind: update(kind, trained, first) for kind in KINDS}
    method = method or ("full fine-tuning" if trained == "full" else f"LoRA r={max(r for r, _ in ups['planning'].values())}")
    out = {f"{method}: planning vs reasoning, seed {first}": updates_overlap(ups["planning"], ups["reasoning"])}
    for kind in KINDS:
        seeds = sorted(s for k, a, s in runs if k == kind and a == trained)
        if len(seeds) > 1:
            out[f"{method}, {kind}: seed {first} vs seed {seeds[1]}"] = updates_overlap(ups[kind], update(kind, trained, seeds[1]))
        if (kind, "shuffled", first) in runs:
            out[f"{method}, {kind}: trained vs shuffled targets, seed {first}"] = updates_overlap(
                ups[kind], update(kind, "shuffled", first))
        if kind in (lora_dirs or {}):
            lora = updates_of(lora_dirs[kind], module=module)
            out[f"{method} vs LoRA r={max(r for r, _ in lora.values())}, {kind}: seed {first}"] = updates_overlap(ups[kind], lora)
    return out


def full_update_summaries(cells: list[dict], results: list[dict], module: str = "mlp.c_proj") -> dict:
    """``{kind: measures}`` (mean over layers) of the full fine-tuning update of ``module`` for each
    full fine-tuning run (``cells`` with their ``results``, e.g. notebook 04's)."""
    return {c["kind"]: summarize(full_update_layers(c["config"]["base"], Path(r["run_dir"]) / "model", module))
            for c, r in zip(cells, results)}


def random_update_measures(shape: list[int], seed: int) -> dict:
    """The rank measures of a Gaussian matrix of ``shape`` (seeded): the random control of a full fine-tuning update
    of that shape (every measure is scale-free, so its norm does not matter)."""
    gen = torch.Generator().manual_seed(seed)
    return rank_measures(singular_values(torch.randn(shape, generator=gen, dtype=torch.float64).numpy()))


def analyze_full(profile: dict, cells: list[dict], results: list[dict], module: str = "mlp.c_proj",
                 control_seed: int = 12345) -> dict:
    """``analyze_grid`` for full fine-tuning runs (``layer_grid_full_cells`` and their results): the update
    ``W_tuned - W_base`` of ``module`` in every block (``full_update_layers``), read as a rank-``width`` update
    (``width`` = the layer's smaller dimension, the most any rank can be), so that saturation, the random control
    (``random_update_measures``, one Gaussian matrix per layer), the ability criteria, the reasoning/planning ratios
    and the verdicts are notebook 05's. Rows and names carry ``rank = width`` and ``arm = "trained"`` (the
    shuffled-target runs ``arm = "shuffled"``, in the table as the grids' shuffled controls are)."""
    models = [dict(r, adapter_dir=str(Path(r["run_dir"]) / "model")) for r in results]
    layers = [full_update_layers(c["config"]["base"], m["adapter_dir"], module) for c, m in zip(cells, models)]
    width = min(layers[0][0]["shape"])
    as_grid = [dict(c, rank=width, arm="trained" if c["arm"] == "full" else c["arm"]) for c in cells]
    passed, accuracy = abilities(profile, as_grid, models)
    summaries = [{"kind": c["kind"], "rank": width, "seed": c["seed"], "arm": c["arm"], **summarize(rows)}
                 for c, rows in zip(as_grid, layers)]
    random = summarize([random_update_measures(row["shape"], control_seed + i) for i, row in enumerate(layers[0])])
    randoms = [{"kind": kind, "rank": width, "seed": None, "arm": "random", **random} for kind in KINDS]
    per_layer = {}
    for c, rows in zip(as_grid, layers):
        if c["arm"] == "trained":
            per_layer.setdefault(c["kind"], {})[str(c["seed"])] = [row["thr_1e-3"] for row in rows]
    return {"width": width, "passed": passed, "accuracy": accuracy, "summaries": summaries, "randoms": randoms,
            **judged(summaries, randoms, passed), "per_layer_thr_1e-3": per_layer}


MEASURES = ["thr_1e-1", "thr_1e-2", "thr_1e-3", "thr_1e-4", "thr_1e-5", "energy_90", "energy_99",
            "entropy_rank", "stable_rank", "top5_share"]


def ratios(summaries: list[dict], measures=MEASURES) -> list[dict]:
    """reasoning / planning for each measure and rank, 95% interval across paired seeds."""
    by = {(s["kind"], s["rank"], s["seed"]): s for s in summaries}
    out = []
    for rank in sorted({s["rank"] for s in summaries}):
        seeds = sorted({s["seed"] for s in summaries if s["rank"] == rank})
        for m in measures:
            values = [by[("reasoning", rank, sd)][m] / by[("planning", rank, sd)][m] for sd in seeds
                      if ("reasoning", rank, sd) in by and ("planning", rank, sd) in by and by[("planning", rank, sd)][m]]
            if values:
                out.append({"rank": rank, "measure": m, **seed_interval(values)})
    return out


@torch.no_grad()
def control_adapter(config: dict, trained_adapter_dir: str, out_dir: Path, seed: int = 12345) -> dict:
    """Write an untrained-shape control: A at its initial value, B random with the trained B's norm.
    Returns, per layer, how far training moved A from its initialisation (relative Frobenius norm)."""
    model, _ = load_pretrained(_resolve(config["base"]))
    peft_model = add_lora(model, config["target_modules"], config["last_n_blocks"], config["rank"], config["alpha"],
                          config["dropout"], config["seed"])  # same seed: the same A as at step 0
    trained = load_file(Path(trained_adapter_dir) / "adapter_model.safetensors")
    gen = torch.Generator().manual_seed(seed)
    a_change = {}
    for name, param in peft_model.named_parameters():
        key = name.replace(".default", "")
        if ".lora_B." in name:
            noise = torch.randn(param.shape, generator=gen)
            param.copy_(noise * trained[key].norm() / noise.norm())
        elif ".lora_A." in name:
            a_change[key.split(".lora_A")[0]] = ((trained[key] - param).norm() / param.norm()).item()
    peft_model.save_pretrained(out_dir)
    return a_change


def ratio_verdict(rows: list[dict]) -> str:
    """The paper's claim (reasoning's rank 2-3x lower: the reasoning/planning ratio in [1/3, 1/2]) on
    ratio rows with 95% intervals: ``reproduced`` if every interval lies at or below 1/2, ``not
    reproduced`` if every one lies above it, else (or with fewer than 2 seeds) ``inconclusive``.

    >>> ratio_verdict([{"n": 3, "low": 0.2, "high": 0.45}]), ratio_verdict([{"n": 3, "low": 0.6, "high": 0.9}])
    ('reproduced', 'not reproduced')
    >>> ratio_verdict([{"n": 1, "low": 0.2, "high": 0.3}])
    'inconclusive'
    """
    if not rows or any(r["n"] < 2 for r in rows):
        return "inconclusive"
    if all(r["high"] <= 0.5 for r in rows):
        return "reproduced"
    if all(r["low"] > 0.5 for r in rows):
        return "not reproduced"
    return "inconclusive"


def adapter_name(cell: dict) -> str:
    """How ``abilities`` names a cell's adapter: ``"r<rank>-s<seed>"``, prefixed by its arm's name for an init or
    scaling arm (``"<arm> r<rank>-s<seed>"``)."""
    name = f"r{cell['rank']}-s{cell['seed']}"
    return name if cell["arm"] == "trained" else f"{cell['arm']} {name}"


def abilities(profile: dict, cells: list[dict], results: list[dict]) -> tuple[dict, dict]:
    """Whether each trained adapter of a grid passes notebook 03's ability criteria on the held-out
    prompts, and its accuracy at its task's hardest trained point that is evaluated (the most hops; the
    longest shortest chain), so that ranks can be compared at matched accuracy: ``({kind: {name: bool}}, {kind: {name: float}})``
    with ``name`` ``"r<rank>-s<seed>"`` (an init or scaling arm's adapter: ``"<arm> r<rank>-s<seed>"``;
    shuffled-target controls are not checked)."""
    from .experiments import diagnose, model_answers, trained_points
    base = {kind: model_answers(profile, kind) for kind in {c["kind"] for c in cells}}
    passed, accuracy = {kind: {} for kind in KINDS}, {kind: {} for kind in KINDS}
    for c, r in zip(cells, results):
        if c["arm"] != "shuffled" and r.get("adapter_dir"):
            points = trained_points(profile, c["kind"])
            d = diagnose(c["kind"], model_answers(profile, c["kind"], r["adapter_dir"]), base[c["kind"]], points)
            name = adapter_name(c)
            passed[c["kind"]][name] = d["criteria"]["passed"]
            evaluated = {row["point"]: row["accuracy"] for row in d["rows"]}
            hardest = max((p for p in points if p in evaluated), default=None)
            if hardest is not None:
                accuracy[c["kind"]][name] = evaluated[hardest]
    return passed, accuracy


def key_rank(name: str) -> int:
    """The rank of a run's key in the results files (``"r64-s0"``: rank 64, seed 0).

    >>> key_rank("r64-s0")
    64
    """
    return int(name.split("-")[0][1:])


def learned_ranks(passed: dict) -> list[int]:
    """The ranks at which every trained adapter of both tasks passed the ability criteria.

    >>> learned_ranks({"planning": {"r4-s0": False, "r8-s0": True}, "reasoning": {"r4-s0": True, "r8-s0": True}})
    [8]
    """
    by_rank: dict[int, dict] = {}
    for kind in KINDS:
        for name, ok in passed.get(kind, {}).items():
            by_rank.setdefault(key_rank(name), {k: [] for k in KINDS})[kind].append(ok)
    return sorted(r for r, got in by_rank.items() if all(got[k] and all(got[k]) for k in KINDS))


def claim_verdict(ratio_rows: list[dict], usable: list[dict], passed: dict) -> tuple[str, str]:
    """The verdict on the 2-3x claim for one measure of one grid, and why: it counts only at ranks where
    every adapter of both tasks learned its task (``learned_ranks``) *and* the measure is usable there
    (``usable_ranks``); there it is ``ratio_verdict`` of the ratio rows, elsewhere "untestable here".

    >>> rows = [{"rank": 8, "n": 3, "low": 0.6, "high": 0.9}]
    >>> claim_verdict(rows, [{"rank": 8, "usable": True}], {"planning": {"r8-s0": True}, "reasoning": {"r8-s0": True}})
    ('not reproduced', 'counted at r = [8]')
    >>> claim_verdict(rows, [{"rank": 8, "usable": True}], {"planning": {"r8-s0": False}, "reasoning": {"r8-s0": True}})[0]
    'untestable here'
    """
    learned = learned_ranks(passed)
    fine = {u["rank"] for u in usable if u["usable"]}
    counted = [r for r in learned if r in fine]
    if not learned:
        tally = ", ".join(f"{k} {sum(v.values())} of {len(v)}" for k, v in passed.items())
        return "untestable here", f"at no rank did every adapter of both tasks learn its task (pass the criteria: {tally})"
    if not counted:
        return "untestable here", (f"where every adapter learned (r = {learned}) the measure is saturated or not apart "
                                   "from its random control")
    return ratio_verdict([r for r in ratio_rows if r["rank"] in counted]), f"counted at r = {counted}"


def analyze_grid(profile: dict, cells: list[dict], results: list[dict], module: str | None = None) -> dict:
    """Everything notebook 05 says about one grid (``study_cells`` and their results): which adapters
    learned and their accuracy (``abilities``), every measure's seed table with the shuffled-target and
    random controls (``measure_table``), where each measure is usable, the reasoning/planning ratios, and
    the verdict per measure (``claim_verdict``); with ``module``, every measure is read on that module's layers
    alone (``layer_summary``), and the paper's threshold rank layer by layer at the widest rank (``per_layer_values``).
    ``summaries`` (per adapter, with its folder) and
    ``randoms`` (the random-update controls' measures) are for the caller; the other keys are what a
    results file keeps of a grid."""
    passed, accuracy = abilities(profile, cells, results)
    summaries = cell_summaries(cells, results, module)
    with tempfile.TemporaryDirectory() as tmp:
        randoms = random_controls(cells, results, Path(tmp), module)
    return {"ranks": sorted({c["rank"] for c in cells}), "passed": passed, "accuracy": accuracy, "summaries": summaries,
            "randoms": randoms, **judged(summaries, randoms, passed), "per_layer_thr_1e-3": per_layer_values(cells, results, module)}


def judged(summaries: list[dict], randoms: list[dict], passed: dict) -> dict:
    """What a grid's adapters (``summaries``, trained and shuffled) and random controls say, given which adapters
    learned: every measure's seed table (``measure_table``), where it is usable, the reasoning/planning ratios of the
    trained adapters and the verdict per measure (``claim_verdict``): ``{"table", "usable", "ratios", "verdicts"}``."""
    table = [row for m in MEASURES for row in measure_table(summaries + randoms, m)]
    usable = {m: usable_ranks(table, m) for m in MEASURES}
    ratio_rows = ratios([s for s in summaries if s["arm"] == "trained"])
    verdicts = {m: dict(zip(("verdict", "why"), claim_verdict([r for r in ratio_rows if r["measure"] == m], usable[m], passed)))
                for m in MEASURES}
    return {"table": table, "usable": usable, "ratios": ratio_rows, "verdicts": verdicts}
