"""Notebook 05's rank grid on the whole MLP (``mlp.c_fc`` and ``mlp.c_proj`` adapted), its measures read on
the paper's layer ``mlp.c_proj`` alone: a setting in which a LoRA that includes the paper's layer learns planning
(the 3rd hop) as well as reasoning within 4x notebook 03's steps at peft's default scaling, so that the paper's
comparison becomes testable on adapters that learned (the paper's layer alone needs 16x, or rsLoRA: ``--grid``).
The grid (``rank_analysis.whole_mlp``): its ranks, the seeds and shuffled-target controls of every grid, ``steps_x`` times the profile's LoRA steps; the random-update control, the ability
criteria, the usable ranks and the verdicts are notebook 05's (``rank_study.analyze_grid``)::

    python -m tools.whole_mlp_grid                         # small profile: results/small/05_whole_mlp.json
    python -m tools.whole_mlp_grid --workers 8 --max-minutes 8   # e.g. on a GPU machine
    python -m tools.whole_mlp_grid --grid paper_layer_ranks --ranks 2 8 --workers 8   # add two ranks to the stored grid

48 runs of 2,400 steps in the small profile: hours on a 2-core CPU, minutes on a GPU (the runs share it, one
process per worker), so not part of ``make figures``; notebook 05 draws the stored results. Every rank's runs share
one pool of workers; with ``--max-minutes`` ranks are trained one at a time instead, widest first then every other one
(64, 16, 4, 32, 8, 2), so a run cut short still leaves a grid to analyse: a rank is started only if the slowest rank so
far would still fit, and the ranks left out are recorded. ``--ranks`` trains only some of the grid's ranks and adds
them to its stored results (``add_ranks``: the other ranks' stored measures kept, every verdict judged again; e.g.
ranks trained in a later session on a lent GPU). Runs go to the run cache (``runs/lora/``); a rerun loads them.
The widest rank's first-seed adapters are exported to ``models/adapters/<kind>-<profile>-mlp-r<rank>/``.
``--arms`` trains notebook 05's init and scaling arms on the whole MLP instead, at three seeds each like
``tools.arm_seeds`` (24 runs in the small profile), and measures them against the stored grid:
``results/<profile>/05_whole_mlp_arms.json``. ``--snapshots`` trains the grid's widest-rank, first-seed run of each
task once more, saving its adapter at ``rank_analysis.snapshots`` times ``steps_x``: the measures on the paper's layer
and the accuracy at the hardest trained point over training, ``results/<profile>/05_whole_mlp_snapshots.json`` (with
``--grid paper_layer``: the same for the paper's layer alone at 16x the steps, ``05_paper_layer_snapshots.json``;
``--seeds 1 2`` then adds the grid's other seeds to it, so the ratio where both tasks first learn carries an interval).
``--grid paper_layer`` trains the same grid on the paper's layer alone instead, at the full width only and long enough
for its planning adapters to learn the 3rd hop (``rank_analysis.paper_layer``, small profile: ``mlp.c_proj``, peft's
default scaling alpha = r/2 as in the paper, 16x the steps): ``results/<profile>/05_paper_layer.json``, its widest
rank's first-seed adapters exported to ``models/adapters/<kind>-<profile>-x16-r<rank>/``; ``--grid paper_layer_rslora``
with rsLoRA at 4x the steps (``rank_analysis.paper_layer_rslora``): ``05_paper_layer_rslora.json``,
``models/adapters/<kind>-<profile>-rslora-r<rank>/``; ``--grid paper_layer_ranks`` the paper_layer grid below the full
width, at ranks whose r/width lies inside the paper's (``rank_analysis.paper_layer_ranks``, small profile: r = 2, 4, 8
and 16 of 64; 8 runs of 9,600 steps per rank, a GPU's work): ``05_paper_layer_ranks.json``. ``--full`` (with ``--grid``, e.g.
``paper_layer``) trains the reference without the LoRA constraint beside a stored grid: per task and seed, the weights
of the grid's target modules alone fully fine-tuned for as many steps (``rank_study.layer_grid_full_cells``), their
update measured like the grid's adapters against a random matrix of its shape (``rank_study.analyze_full``):
``05_<grid>_full.json``; ``--full --snapshots`` its first-seed run of each task once more, saving the model at the grid's
snapshot steps (the rank over training without the LoRA constraint, beside the grid's own): ``05_<grid>_full_snapshots.json``.
"""
from __future__ import annotations

import time

from helpers.rank_study import LAYER_GRIDS as GRIDS  # per grid: its results file and its exported adapters' tag
from helpers.rank_study import study_file


def rank_order(ranks: list[int]) -> list[int]:
    """The order in which ranks are trained: the widest, then every other one down, then the rest (a cut-short
    run keeps the widest rank and a spread of smaller ones).

    >>> rank_order([2, 4, 8, 16, 32, 64])
    [64, 16, 4, 32, 8, 2]
    """
    down = sorted(ranks, reverse=True)
    return down[::2] + down[1::2]


def device_name() -> str:
    """The device the runs of this process's workers train on, in words."""
    import platform

    import torch

    from helpers.training import training_device
    if training_device().type == "cuda":
        return torch.cuda.get_device_name(0)
    return f"CPU ({platform.processor() or platform.machine()})"


def train(profile: dict, workers: int, max_minutes: float | None = None, progress: bool = True,
          grid: str = "whole_mlp", ranks: list[int] | None = None) -> dict:
    """Train (or load) the grid (``rank_analysis[grid]``; with ``ranks``, only those of its ranks): ``{"cells",
    "results", "ranks", "skipped", "minutes"}`` with the cells and results of the ranks trained and the training
    minutes (``{rank: minutes}``, or ``{"all": minutes}``). Without ``max_minutes`` every rank's runs share one pool
    of ``workers`` (no worker idles at a rank's end); with it, ranks are trained one at a time (``rank_order``), a
    rank starting only if the slowest rank so far still fits in ``max_minutes`` (the first always starts)."""
    from helpers.rank_study import layer_grid_cells
    from helpers.sweep import run_jobs
    chosen = rank_order(profile["rank_analysis"][grid]["ranks"] if ranks is None else ranks)
    cells = layer_grid_cells(profile, grid)
    if max_minutes is None:
        at = [c for rank in chosen for c in cells if c["rank"] == rank]
        t0 = time.time()
        results = run_jobs([c["config"] for c in at], workers=workers, progress=progress)
        return {"cells": at, "results": results, "ranks": sorted(chosen), "skipped": [],
                "minutes": {"all": (time.time() - t0) / 60}}
    start, slowest = time.time(), 0.0
    done_cells, done_results, done, skipped, minutes = [], [], [], [], {}
    for rank in chosen:
        elapsed = time.time() - start
        if elapsed + slowest > 60 * max_minutes:
            skipped.append(rank)
            continue
        at = [c for c in cells if c["rank"] == rank]
        t0 = time.time()
        done_results += run_jobs([c["config"] for c in at], workers=workers, progress=progress)
        slowest = max(slowest, time.time() - t0)
        minutes[rank] = (time.time() - t0) / 60
        done_cells += at
        done.append(rank)
    return {"cells": done_cells, "results": done_results, "ranks": sorted(done), "skipped": sorted(skipped),
            "minutes": minutes}


def export_widest(profile: dict, cells: list[dict], results: list[dict], device: str, tag: str = "mlp") -> dict:
    """The widest rank's first-seed trained adapter of each task, exported beside notebooks 03's and 05's to
    ``models/adapters/<kind>-<profile>-<tag>-r<rank>/`` (peft's format, with ``adapter_info.json`` naming the device
    it trained on): ``{kind: repo-relative folder}``."""
    from helpers.lora import export_adapter
    from helpers.paths import BASES, REPO_ROOT, output_name
    top, first = max(c["rank"] for c in cells), profile["rank_analysis"]["seeds"][0]
    out = {}
    for c, r in zip(cells, results):
        if c["arm"] == "trained" and c["rank"] == top and c["seed"] == first:
            folder = BASES / "adapters" / f"{c['kind']}-{output_name(profile)}-{tag}-r{top}"
            out[c["kind"]] = str(export_adapter(r, folder, notes={"trained_on": device}).relative_to(REPO_ROOT))
    return out


def study(profile: dict, workers: int, max_minutes: float | None = None, progress: bool = True,
          grid: str = "whole_mlp", ranks: list[int] | None = None) -> dict:
    """Train the grid (``train``; with ``ranks``, only those of its ranks) and analyse it on
    ``rank_analysis[grid]["module"]`` like notebook 05's grids: what a results file keeps, with the device, the
    training minutes (``minutes_per_rank``: per rank, or ``"all"`` for one shared pool) and ``runs_per_minute``: the
    runs this call trained over its minutes (loading a rank from the run cache counts too). The widest rank's
    first-seed adapters are exported (``export_widest``) unless ``ranks`` leaves out the grid's widest rank."""
    from helpers.rank_study import analyze_grid
    module = profile["rank_analysis"][grid]["module"]
    got = train(profile, workers, max_minutes, progress, grid, ranks)
    fresh = sum(not r["cached"] for r in got["results"])
    minutes = sum(got["minutes"].values())
    analysed = analyze_grid(profile, got["cells"], got["results"], module=module)
    device = device_name()
    widest = max(got["ranks"]) == max(profile["rank_analysis"][grid]["ranks"])
    exported = export_widest(profile, got["cells"], got["results"], device, GRIDS[grid][1]) if widest else {}
    return {**grid_settings(profile, grid), "grid": grid, "ranks": got["ranks"], "ranks_skipped": got["skipped"],
            "device": device, "workers": workers, "exported": exported,
            "runs": len(got["results"]), "runs_trained": fresh,
            "minutes_per_rank": {str(k): v for k, v in got["minutes"].items()},
            "runs_per_minute": fresh / minutes if fresh and minutes else None,
            "summaries": [{k: v for k, v in s.items() if k != "adapter_dir"} for s in analysed["summaries"] + analysed["randoms"]],
            **{k: analysed[k] for k in ("passed", "accuracy", "table", "usable", "ratios", "verdicts", "per_layer_thr_1e-3")}}


CALL_KEYS = ("device", "workers", "minutes_per_rank", "runs_trained", "runs_per_minute", "provenance")
SETTING_KEYS = ("target_modules", "module", "steps", "lr", "use_rslora", "seeds", "control_seeds")


def calls_of(got: dict) -> list[dict]:
    """Which call trained which of a grid's ranks: a results file's ``calls``, or one call made of its own keys."""
    return got.get("calls") or [{"ranks": got["ranks"], **{k: got.get(k) for k in CALL_KEYS}}]


def calls_device(calls: list[dict]) -> str:
    """The device a grid made by several calls (``calls_of``) was trained on: one device as it is, several each with
    the ranks it trained.

    >>> calls_device([{"ranks": [4, 16], "device": "GPU"}, {"ranks": [2, 8], "device": "GPU"}])
    'GPU'
    >>> calls_device([{"ranks": [4, 16], "device": "GPU"}, {"ranks": [32], "device": "CPU"}])
    'GPU (r = 4, 16) and CPU (r = 32)'
    """
    ranks: dict[str, list[int]] = {}
    for call in calls:
        ranks.setdefault(call["device"], []).extend(call["ranks"])
    if len(ranks) == 1:
        return next(iter(ranks))
    return " and ".join(f"{device} (r = {', '.join(str(r) for r in sorted(rs))})" for device, rs in ranks.items())


def kept_call(call: dict, keep: list[int]) -> dict:
    """An earlier call of a grid (``calls_of``) with only the ranks ``keep`` (the others trained again since); its
    minutes per rank likewise, where it kept them per rank (a shared pool's ``"all"`` stays whole).

    >>> kept_call({"ranks": [4, 16], "minutes_per_rank": {"4": 4.3, "16": 4.4}, "device": "GPU"}, [4])
    {'ranks': [4], 'minutes_per_rank': {'4': 4.3}, 'device': 'GPU'}
    """
    minutes = {k: v for k, v in (call.get("minutes_per_rank") or {}).items() if k == "all" or int(k) in keep}
    return {**call, "ranks": [r for r in call["ranks"] if r in keep], "minutes_per_rank": minutes}


def grid_settings(profile: dict, grid: str) -> dict:
    """What a grid's runs were trained with (``SETTING_KEYS``), as its results file keeps them."""
    from helpers.rank_study import layer_grid_settings
    ra = profile["rank_analysis"]
    return {**layer_grid_settings(profile, grid), "module": ra[grid]["module"], "seeds": ra["seeds"],
            "control_seeds": ra["control_seeds"]}


def check_settings(stored: dict, new: dict) -> None:
    """Ranks may be added to a stored grid (``add_ranks``) only if it was trained with the same settings."""
    from helpers.tasks import TaskConfigError
    differ = [k for k in SETTING_KEYS if stored.get(k) != new.get(k)]
    if differ:
        raise TaskConfigError(f"--ranks: the stored grid was trained with other settings ({', '.join(differ)}); "
                              "train every rank (leave out --ranks)")


def add_ranks(stored: dict, new: dict) -> dict:
    """The stored grid with ``new`` (a ``study`` of some of the same grid's ranks, e.g. on a lent GPU) added: the
    stored ranks ``new`` did not train keep their adapters' stored measures, accuracy and ability verdicts; the seed
    tables, usable ranks, ratios and verdicts are judged again over every rank (``rank_study.judged``); ``calls``
    says which call (device, workers, minutes) trained which ranks, and ``device`` names each call's device
    (``calls_device``). The layer-by-layer values and the exported adapters stay the widest rank's. Grids of other
    settings are an error (retrain every rank instead)."""
    from helpers.rank_study import judged
    check_settings(stored, new)
    keep = [r for r in stored["ranks"] if r not in new["ranks"]]
    if not keep:
        return new
    ranks = sorted(keep + new["ranks"])
    rows = [s for s in stored["summaries"] if s["rank"] in keep] + new["summaries"]

    def kept(key: str) -> dict:  # {kind: {"r<rank>-s<seed>": value}}: the stored ranks kept, then new's
        return {kind: {**{n: v for n, v in stored[key].get(kind, {}).items() if int(n[1:].split("-")[0]) in keep},
                       **values} for kind, values in new[key].items()}
    passed, accuracy = kept("passed"), kept("accuracy")
    skipped = (set(stored.get("ranks_skipped", [])) | set(new["ranks_skipped"])) - set(ranks)
    out = {**new, "ranks": ranks, "ranks_skipped": sorted(skipped),
           "runs": sum(s["arm"] != "random" for s in rows), "summaries": rows, "passed": passed, "accuracy": accuracy,
           **judged([s for s in rows if s["arm"] != "random"], [s for s in rows if s["arm"] == "random"], passed),
           "calls": [kept_call(c, keep) for c in calls_of(stored) if any(r in keep for r in c["ranks"])]
                    + [{"ranks": new["ranks"], **{k: new.get(k) for k in CALL_KEYS}}]}
    out["device"] = calls_device(out["calls"])
    if max(new["ranks"]) < max(keep):
        out["exported"] = stored["exported"]
        out.pop("per_layer_thr_1e-3", None)
        if "per_layer_thr_1e-3" in stored:
            out["per_layer_thr_1e-3"] = stored["per_layer_thr_1e-3"]
    return out


NEEDED = {"grid": ("the grid's results are", ""), "full": ("the full fine-tuning reference is", " --full"),
          "snapshots": ("the first seed's rank over training is", " --snapshots")}


def stored_grid(profile: dict, grid: str = "whole_mlp", study: str = "grid") -> dict:
    """A grid's stored results (``05_whole_mlp.json``, or another grid's: ``GRIDS``), which the arms, the snapshots and
    the full reference are set against, or with ``study="full"`` its full fine-tuning reference (which the reference's
    rank over training is set against); missing is an error naming the command that makes them."""
    from helpers.errors import MissingFileError
    from helpers.io import read_json
    from helpers.paths import results_path
    path = results_path(profile, study_file(grid, study))
    if not path.is_file():
        what, flag = NEEDED[study]
        raise MissingFileError(f"{path}: {what} needed first (python -m tools.whole_mlp_grid{flag} --grid {grid})")
    return read_json(path)


def arm_study(profile: dict, workers: int, progress: bool = True) -> dict:
    """Notebook 05's init and scaling arms (``rank_analysis.arms`` at ``arm_rank``) on the whole MLP at
    ``tools.arm_seeds.SEEDS`` each, measured on ``whole_mlp.module`` alone: each arm adapter checked against the
    ability criteria, and the arms' effects (``rank_study.arm_effects``: an arm's value is its seeds' mean) against
    the stored grid's default adapters at that rank (its seeds give the spread an arm must exceed), over every arm
    and over only the arms every adapter of which learned (``tools.arm_seeds.learned_rows``). Needs the grid's
    results (``05_whole_mlp.json``); the arms train on this machine."""
    from helpers.rank_study import GRID_MEASURES, abilities, arm_cells, arm_effects, cell_summaries, layer_grid_settings
    from helpers.sweep import run_jobs
    from tools.arm_seeds import SEEDS, learned_rows, seeded_profile
    grid = stored_grid(profile)
    rank, module = profile["rank_analysis"]["arm_rank"], profile["rank_analysis"]["whole_mlp"]["module"]
    cells = arm_cells(seeded_profile(profile), **layer_grid_settings(profile))
    results = run_jobs([c["config"] for c in cells], workers=workers, progress=progress)
    passed, accuracy = abilities(profile, cells, results)
    rows = [{k: v for k, v in r.items() if k != "adapter_dir"} for r in cell_summaries(cells, results, module)]
    default = [s for s in grid["summaries"] if s["arm"] == "trained" and s["rank"] == rank]
    learned = learned_rows(default + rows, {k: dict(v, **grid["passed"][k]) for k, v in passed.items()})
    return {"rank": rank, "module": module, "seeds": SEEDS, "device": device_name(), "grid_device": grid["device"],
            "passed": passed, "accuracy": accuracy, "rows": rows,
            "effects": [arm_effects(default + rows, m, rank) for m in GRID_MEASURES],
            "learned_arms": sorted({(r["kind"], r["arm"]) for r in learned}),
            "effects_learned": [arm_effects(learned, m, rank) for m in GRID_MEASURES]}


def snapshot_study(profile: dict, workers: int, progress: bool = True, grid_key: str = "whole_mlp") -> dict:
    """The rank over training on a grid's layers (``rank_study.layer_grid_snapshot_configs``; the whole MLP by default):
    per task, at every saved step and at the end, the measures on the grid's ``module`` alone, the accuracy at the
    task's hardest trained point and whether the adapter passes the ability criteria there (``rank_study.abilities``);
    beside the stored grid's adapter of the same cell (trained on its own device: the final step should match it up to
    the device)."""
    from helpers.rank_study import KINDS, adapter_name, layer_grid_snapshot_configs, snapshot_curves
    from helpers.sweep import run_jobs
    grid = stored_grid(profile, grid_key)
    module = profile["rank_analysis"][grid_key]["module"]
    configs = layer_grid_snapshot_configs(profile, grid_key)
    results = dict(zip(KINDS, run_jobs(list(configs.values()), workers=workers, progress=progress)))
    curves = snapshot_curves(profile, configs, results, module)
    some = next(iter(configs.values()))
    same_cell = {kind: next(s for s in grid["summaries"] if s["kind"] == kind and s["arm"] == "trained"
                            and s["rank"] == cfg["rank"] and s["seed"] == cfg["seed"]) for kind, cfg in configs.items()}
    return {"grid": grid_key, "target_modules": some["target_modules"], "rank": some["rank"], "seed": some["seed"],
            "module": module, "steps": some["steps"],
            "snapshots": some["snapshots"], "device": device_name(), "grid_device": grid["device"], "curves": curves,
            "grid_final": same_cell,
            "grid_final_accuracy": {kind: grid["accuracy"][kind][adapter_name(dict(cfg, arm="trained"))] for kind, cfg in configs.items()}}


def snapshot_seed_study(profile: dict, workers: int, progress: bool = True, grid_key: str = "whole_mlp",
                        seeds: tuple = ()) -> dict:
    """More seeds for a stored rank over training (``--snapshots --seeds S ...``, after ``--snapshots``): per task and
    seed the grid's widest-rank run of that seed once more, saving its adapter at the same steps; its curves
    (``rank_study.snapshot_curves``) join the stored study under ``seed_curves`` (``{seed: {kind: curve}}``, the stored
    first seed's own curves kept as they are), with the device each seed trained on (``seed_devices``), so that the
    tasks' ranks where each first learns (``rank_study.first_passing_seeds``) carry an interval over seeds."""
    from helpers.rank_study import layer_grid_snapshot_configs, snapshot_curves
    from helpers.sweep import run_jobs
    stored = stored_grid(profile, grid_key, "snapshots")
    module = profile["rank_analysis"][grid_key]["module"]
    configs = {seed: layer_grid_snapshot_configs(profile, grid_key, seed) for seed in seeds}
    results = iter(run_jobs([cfg for seed in seeds for cfg in configs[seed].values()], workers=workers, progress=progress))
    seed_curves = dict(stored.get("seed_curves") or {str(stored["seed"]): stored["curves"]})
    seed_devices = dict(stored.get("seed_devices") or {str(stored["seed"]): stored["device"]})
    for seed in seeds:
        got = {kind: next(results) for kind in configs[seed]}
        seed_curves[str(seed)] = snapshot_curves(profile, configs[seed], got, module)
        seed_devices[str(seed)] = device_name()
    order = sorted(seed_curves, key=int)
    return dict(stored, seed_curves={s: seed_curves[s] for s in order}, seed_devices={s: seed_devices[s] for s in order})


def full_study(profile: dict, workers: int, progress: bool = True, grid_key: str = "paper_layer") -> dict:
    """The reference without the LoRA constraint beside a grid (issue 11's "how many directions each task's update
    needs"): per task and seed of the grid, the grid's target modules' weights fully fine-tuned for as many steps, and
    the same on shuffled targets (``rank_study.layer_grid_full_cells``), their update on the grid's ``module`` measured like the grid's adapters,
    against a random matrix of the same shape, checked against the ability criteria, with the reasoning/planning
    ratios and verdicts (``rank_study.analyze_full``); beside it the stored grid's widest-rank LoRA adapters, and
    where the updates point (``rank_study.update_overlaps``: against each other, the next seed, the shuffled control,
    the grid's exported LoRA adapter of the first seed), and the same for the grid's widest-rank LoRA adapters (their
    runs from the run cache: trained anew where the grid was trained elsewhere)."""
    from helpers.paths import REPO_ROOT
    from helpers.rank_study import analyze_full, layer_grid_cells, layer_grid_full_cells, update_overlaps
    from helpers.sweep import run_jobs
    grid = stored_grid(profile, grid_key)
    module = profile["rank_analysis"][grid_key]["module"]
    cells = layer_grid_full_cells(profile, grid_key)
    start = time.time()
    results = run_jobs([c["config"] for c in cells], workers=workers, progress=progress)
    minutes = (time.time() - start) / 60
    fresh = sum(not r["cached"] for r in results)
    got = analyze_full(profile, cells, results, module)
    top = max(grid["ranks"])
    # the grid's widest-rank runs, for the same overlaps of the LoRA updates (from the run cache, where the grid was trained)
    lora_cells = [c for c in layer_grid_cells(profile, grid_key) if c["rank"] == top]
    lora_results = run_jobs([c["config"] for c in lora_cells], workers=workers, progress=progress)
    some = cells[0]["config"]
    return {"grid": grid_key, "target_modules": some["target_modules"], "module": module, "steps": some["steps"],
            "lr": some["lr"], "seeds": sorted({c["seed"] for c in cells if c["arm"] == "full"}),
            "control_seeds": sorted({c["seed"] for c in cells if c["arm"] == "shuffled"}), "device": device_name(), "workers": workers,
            "grid_device": grid["device"], "runs": len(results), "runs_trained": fresh, "minutes": minutes,
            "runs_per_minute": fresh / minutes if fresh and minutes else None,
            "lora_rank": top, "lora": [r for r in grid["table"] if r["arm"] == "trained" and r["rank"] == top],
            **{k: v for k, v in got.items() if k != "randoms"},
            "overlap": update_overlaps(cells, results, {k: REPO_ROOT / d for k, d in grid.get("exported", {}).items()}, module),
            "lora_overlap": update_overlaps(lora_cells, lora_results, module=module),
            "summaries": got["summaries"] + got["randoms"]}


def full_snapshot_study(profile: dict, workers: int, progress: bool = True, grid_key: str = "paper_layer") -> dict:
    """The rank over training without the LoRA constraint: per task, the full fine-tuning reference's first-seed run
    (``rank_study.layer_grid_full_snapshot_configs``) once more, saving its model at the grid's snapshot steps; at each
    and at the end, the update of the grid's ``module`` measured like the adapters, the accuracy at the hardest trained
    point and the ability criteria (``rank_study.snapshot_curves``), beside the stored reference's model of the same
    cell (``--full`` first: its final step should match it) and the grid's own LoRA rank over training where stored."""
    from helpers.io import read_json
    from helpers.paths import results_path
    from helpers.rank_study import KINDS, layer_grid_full_snapshot_configs, snapshot_curves
    from helpers.sweep import run_jobs
    full = stored_grid(profile, grid_key, "full")
    module = profile["rank_analysis"][grid_key]["module"]
    configs = layer_grid_full_snapshot_configs(profile, grid_key)
    results = dict(zip(KINDS, run_jobs(list(configs.values()), workers=workers, progress=progress)))
    curves = snapshot_curves(profile, configs, results, module)
    some = next(iter(configs.values()))
    width, seed = full["width"], some["seed"]
    lora = results_path(profile, study_file(grid_key, "snapshots"))
    return {"grid": grid_key, "method": "full", "target_modules": some["target_modules"], "rank": width, "seed": seed,
            "module": module, "steps": some["steps"], "lr": some["lr"], "snapshots": some["snapshots"],
            "device": device_name(), "grid_device": full["device"], "curves": curves,
            "grid_final": {kind: next(s for s in full["summaries"] if s["kind"] == kind and s["arm"] == "trained"
                                      and s["seed"] == seed) for kind in configs},
            "grid_final_accuracy": {kind: full["accuracy"][kind][f"r{width}-s{seed}"] for kind in configs},
            "lora_curves": read_json(lora)["curves"] if lora.is_file() else None}


def main(argv=None) -> int:
    from helpers.cli import Parser
    from helpers.profiles import get_profile
    from helpers.rank_study import GRID_MEASURES
    from helpers.runs import provenance, save_results
    from helpers.tables import arm_seed_lines, full_lines, grid_lines, snapshot_lines
    parser = Parser(prog="python -m tools.whole_mlp_grid", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="small", help="profile name (default: small)")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes (default: the profile's); part of each run's identity on a CPU (its thread count)")
    parser.add_argument("--arms", action="store_true",
                        help="instead: the init and scaling arms on the whole MLP at the arm rank, against the stored "
                             "grid (writes results/<profile>/05_whole_mlp_arms.json)")
    parser.add_argument("--snapshots", action="store_true",
                        help="instead: the widest-rank, first-seed run per task saving its adapter over training, against "
                             "the stored grid (writes results/<profile>/05_whole_mlp_snapshots.json, or "
                             "05_<grid>_snapshots.json with --grid)")
    parser.add_argument("--full", action="store_true",
                        help="instead: the grid's target modules' weights fully fine-tuned (no LoRA), per task and seed, "
                             "as long as the grid's runs, against the stored grid (writes 05_<grid>_full.json); with --snapshots: "
                             "its first-seed run per task saving the model over training (05_<grid>_full_snapshots.json)")
    parser.add_argument("--grid", choices=list(GRIDS), default="whole_mlp",
                        help="which grid: the whole MLP (default), or the paper's layer alone trained longer "
                             "(rank_analysis.paper_layer, 05_paper_layer.json), the same below the full width "
                             "(rank_analysis.paper_layer_ranks, 05_paper_layer_ranks.json) or with rsLoRA "
                             "(rank_analysis.paper_layer_rslora, 05_paper_layer_rslora.json)")
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="start no rank that the slowest rank so far says would end after this many minutes")
    parser.add_argument("--ranks", type=int, nargs="+", default=None,
                        help="only these of the grid's ranks, added to its stored results (the other ranks' stored "
                             "measures kept, every verdict judged again): e.g. ranks trained on a lent GPU")
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help="with --snapshots: the rank over training at these other seeds of the grid, added to the "
                             "stored first seed's (05_<grid>_snapshots.json), so its first-passing ratios carry an interval")
    args = parser.parse_args(argv)
    profile = parser.run(get_profile, args.profile)
    workers = profile["workers"] if args.workers is None else args.workers
    if workers < 1:
        parser.error(f"--workers: must be an integer >= 1, got {workers}")
    if args.max_minutes is not None and args.max_minutes <= 0:
        parser.error(f"--max-minutes: must be a positive number of minutes, got {args.max_minutes}")
    allowed = profile["rank_analysis"][args.grid]["ranks"]
    if args.ranks is not None and (sorted(set(args.ranks)) != sorted(args.ranks) or not set(args.ranks) <= set(allowed)):
        parser.error(f"--ranks: allowed values are the {args.grid} grid's ranks {allowed}, each once; got {args.ranks}")
    if args.ranks is not None and (args.arms or args.snapshots or args.full):
        parser.error("--ranks: only for training the grid itself (not with --arms, --snapshots or --full)")
    if args.seeds is not None:
        if not args.snapshots or args.full:
            parser.error("--seeds: only with --snapshots (the LoRA rank over training), not with --full")
        others = profile["rank_analysis"]["seeds"][1:]
        if sorted(set(args.seeds)) != sorted(args.seeds) or not set(args.seeds) <= set(others):
            parser.error(f"--seeds: allowed values are the grid's seeds after the first, {others}, each once; got {args.seeds}")
        parser.run(stored_grid, profile, args.grid, "snapshots")  # the first seed's study first, before any training
    if args.arms and (args.snapshots or args.full):
        parser.error("--arms, --snapshots, --full: --arms is a study of its own (--full --snapshots go together)")
    if args.grid != "whole_mlp" and args.arms:
        parser.error(f"--grid {args.grid}: --arms is a study of the whole-MLP grid only")
    # the studies set against the stored grid: which one, where it is stored, how it prints
    for chosen, work, name, lines, extra in (
            (args.arms, arm_study, study_file("whole_mlp", "arms"), arm_seed_lines, {}),
            (args.full and args.snapshots, full_snapshot_study, study_file(args.grid, "full_snapshots"), snapshot_lines,
             {"grid_key": args.grid}),
            (args.snapshots and args.seeds is not None, snapshot_seed_study, study_file(args.grid, "snapshots"),
             snapshot_lines, {"grid_key": args.grid, "seeds": tuple(args.seeds or ())}),
            (args.snapshots, snapshot_study, study_file(args.grid, "snapshots"), snapshot_lines, {"grid_key": args.grid}),
            (args.full, full_study, study_file(args.grid, "full"), full_lines, {"grid_key": args.grid})):
        if chosen:
            got = parser.run(work, profile, workers, **extra)
            path = save_results(profile, name, {"profile": args.profile, **got})
            print("\n".join(lines(got)))
            print(f"wrote {path}")
            return 0
    adding = args.ranks is not None and set(args.ranks) != set(allowed)
    if adding:  # before any training
        stored = parser.run(stored_grid, profile, args.grid)
        parser.run(check_settings, stored, grid_settings(profile, args.grid))
    got = study(profile, workers, args.max_minutes, grid=args.grid, ranks=args.ranks)
    if adding:
        got = parser.run(add_ranks, stored, {"provenance": provenance(), **got})
    path = save_results(profile, study_file(args.grid), {"profile": args.profile, **got})
    print("\n".join(grid_lines(got, GRID_MEASURES)))
    print(f"{got['runs_trained']} runs trained on {got['device']} ({workers} workers), ranks {got['ranks']}"
          + (f", left out: {got['ranks_skipped']}" if got["ranks_skipped"] else "")
          + (f"; {got['runs_per_minute']:.2f} runs per minute" if got["runs_per_minute"] else ""))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
