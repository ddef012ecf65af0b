"""Base models beside the committed ones: the base's own seed variance (the committed recipe at another
seed) and the HashChain recipes tried to close its gap to the criteria. Notebook 02 prints the stored table.

    python -m tools.base_variants                     # every variant; writes results/small/02_base_variants.json
    python -m tools.base_variants --variant "hashhop seed 1" --train-only   # train one (e.g. one per core)
    python -m tools.base_variants --step-times        # a step of the committed recipe and the faster variants, side by side

Each variant trains like ``python -m helpers.bases --retrain`` (from the committed pretraining stand-in, or
from a committed base or another variant's model with ``"from"``), one thread, checkpointed under ``runs/base-variants/<slug>/`` (a rerun
resumes or loads it), within ``--time-limit`` (default 60 minutes, the issue's retraining budget; the model
reached then is kept and marked). It is then scored like the committed bases in notebook 02
(``helpers.bases.base_scores``: 500 held-out prompts per point, greedy exact match, the base criteria; a variant trained
with depth queries also on its answers to them, ``depth_scores``). Scoring some
variants (``--variant``) replaces their rows of the stored table and keeps the others', each with the time limit it
trained under.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

# "lr 2e-3 on shorter sequences": 2 recall lines and 1 hop query in place of the profile's 8 and 3, at twice its lr (the
# fastest recipe measured, the one later variants build on)
SHORTER = {"lr": 2e-3, "recall_lines": 2, "extra_queries": 1}
# name -> the task, the recipe values over the profile's, and optionally the model to start from
VARIANTS = {
    "hashhop seed 1": {"task": "hashhop", "recipe": {"seed": 1}},
    "hashchain seed 1": {"task": "hashchain", "recipe": {"seed": 1}},
    # the sub-skill the base lacks: name the end of a chain (a shortest-path query from inside one chain)
    "hashchain: 3 end-of-chain queries instead of recall lines and hop queries, 12,000 steps":
        {"task": "hashchain", "recipe": {"steps": 12000, "recall_lines": 0, "extra_queries": 0, "end_queries": 3}},
    # more compute: is the committed base still climbing? (over the 60-minute budget by construction)
    "hashchain: the committed base trained 6,000 steps more":
        {"task": "hashchain", "recipe": {"steps": 6000}, "from": "models/hashchain-small-stage1"},
    # the same start and steps at a lower peak lr: its first 3,000 steps at 1e-3 fell below the start (0.36 vs 0.48
    # at shortest 2) and the gains came as the schedule decayed
    "hashchain: the committed base trained 6,000 steps more at lr 3e-4":
        {"task": "hashchain", "recipe": {"steps": 6000, "lr": 3e-4}, "from": "models/hashchain-small-stage1"},
    # a wider attention at the same width and budget: 4 heads of 16 in place of 2 of 32 (a stand-in of its own,
    # trained first within the same 60 minutes), so that several chains can be followed side by side
    "hashchain: 4 attention heads instead of 2 (its own stand-in)":
        {"task": "hashchain", "recipe": {}, "model": {"n_head": 4}},
    # does more compute reach the criteria at all? (a "from" that names a variant starts from its model)
    "hashchain: the 6,000-steps-more base trained 10,000 steps more":
        {"task": "hashchain", "recipe": {"steps": 10000}, "from": "hashchain: the committed base trained 6,000 steps more"},
    # that one met shortest 2 (0.83) and fell 0.01 short at shortest 3 (random chain end + 0.14): 6,000 steps more
    "hashchain: the 16,000-steps-more base trained 6,000 steps more":
        {"task": "hashchain", "recipe": {"steps": 6000}, "from": "hashchain: the 6,000-steps-more base trained 10,000 steps more"},
    # the hop-following circuit first: the committed HashHop base (its 1-2 hops on 10-hash chains learned in 29 min) as
    # the start, so the budget holds the stand-in, the HashHop base and these steps one after another
    "hashchain: from the committed HashHop base, 4,500 steps":
        {"task": "hashchain", "recipe": {"steps": 4500}, "from": "models/hashhop-small"},
    # more of the task per second at a higher lr: the recall lines and hop queries the stand-in already solves are most of
    # a sequence's tokens (2 and 1 of them left: 0.34 s per step against 0.54, one thread), and 3e-4 did worse than 1e-3
    "hashchain: lr 2e-3 on shorter sequences (2 recall lines, 1 hop query), 7,000 steps":
        {"task": "hashchain", "recipe": {"steps": 7000, **SHORTER}},
    # more updates for the same minutes: is the slow climb limited by the number of steps rather than of samples? A batch
    # of 8 takes about a quarter of a batch of 32's time a step, so the budget holds most of the committed 31,000 steps
    "hashchain: batch 8, 24,000 steps":
        {"task": "hashchain", "recipe": {"steps": 24000, "batch_size": 8}},
    # and with the shorter sequences too: as many steps as the committed base's 31,000, in one schedule
    "hashchain: batch 8 on shorter sequences (2 recall lines, 1 hop query), 31,000 steps":
        {"task": "hashchain", "recipe": {"steps": 31000, "batch_size": 8, "recall_lines": 2, "extra_queries": 1}},
    # every measured lever for more of the task per second at once: the shorter sequences and lr 2e-3 above, trained with
    # SDPA attention and the erf GELU ("kernels": "fast"; 0.27 s a step against the committed recipe's 0.59, one thread,
    # --step-times), so the budget holds 8,500 steps (0.33 s a step with its batches drawn and evaluations, side by side)
    "hashchain: fast kernels, lr 2e-3 on shorter sequences, 8,500 steps":
        {"task": "hashchain", "recipe": {"steps": 8500, **SHORTER},
         "kernels": "fast"},
    # and every sequence the base task itself: is the curriculum (two sequences in three on 2-3 chains) needed now that
    # the stand-in brings the lookup, or does it spend two thirds of the samples on maps the criteria never ask about?
    "hashchain: no curriculum, fast kernels, lr 2e-3 on shorter sequences, 8,500 steps":
        {"task": "hashchain", "recipe": {"steps": 8500, **SHORTER},
         "kernels": "fast", "curriculum": []},
    # the quantity the base must compare, supervised: every variant above names some chain's end far more often than the
    # shortest one's, so teach each hash's depth (links from the start; a chain end's is its chain's length less one) with 3
    # depth queries a sequence, on the fastest recipe above (its batches 1.4x wider: fewer steps in the same minutes)
    "hashchain: 3 depth queries, fast kernels, lr 2e-3 on shorter sequences, 6,500 steps":
        {"task": "hashchain", "recipe": {"steps": 6500, **SHORTER,
                                         "depth_queries": 3}, "kernels": "fast"},
    # and the depth alone: 4 depth queries in place of the recall lines and hop queries the stand-in already solves
    "hashchain: 4 depth queries instead of recall lines and hop queries, fast kernels, lr 2e-3, 6,500 steps":
        {"task": "hashchain", "recipe": {"steps": 6500, "lr": 2e-3, "recall_lines": 0, "extra_queries": 0,
                                         "depth_queries": 4}, "kernels": "fast"},
    # how much compute do the depth queries save? That base and its recipe's twin without them, each trained another
    # 6,500 steps with its own recipe (a fresh warm-up and schedule, as the committed base's restarts): about 100 minutes
    # of base training each, side by side
    "hashchain: the 3 depth queries base (fast kernels, lr 2e-3 on shorter sequences) trained 6,500 steps more":
        {"task": "hashchain", "recipe": {"steps": 6500, **SHORTER,
                                         "depth_queries": 3}, "kernels": "fast",
         "from": "hashchain: 3 depth queries, fast kernels, lr 2e-3 on shorter sequences, 6,500 steps"},
    "hashchain: the fast kernels, lr 2e-3 on shorter sequences base trained 6,500 steps more":
        {"task": "hashchain", "recipe": {"steps": 6500, **SHORTER},
         "kernels": "fast", "from": "hashchain: fast kernels, lr 2e-3 on shorter sequences, 8,500 steps"},
    # the depth-query base ranks each chain end's depth but cannot pick the least in one pass. Two parts such a pass needs,
    # each taught on the fastest recipe (its batches about 1.2x wider: 7,000 steps in the same minutes). Which hashes are
    # chain ends, and where a walk stops: 2 end-of-chain queries a sequence beside the recall lines and hop query (the
    # 12,000-step variant above had them in place of those, and learned no lookup)
    "hashchain: 2 end-of-chain queries, fast kernels, lr 2e-3 on shorter sequences, 7,000 steps":
        {"task": "hashchain", "recipe": {"steps": 7000, **SHORTER,
                                         "end_queries": 2}, "kernels": "fast"},
    # and which hashes lie at each depth from the start (the sets a pass compares): 2 hop queries from the start, each
    # answered by a random hash that many links away
    "hashchain: 2 start hop queries, fast kernels, lr 2e-3 on shorter sequences, 7,000 steps":
        {"task": "hashchain", "recipe": {"steps": 7000, **SHORTER,
                                         "start_queries": 2}, "kernels": "fast"},
    # the end-of-chain queries led per step (0.47 / 0.27 at step 4,500 of their curve's 200 prompts, where the twin had
    # 0.28 / 0.17): twice as many of them (batches about 1.4x the twin's width: 6,000 steps), and the 2-query base trained
    # 6,500 steps more with its own recipe (how many steps the criteria need on it)
    "hashchain: 4 end-of-chain queries, fast kernels, lr 2e-3 on shorter sequences, 6,000 steps":
        {"task": "hashchain", "recipe": {"steps": 6000, **SHORTER,
                                         "end_queries": 4}, "kernels": "fast"},
    "hashchain: the 2 end-of-chain queries base (fast kernels, lr 2e-3 on shorter sequences) trained 6,500 steps more":
        {"task": "hashchain", "recipe": {"steps": 6500, **SHORTER,
                                         "end_queries": 2}, "kernels": "fast",
         "from": "hashchain: 2 end-of-chain queries, fast kernels, lr 2e-3 on shorter sequences, 7,000 steps"},
}
ROOT_NAME = "base-variants"
STEP_TIMES = "02_base_step_times.json"
# What each variant is measured against: the committed recipe's first stage, which every variant changes (the
# committed HashChain base adds warm restarts to it: ``base.hashchain.restarts``; its first stage is kept)
FIRST_STAGE = {"hashhop": "models/hashhop-small", "hashchain": "models/hashchain-small-stage1"}


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]


def variant_profile(profile: dict, spec: dict) -> dict:
    """The profile the variant trains with: its recipe values over the task's; a ``"model"`` change also trains
    (and caches under ``runs/pretrain/``) a stand-in of that architecture, since the committed one has another."""
    from helpers.bases import stage_profiles
    p = stage_profiles(spec["task"], profile)[0]  # a variant is one stage: the committed recipe's first, changed
    task = p["base"][spec["task"]]
    task["recipe"] = dict(task.get("recipe", {}), **spec["recipe"])
    for key in ("kernels", "curriculum"):  # the task's training kernels (helpers.model.KERNELS), its easier variants
        if key in spec:
            task[key] = spec[key]
    if spec.get("model"):
        p["model"].update(spec["model"])
        p["base_source"] = "train"
    return p


# ``--step-times``: the committed recipe's first stage (``None``) against the variants that train faster a step, from the
# stand-in (variants with a ``"from"`` or ``"model"`` are not timed: their start or architecture differs)
STEP_ARMS = (None, "hashchain: lr 2e-3 on shorter sequences (2 recall lines, 1 hop query), 7,000 steps",
             "hashchain: fast kernels, lr 2e-3 on shorter sequences, 8,500 steps")


def step_times(profile: dict, names=STEP_ARMS, reps: int = 3, steps: int = 10) -> dict:
    """Seconds per base-training step of each arm (``None``: the committed recipe's first stage; a name: that variant),
    each with its own batches (first ``steps`` of its seeded stream), kernels, lr and optimizer on the stand-in, the arms
    alternating ``reps`` times in one process on the current thread count; and the seconds to draw a batch. Ratios to
    the first arm: machines of one kind differ in speed, so compare the ratios, not the times."""
    import statistics
    import time

    import torch
    from transformers import GPT2LMHeadModel
    from helpers.base_training import Recipe, recipe_batch
    from helpers.bases import base_config, base_task, curriculum, get_pretrained, replay_for, stage_profiles
    from helpers.model import use_kernels
    from helpers.tokenizer import tokenizer_from_profile
    from helpers.training import adamw
    from tools.step_bench import seconds_per_step
    stand_in = get_pretrained(profile, progress=False)
    arms = {}
    for name in names:
        spec = VARIANTS[name] if name is not None else {"task": "hashchain", "recipe": {}}
        if spec.get("from") or spec.get("model"):
            raise ValueError(f"names: {name!r} starts from another model or architecture; time variants from the stand-in")
        task = spec["task"]
        p = variant_profile(profile, spec) if name is not None else stage_profiles(task, profile)[0]
        config = base_config(task, p)
        recipe = Recipe(**config["recipe"])
        tokenizer = tokenizer_from_profile(p["tokenizer"])
        task_config, easier, replay = base_task(task, p), curriculum(task, p), replay_for(p, tokenizer)
        began = time.perf_counter()
        batches = [recipe_batch(task_config, tokenizer, recipe, step, easier, replay) for step in range(steps)]
        draw = (time.perf_counter() - began) / steps
        kernels = config.get("kernels", "eager")
        model = use_kernels(GPT2LMHeadModel.from_pretrained(stand_in, use_safetensors=True), kernels)
        model.train()
        arms[name] = {"model": model, "optimizer": adamw(model.parameters(), recipe.lr, recipe.weight_decay),
                      "batches": batches, "lr": recipe.lr, "kernels": kernels, "draw": draw}
    times = {name: [] for name in names}
    for _ in range(reps):
        for name, arm in arms.items():
            times[name].append(seconds_per_step(arm["model"], arm["optimizer"], arm["batches"], arm["lr"]))
    median = {name: statistics.median(t) for name, t in times.items()}
    return {"threads": torch.get_num_threads(), "reps": reps, "steps": steps,
            "arms": [{"variant": name, "kernels": arms[name]["kernels"], "batch_width": arms[name]["batches"][0][0].shape[1],
                      "s_per_step": round(median[name], 4), "s_per_batch_drawn": round(arms[name]["draw"], 4),
                      "speedup": round(median[names[0]] / median[name], 3)} for name in names]}


def train_variant(name: str, profile: dict, time_limit_s: float, progress: bool = True) -> Path:
    """The variant's model directory (trained now unless it is there)."""
    from helpers.bases import base_config, train_base_dir
    from helpers.errors import Refused
    from helpers.io import read_json
    from helpers.paths import REPO_ROOT, RUNS
    spec = VARIANTS[name]
    varied = variant_profile(profile, spec)
    folder = RUNS / ROOT_NAME / slug(name)
    info_file = folder / "model" / "base_info.json"
    if info_file.exists():  # a model trained with another recipe (the variant changed since) is never reused
        if read_json(info_file)["config"] != json.loads(json.dumps(base_config(spec["task"], varied))):
            raise Refused(f"{folder}: trained with another config than the variant {name!r} now has; delete it to retrain")
    else:
        source = spec.get("from")
        start = (train_variant(source, profile, time_limit_s, progress) if source in VARIANTS
                 else REPO_ROOT / source if source else None)
        info = train_base_dir(spec["task"], varied, folder / "model", progress=progress, checkpoint_dir=folder / "checkpoint",
                              time_limit_s=time_limit_s, keep_at_limit=True, start=start)
        if info is None:
            raise RuntimeError(f"{name}: not trained")
    return folder / "model"


def training_total(name: str) -> tuple[int, float]:
    """Base-training steps and minutes behind the variant's model, those of the model it started from included
    (another variant's, or a committed base's ``base_info.json``); the stand-in's are not counted."""
    from helpers.io import read_json
    from helpers.paths import REPO_ROOT, RUNS
    info = read_json(RUNS / ROOT_NAME / slug(name) / "model" / "base_info.json")
    steps, minutes = info["curve"][-1]["step"], info["train_seconds"] / 60
    source = VARIANTS[name].get("from")
    if source in VARIANTS:
        more = training_total(source)
    elif source:
        start = read_json(REPO_ROOT / source / "base_info.json")
        more = (start["curve"][-1]["step"], start["train_seconds"] / 60)
    else:
        more = (0, 0.0)
    return steps + more[0], minutes + more[1]


def main(argv=None) -> int:
    import torch
    from helpers.bases import base_config, base_scores
    from helpers.io import read_json
    from helpers.paths import REPO_ROOT
    from helpers.profiles import get_profile
    from helpers.runs import save_results
    parser = argparse.ArgumentParser(prog="python -m tools.base_variants", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="small")
    parser.add_argument("--variant", action="append", choices=list(VARIANTS), help="only this one (repeatable)")
    parser.add_argument("--time-limit", type=float, default=3600.0, help="seconds per variant (default 3600)")
    parser.add_argument("--train-only", action="store_true", help="train, do not score or write the results")
    parser.add_argument("--step-times", action="store_true",
                        help=f"only time a training step of the committed recipe and the faster variants side by side, one "
                             f"thread, into results/<profile>/{STEP_TIMES}")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    profile = get_profile(args.profile)
    if args.step_times:
        times = step_times(profile)
        save_results(profile, STEP_TIMES, {"profile": args.profile, **times})
        print(json.dumps(times["arms"], indent=1))
        return 0
    names = args.variant or list(VARIANTS)
    rows = []
    for name in names:
        model_dir = train_variant(name, profile, args.time_limit)
        if args.train_only:
            continue
        spec, info = VARIANTS[name], read_json(model_dir / "base_info.json")
        scores = base_scores(spec["task"], model_dir, profile)
        recipe = base_config(spec["task"], variant_profile(profile, spec))["recipe"]
        if recipe.get("depth_queries"):
            scores["depth"] = depth_scores(model_dir, profile, recipe)
        total_steps, total_minutes = training_total(name)
        rows.append({"variant": name, "task": spec["task"], "recipe": spec["recipe"], "from": spec.get("from"),
                     "model": spec.get("model", {}), **{k: spec[k] for k in ("kernels", "curriculum") if k in spec},
                     "steps": info["curve"][-1]["step"],
                     "minutes": info["curve"][-1]["seconds"] / 60, "total_steps": total_steps, "total_minutes": total_minutes,
                     "stopped_at_time_limit": info["stopped_at_time_limit"], **scores})
        print(f"{name}: {scores['targets']}; criteria {'met' if scores['criteria']['passed'] else 'NOT met'}")
    if not args.train_only:
        references = {task: {"model": model, **base_scores(task, REPO_ROOT / model, profile)}
                      for task, model in FIRST_STAGE.items() if task in {VARIANTS[n]["task"] for n in names}}
        table = merged(stored_variants(profile), rows, references, args.time_limit)
        save_results(profile, "02_base_variants.json", {"profile": args.profile, **table})
    return 0


def shortest_alone_least(said: list[tuple[float, bool]]) -> bool:
    """Whether the depths a base answered for a map's chain ends, ``(depth, is the shortest chain's end)`` each (``inf``
    where the answer was no number), put the shortest chain's end strictly below every other end.

    >>> shortest_alone_least([(2, True), (3, False), (4, False)]), shortest_alone_least([(2, True), (2, False)])
    (True, False)
    >>> shortest_alone_least([(float("inf"), True), (3, False)]), shortest_alone_least([(1, True), (float("inf"), False)])
    (False, True)
    """
    mine = next(d for d, shortest in said if shortest)
    return all(mine < d for d, shortest in said if not shortest)


def depth_scores(model_dir, profile: dict, recipe: dict) -> dict:
    """HashChain, a base trained with depth queries: does it know the quantity it must compare? Each held-out prompt that
    ``bases.base_scores`` asks (the same ``eval.n_per_point`` per shortest length) is followed by its true answer and the
    recall lines and hop queries ``recipe`` trains with (seeded per prompt), as in training; then the depth of each chain
    end is asked (``Start`` / ``Target`` / ``Hops``), one end per query, answered greedily. Per shortest length: ``ends``,
    the share of chain ends whose depth is answered right, and ``shortest_least``, the share of prompts whose answered
    depths put the shortest chain's end alone below every other chain end (what naming it from them would take)."""
    import random
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from helpers.base_training import link_depths, map_links, sample_segments
    from helpers.bases import base_task, eval_points
    from helpers.diagnostics import chain_ends, greedy_answers
    from helpers.evaluation import point_samples
    from helpers.tasks import Sample
    model, tokenizer = AutoModelForCausalLM.from_pretrained(model_dir), AutoTokenizer.from_pretrained(model_dir)
    task = base_task("hashchain", profile)
    points = point_samples(task, eval_points("hashchain", profile), profile["eval"]["n_per_point"])
    out = {}
    for point, samples in points.items():
        asked = []  # (prompt index, whether the end is the shortest chain's, the query)
        for i, sample in enumerate(samples):
            context = "".join(text for text, _ in sample_segments(
                task, sample, random.Random(f"depth-{point}-{i}"), recipe["recall_lines"], recipe["extra_queries"]))
            start, depth = link_depths(map_links(sample.prompt))
            for end in chain_ends(sample):
                query = Sample(f"{context}\nStart: {start}\nTarget: {end}\nHops:", str(depth[end]), "hashchain", {"shortest": point})
                asked.append((i, end == sample.answer, query))
        answers = greedy_answers(model, tokenizer, [q for _, _, q in asked])
        right = [a == q.answer for a, (_, _, q) in zip(answers, asked)]
        said = {}
        for answer, (i, shortest, _) in zip(answers, asked):
            said.setdefault(i, []).append((int(answer) if answer.isdigit() else float("inf"), shortest))
        least = [shortest_alone_least(got) for got in said.values()]
        out[point] = {"ends": sum(right) / len(right), "shortest_least": sum(least) / len(least), "n": len(samples)}
    return out


def stored_variants(profile: dict) -> dict:
    """The stored table (``02_base_variants.json``, where ``save_results`` writes it), or an empty one."""
    from helpers.io import read_json
    from helpers.paths import results_path
    path = results_path(profile, "02_base_variants.json")
    return read_json(path) if path.exists() else {"references": {}, "variants": []}


def merged(stored: dict, rows: list[dict], references: dict, time_limit_s: float) -> dict:
    """The stored table with this call's rows (trained under ``time_limit_s``) in place of (or beside) the stored ones of
    the same variants, in ``VARIANTS``' order; a stored row of a variant no longer in ``VARIANTS`` is dropped. So scoring
    one new variant neither retrains nor forgets the others.

    >>> old = {"references": {"hashhop": 1}, "variants": [{"variant": "hashchain seed 1", "task": "hashchain"},
    ...        {"variant": "gone", "task": "hashchain"}, {"variant": "hashhop seed 1", "task": "hashhop", "time_limit_s": 9}]}
    >>> got = merged(old, [{"variant": "hashchain seed 1", "task": "hashchain", "steps": 5}], {"hashchain": 2}, 60.0)
    >>> [(r["variant"], r.get("steps"), r.get("time_limit_s")) for r in got["variants"]]
    [('hashhop seed 1', None, 9), ('hashchain seed 1', 5, 60.0)]
    >>> got["references"]
    {'hashhop': 1, 'hashchain': 2}
    """
    by_name = {r["variant"]: r for r in stored.get("variants", [])}
    by_name.update({r["variant"]: dict(r, time_limit_s=time_limit_s) for r in rows})
    return {"references": {**stored.get("references", {}), **references},
            "variants": [by_name[n] for n in VARIANTS if n in by_name]}


if __name__ == "__main__":
    sys.exit(main())
