"""Base models the notebooks start from, the way the paper starts from pretrained GPT-2.

``get_base(task, profile)`` returns a ``save_pretrained`` directory (model + tokenizer) that plain
``transformers`` loads with ``AutoModelForCausalLM`` / ``AutoTokenizer``:

- ``base_source="committed"``: ``models/<task>-<profile>/``, trained by this module and committed,
  checked against the checksum in its ``base_info.json``;
- ``base_source="train"``: trained now with the recipe of ``helpers.base_training`` and cached under
  ``runs/base/<config hash>/`` (a finished run is loaded, an interrupted one resumes);
- anything else: a model id or local directory for ``from_pretrained`` (e.g. real GPT-2 weights).

Retrain the committed bases from scratch (same code, config and seed give the same weights on CPU)::

    python -m helpers.bases --profile small --retrain
"""
from __future__ import annotations

import copy
import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path

import torch
from transformers import GPT2LMHeadModel

from .base_training import Recipe, check_training, hash_token_ids, train_base, train_copy
from .cli import Parser, seconds
from .errors import BaseMismatchError, MissingFileError, Refused
from .pretraining import PretrainConfig, Vocab, pretrain
from .pretraining import finished as pretraining_finished
from .io import atomic_write_json, read_json
from .model import build_model, check_kernels, use_kernels
from .paths import BASES, RUNS
from .profiles import get_profile
from .runs import Run, provenance, sha256_file, training_environment
from .tasks import HashChainConfig, HashHopConfig, TaskConfigError
from .tokenizer import tokenizer_from_profile
from .training import training_device

TASKS = ("hashhop", "hashchain")
PRETRAINED = "pretrained"  # the task-agnostic stand-in for GPT-2's pretraining, shared by both bases


def base_task(task: str, profile: dict, spec: dict | None = None):
    hashes = {k: profile["tokenizer"][k] for k in ("alphabet", "hash_length")}
    spec = profile["base"][task]["task"] if spec is None else spec
    if task == "hashhop":
        return HashHopConfig(**spec, **hashes)
    return HashChainConfig(**{k: tuple(v) for k, v in spec.items()}, **hashes)


def eval_points(task: str, profile: dict) -> list[int]:
    return profile["base"][task]["eval_hops" if task == "hashhop" else "eval_shortest"]


def curriculum(task: str, profile: dict) -> tuple:
    """Easier variants of the base task mixed into its training (``base.<task>.curriculum``: a list of
    overrides of the task dict, e.g. shorter chains)."""
    spec = profile["base"][task]
    return tuple(base_task(task, profile, dict(spec["task"], **extra)) for extra in spec.get("curriculum", []))


def pretrain_config(profile: dict) -> dict:
    """Everything that determines the pretrained stand-in's weights."""
    return {"tokenizer": profile["tokenizer"], "model": profile["model"], "pretrain": profile["pretrain"]}


def uses_pretraining(profile: dict) -> bool:
    return bool(profile.get("pretrain")) and profile["pretrain"].get("steps", 0) > 0


def base_recipe(task: str, profile: dict) -> dict:
    """The base fine-tune's recipe: the shared one, the task's own values over it, and, when the base
    starts from given weights (``base_init``, e.g. GPT-2), ``base.init_recipe`` over those (the paper's
    fine-tuning rate, not the from-scratch one)."""
    recipe = dict(profile["base"]["recipe"], **profile["base"][task].get("recipe", {}))
    if profile.get("base_init"):
        recipe.update(profile["base"]["init_recipe"])
    for key in ("depth_queries", "start_queries"):  # none (Recipe's default) is left out: the committed bases' configs stay
        if not recipe.get(key):
            recipe.pop(key, None)
    return recipe


def base_config(task: str, profile: dict) -> dict:
    """Everything that determines a base model's weights."""
    if task not in TASKS:
        raise TaskConfigError(f"task: allowed values are {TASKS}, got {task!r}")
    config = {"task": task, "task_config": profile["base"][task]["task"], "tokenizer": profile["tokenizer"],
              "model": profile["model"], "recipe": base_recipe(task, profile),
              "eval_points": eval_points(task, profile),
              "stop_when": profile["base"][task]["stop_when"]}
    if profile["base"][task].get("curriculum"):
        config["curriculum"] = profile["base"][task]["curriculum"]
    if profile["base"][task].get("restarts"):
        config["restarts"] = profile["base"][task]["restarts"]
    # refused here, before anything trains; "eager" is left out, so the committed bases' configs stay as they were
    kernels = check_kernels(profile["base"][task].get("kernels", "eager"), f"base.{task}.kernels")
    if kernels != "eager":
        config["kernels"] = kernels
    if profile.get("base_init"):  # fine-tuned from given weights: they, not the stand-in, are the start
        config["base_init"] = profile["base_init"]
    elif uses_pretraining(profile):
        config["pretrain"] = profile["pretrain"]
    return config


def stage_profiles(task: str, profile: dict) -> list[dict]:
    """The profile of each training stage of ``task``'s base: the recipe, then one per warm restart
    (``base.<task>.restarts``: recipe values over the task's, e.g. ``{"steps": 6000}``), each a single stage
    (no restarts of its own). A restart starts from the weights the stage before ended with, with a fresh
    optimizer, warm-up and lr schedule, as ``tools.base_variants``' ``"from"`` variants do."""
    if task not in TASKS:
        raise TaskConfigError(f"task: allowed values are {TASKS}, got {task!r}")
    restarts = profile["base"][task].get("restarts") or []
    if not isinstance(restarts, list) or not all(isinstance(r, dict) and r for r in restarts):
        raise TaskConfigError(f"base.{task}.restarts: a list of recipe overrides (e.g. [{{'steps': 6000}}]), got {restarts!r}")
    first = copy.deepcopy(profile)
    first["base"][task]["restarts"] = []
    stages = [first]
    for values in restarts:
        stage = copy.deepcopy(first)
        stage["base"][task]["recipe"] = dict(stage["base"][task].get("recipe", {}), **values)
        unknown = sorted(set(values) - {f.name for f in dataclasses.fields(Recipe)})
        if unknown:
            raise TaskConfigError(f"base.{task}.restarts: {unknown} not recipe keys; allowed: "
                                  f"{[f.name for f in dataclasses.fields(Recipe)]}")
        stages.append(stage)
    return stages


def staged_info(task: str, profile: dict, stage_infos: list[dict]) -> dict:
    """One ``base_info.json`` for a base trained in stages (``stage_infos``: each stage's, in order): the whole
    config, the curves end to end (``stage`` numbered from 1, ``step`` and ``seconds`` counted from the first
    stage's start) and each stage's steps, seconds and provenance."""
    curve, steps, seconds = [], 0, 0.0
    for number, info in enumerate(stage_infos, 1):
        curve += [dict(point, stage=number, step=steps + point["step"], seconds=round(seconds + point["seconds"], 1))
                  for point in info["curve"]]
        steps, seconds = steps + info["curve"][-1]["step"], seconds + info["train_seconds"]
    return {"config": base_config(task, profile), "seed": stage_infos[0]["seed"], "curve": curve,
            "copy_curve": stage_infos[0]["copy_curve"], "train_seconds": round(seconds, 1),
            "this_session_seconds": round(sum(i["this_session_seconds"] for i in stage_infos), 1),
            "stopped_at_time_limit": stage_infos[-1]["stopped_at_time_limit"], "sha256": stage_infos[-1]["sha256"],
            "provenance": provenance(),
            "stages": [{"steps": i["curve"][-1]["step"], "train_seconds": i["train_seconds"],
                        "sha256": i["sha256"], "provenance": i["provenance"]} for i in stage_infos]}


def _train_stages(task, profile, stages, out_dir, progress, checkpoint_dir, time_limit_s, keep_at_limit, runs_root) -> dict | None:
    """Train the stages one after another (each stage's model kept under ``checkpoint_dir/stage-<n>`` so a rerun
    resumes at the stage it stopped in) and write the last one to ``out_dir`` with ``staged_info``."""
    began, infos, start, trained = time.time(), [], None, False
    root = Path(checkpoint_dir) if checkpoint_dir is not None else Path(str(out_dir) + ".stages")
    for number, stage in enumerate(stages, 1):
        stage_dir = root / f"stage-{number}"
        done = stage_dir / "model" / "base_info.json"
        kept = read_json(done) if done.exists() else None  # a stage kept at a time limit is not finished: resumed
        reusable = kept and not kept["stopped_at_time_limit"] and kept["config"] == json.loads(json.dumps(base_config(task, stage)))
        if reusable and not trained:  # after a stage trained again, every later one trains from its model
            info = kept
        else:
            trained = True
            left = None if time_limit_s is None else max(1e-9, time_limit_s - (time.time() - began))
            info = train_base_dir(task, stage, stage_dir / "model", progress, checkpoint_dir=stage_dir / "checkpoint",
                                  time_limit_s=left, keep_at_limit=keep_at_limit, runs_root=runs_root, start=start)
            if info is None:
                return None
        infos.append(info)
        start = stage_dir / "model"
        if info["stopped_at_time_limit"]:
            break
    info = staged_info(task, profile, infos)
    tmp = Path(str(out_dir) + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(start, tmp)
    atomic_write_json(tmp / "base_info.json", info)
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)
    return info


def replay_for(profile: dict, tokenizer) -> tuple | None:
    """What ``train_base`` mixes back in from the stand-in (``(vocab, parts, every)``; ``None``: nothing)."""
    every = profile["base"]["replay_every"]
    if not every:
        return None
    return (Vocab.from_tokenizer(tokenizer, hash_token_ids(tokenizer, **profile["tokenizer"])),
            tuple(profile["pretrain"]["parts"]), every)


def train_pretrained_dir(profile: dict, out_dir: Path, progress: bool = True, time_limit_s: float | None = None,
                         checkpoint_dir: Path | None = None) -> dict | None:
    """Train the pretraining stand-in and write it to ``out_dir`` (model + tokenizer + base_info.json);
    ``None`` if ``time_limit_s`` paused it first (``checkpoint_dir`` lets the next call resume)."""
    cfg = PretrainConfig(**profile["pretrain"])
    tokenizer = tokenizer_from_profile(profile["tokenizer"])
    model = build_model(profile["model"], tokenizer, seed=cfg.seed).to(training_device())
    vocab = Vocab.from_tokenizer(tokenizer, hash_token_ids(tokenizer, **profile["tokenizer"]))
    start = time.time()
    log = pretrain(model, vocab, cfg, progress, time_limit_s=time_limit_s, checkpoint_dir=checkpoint_dir)
    if not pretraining_finished(log, cfg):
        return None
    return _save_model_dir(model, tokenizer, out_dir, {"config": pretrain_config(profile), "seed": cfg.seed,
                                                       "curve": log, "train_seconds": log[-1]["seconds"] if log else 0.0,
                                                       "this_session_seconds": round(time.time() - start, 1)})


def _save_model_dir(model, tokenizer, out_dir: Path, info: dict) -> dict:
    tmp = Path(str(out_dir) + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    info = dict(info, provenance=provenance(), sha256={"model.safetensors": sha256_file(tmp / "model.safetensors")})
    atomic_write_json(tmp / "base_info.json", info)
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)
    return info


def get_pretrained(profile: dict, progress: bool = True, runs_root: Path = RUNS,
                   time_limit_s: float | None = None) -> Path | None:
    """The pretrained stand-in: ``models/pretrained-<profile>`` when committed, else trained and cached
    under ``runs/pretrain/<config hash>/`` (``None`` if ``time_limit_s`` paused that training)."""
    committed = BASES / f"{PRETRAINED}-{profile['name']}"
    if (committed / "base_info.json").exists() and \
            read_json(committed / "base_info.json")["config"] == json.loads(json.dumps(pretrain_config(profile))):
        verify_base(committed)
        return committed
    if profile["base_source"] == "committed":
        raise MissingFileError(f"{committed}: missing or trained with another config; "
                                f"retrain with `python -m helpers.bases --profile {profile['name']} --retrain --task {PRETRAINED}`")
    run = Run(runs_root, "pretrain", pretrain_config(profile), environment=training_environment())
    out = run.dir / "model"
    if run.finished() is None:
        info = train_pretrained_dir(profile, out, progress, time_limit_s, checkpoint_dir=run.dir / "checkpoint")
        if info is None:
            return None
        run.finish({"curve": info["curve"]}, files=["model/model.safetensors"])
    return out


def train_base_dir(task: str, profile: dict, out_dir: Path, progress: bool = True,
                   checkpoint_dir: Path | None = None, time_limit_s: float | None = None,
                   keep_at_limit: bool = False, runs_root: Path = RUNS, start: Path | None = None) -> dict | None:
    """Train a base with the recipe and write it to ``out_dir`` with its ``base_info.json``; returns
    the info, or ``None`` if ``time_limit_s`` stopped it first (the checkpoint lets it resume).
    ``keep_at_limit``: write the model reached at the time limit anyway, recorded as
    ``"stopped_at_time_limit": true`` in its info (a time-boxed base, as the budget asks).
    ``start``: a model directory to fine-tune instead of the stand-in (e.g. a committed base trained
    further; recorded in the info's ``"start"``)."""
    config = base_config(task, profile)
    recipe = Recipe(**config["recipe"])
    stages = stage_profiles(task, profile)
    if len(stages) > 1 and start is None and not config.get("base_init"):
        return _train_stages(task, profile, stages, out_dir, progress, checkpoint_dir, time_limit_s, keep_at_limit, runs_root)
    began = time.time()
    task_config, easier = base_task(task, profile), curriculum(task, profile)
    if config.get("base_init"):
        return _fine_tune_pretrained(task, profile, config, recipe, task_config, easier, out_dir, progress,
                                     checkpoint_dir, time_limit_s, keep_at_limit, began)
    tokenizer = tokenizer_from_profile(profile["tokenizer"])
    model = build_model(profile["model"], tokenizer, seed=recipe.seed).to(training_device())
    # everything that would fail mid-run is refused here, before the stand-in (or anything) trains
    check_training(model, tokenizer, task_config, recipe, config["eval_points"], config["stop_when"], curriculum=easier)
    replay = None
    if start is not None or uses_pretraining(profile):  # the given model, or the stand-in for GPT-2's pretraining
        if start is None:                                  # (as the paper starts from GPT-2)
            PretrainConfig(**profile["pretrain"])
        stand_in = start or get_pretrained(profile, progress, runs_root, time_limit_s)
        if stand_in is None:  # the time limit ran out in the stand-in: resumable, nothing written
            return None
        if time_limit_s is not None:
            time_limit_s = max(1e-9, time_limit_s - (time.time() - began))
        model = GPT2LMHeadModel.from_pretrained(stand_in, use_safetensors=True).to(training_device())  # kernels set by use_kernels below
        replay = replay_for(profile, tokenizer) if uses_pretraining(profile) else None
    torch.set_num_threads(max(1, torch.get_num_threads()))
    copy_log = []
    task_started = checkpoint_dir is not None and (Path(checkpoint_dir) / "state.json").exists()
    if recipe.copy_steps and not task_started and not uses_pretraining(profile) and start is None:  # stage 1: induction warm-up (skipped once stage 2 has a checkpoint)
        vocab = hash_token_ids(tokenizer, **profile["tokenizer"])
        copy_dir = Path(str(checkpoint_dir) + "-copy") if checkpoint_dir is not None else None
        copy_log = train_copy(model, vocab, recipe, tokenizer.pad_token_id, copy_dir, progress)
    elif task_started and Path(str(checkpoint_dir) + "-copy", "state.json").exists():
        copy_log = read_json(Path(str(checkpoint_dir) + "-copy", "state.json"))["log"]
    use_kernels(model, config.get("kernels", "eager"), f"base.{task}.kernels")
    log, finished = train_base(model, tokenizer, task_config, recipe, config["eval_points"],
                               checkpoint_dir=checkpoint_dir, progress=progress, time_limit_s=time_limit_s,
                               stop_when=config["stop_when"], curriculum=easier, replay=replay)
    if not finished and (not keep_at_limit or not log):  # nothing to keep before the first evaluation
        return None
    copy_seconds = copy_log[-1]["seconds"] if copy_log else 0.0
    return _save_model_dir(model, tokenizer, out_dir, {
        "config": config, "seed": recipe.seed, "curve": log, "copy_curve": copy_log,
        "train_seconds": copy_seconds + log[-1]["seconds"], "this_session_seconds": round(time.time() - began, 1),
        "stopped_at_time_limit": not finished, **({"start": str(start)} if start else {})})


def _fine_tune_pretrained(task, profile, config, recipe, task_config, easier, out_dir, progress, checkpoint_dir,
                          time_limit_s, keep_at_limit, start) -> dict | None:
    """The paper's own path: pretrained weights (``base_init``, e.g. GPT-2) fully fine-tuned on the base
    task with the profile's recipe, in their own tokenizer; refused before training if they cannot be
    loaded or their tokenizer cannot encode the task one-to-one."""
    from .encoding import check_tokenizer_covers
    from .model import load_pretrained
    try:
        model, tokenizer = load_pretrained(config["base_init"], device=str(training_device()))
    except (OSError, ValueError) as err:
        raise TaskConfigError(f"base_init: cannot load {config['base_init']!r} as a model "
                              f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})") from None
    check_tokenizer_covers(tokenizer, task_config, what=f"base_init {config['base_init']}")
    check_training(model, tokenizer, task_config, recipe, config["eval_points"], config["stop_when"], curriculum=easier)
    if config.get("kernels"):  # else the weights train with the kernels they load with, as before
        use_kernels(model, config["kernels"], f"base.{task}.kernels")
    log, finished = train_base(model, tokenizer, task_config, recipe, config["eval_points"], checkpoint_dir=checkpoint_dir,
                               progress=progress, time_limit_s=time_limit_s, stop_when=config["stop_when"], curriculum=easier)
    if not finished and (not keep_at_limit or not log):  # nothing to keep before the first evaluation
        return None
    return _save_model_dir(model, tokenizer, out_dir, {
        "config": config, "seed": recipe.seed, "curve": log, "copy_curve": [], "train_seconds": log[-1]["seconds"],
        "this_session_seconds": round(time.time() - start, 1), "stopped_at_time_limit": not finished})


def verify_base(path: Path) -> dict:
    info_file = Path(path) / "base_info.json"
    if not info_file.exists():
        raise MissingFileError(f"{path}: no base_info.json; retrain with `python -m helpers.bases --retrain`")
    try:
        info = read_json(info_file)
        digests = dict(info["sha256"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise Refused(f"{info_file}: unreadable ({type(err).__name__}: {err}); retrain the base") from None
    for name, digest in digests.items():
        if not (Path(path) / name).is_file():
            raise MissingFileError(f"{path}/{name}: missing; retrain with `python -m helpers.bases --retrain`")
        if sha256_file(Path(path) / name) != digest:
            raise BaseMismatchError(f"{path}/{name}: checksum does not match base_info.json; retrain the base")
    return info


def base_scores(task: str, path, profile: dict) -> dict:
    """How a base does on its own task, as notebook 02 reports it: greedy exact match on
    ``eval.n_per_point`` held-out prompts per evaluation point (``accuracy``: ``evaluation.points_table``
    rows), HashChain's structural baseline (``random_chain_end`` per shortest length) and what its answers
    are (``categories``: the shortest chain's end, another chain's end, ...), the base criteria (``criteria``)
    and the numbers they check (``targets``)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from . import criteria
    from .diagnostics import answer_points, category_shares, random_chain_end
    from .evaluation import answers_table
    model, tokenizer = AutoModelForCausalLM.from_pretrained(path), AutoTokenizer.from_pretrained(path)
    cfg = base_task(task, profile)
    got = answer_points(model, tokenizer, cfg, eval_points(task, profile), profile["eval"]["n_per_point"])
    table = answers_table(cfg, got)
    acc = {r["hops" if task == "hashhop" else "shortest"]: r["accuracy"] for r in table}
    if task == "hashhop":
        return {"accuracy": table, "random_chain_end": {}, "categories": {}, "criteria": criteria.base_hashhop({h: acc.get(h, 0.0) for h in (1, 2)}),
                "targets": {"hashhop_1hop": acc.get(1, 0.0), "hashhop_2hop": acc.get(2, 0.0)}}
    random_end = {p: random_chain_end(g["samples"]) for p, g in got.items()}
    return {"accuracy": table, "random_chain_end": random_end,
            "categories": {p: category_shares(g["samples"], g["answers"]) for p, g in got.items()},
            "criteria": criteria.base_hashchain({s: acc.get(s, 0.0) for s in (2, 3)}, random_end),
            "targets": {"hashchain_shortest2": acc.get(2, 0.0), "hashchain_shortest3": acc.get(3, 0.0),
                        "hashchain_shortest3_random_end": random_end.get(3, 0.0)}}


def _trained_elsewhere(run: Run) -> dict | None:
    """The environment of a finished run with ``run``'s config but another environment, if any."""
    for result_file in sorted(run.dir.parent.glob("*/result.json")):
        try:
            result = read_json(result_file)
        except (OSError, ValueError):
            continue
        if result.get("config") == json.loads(json.dumps(run.config)) and result.get("environment") != run.environment:
            return result.get("environment")
    return None


def get_base(task: str, profile: dict, progress: bool = True, train: bool = True) -> Path | str:
    """The base model of ``task`` (a directory or hub id) as ``profile["base_source"]`` says; with
    ``train=False`` a base that would have to be trained first is refused instead (e.g. when only
    job files are written)."""
    source = profile["base_source"]
    if source == "committed":
        path = BASES / f"{task}-{profile['name']}"
        verify_base(path)
        return path
    if source == "train":
        run = Run(RUNS, "base", base_config(task, profile), environment=training_environment())
        out = run.dir / "model"
        if run.finished() is None:
            if not train:
                other = _trained_elsewhere(run)
                if other:
                    raise MissingFileError(f"base: the {task} base of profile {profile['name']!r} was trained with "
                                           f"{other} (this process: {run.environment}); a run's identity includes the "
                                           f"thread count, so use the same (OMP_NUM_THREADS / torch.set_num_threads) or "
                                           f"train it again")
                raise MissingFileError(f"base: the {task} base of profile {profile['name']!r} is not trained yet "
                                       f"(base_source 'train'); train it first: run notebook 02, or `python -m helpers.sweep "
                                       f"--profile {profile['name']} --jobs-dir DIR --train-bases`")
            info = train_base_dir(task, profile, out, progress, checkpoint_dir=run.dir / "checkpoint")
            run.finish({"curve": info["curve"], "copy_curve": info["copy_curve"]}, files=["model/model.safetensors"])
        return out
    if not isinstance(source, str) or not source:
        raise TaskConfigError(f"base_source: allowed values are 'committed', 'train' or a model directory or id, got {source!r}")
    if Path(source).is_absolute() and not Path(source).is_dir():
        raise TaskConfigError(f"base_source: {source} is not a directory (no such base model)")
    return source


def main(argv=None) -> int:
    parser = Parser(prog="python -m helpers.bases", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="small", help="profile whose base models to train (default small)")
    parser.add_argument("--task", choices=(PRETRAINED, *TASKS), action="append",
                        help=f"only this model (repeatable); '{PRETRAINED}' is the pretraining stand-in both bases start from")
    parser.add_argument("--retrain", action="store_true", help="train from scratch and overwrite models/<task>-<profile>")
    parser.add_argument("--time-limit", type=seconds, default=None,
                        help="stop after this many seconds, in every stage (resumable); a number > 0")
    parser.add_argument("--keep-at-limit", action="store_true",
                        help="at --time-limit, write the model reached so far (recorded as stopped at the limit)")
    args = parser.parse_args(argv)
    try:
        profile = get_profile(args.profile)
    except TaskConfigError as err:
        parser.error(str(err))
    for task in args.task or ((PRETRAINED,) if uses_pretraining(profile) else ()) + TASKS:
        out = BASES / f"{task}-{args.profile}"
        if not args.retrain:
            print(f"{out}: {'ok' if out.exists() else 'missing'} (use --retrain to train)")
            continue
        if task == PRETRAINED:
            ckpt = RUNS / "base-retrain" / f"{task}-{args.profile}"
            info = parser.run(train_pretrained_dir, profile, out, time_limit_s=args.time_limit, checkpoint_dir=ckpt)
            if info is None:
                print(f"{task}: stopped by --time-limit; run again to resume from {ckpt}")
                return 3
            print(f"{task}: trained in {info['train_seconds']:.0f} s; final accuracy {info['curve'][-1]['accuracy']}; wrote {out}")
            continue
        ckpt = RUNS / "base-retrain" / f"{task}-{args.profile}"
        # a bad profile value is refused before training, a diverged run when it diverges: one line, exit 2
        info = parser.run(train_base_dir, task, profile, out, checkpoint_dir=ckpt, time_limit_s=args.time_limit,
                          keep_at_limit=args.keep_at_limit)
        if info is None:
            print(f"{task}: stopped by --time-limit; run again to resume from {ckpt}")
            return 3
        print(f"{task}: trained in {info['train_seconds']:.0f} s; final accuracy {info['curve'][-1]['accuracy']}; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
