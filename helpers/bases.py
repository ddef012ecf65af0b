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

import argparse
import shutil
import sys
import time
from pathlib import Path

import torch

from .base_training import Recipe, check_training, hash_token_ids, train_base, train_copy
from .io import atomic_write_json, read_json
from .model import build_model
from .paths import BASES, RUNS
from .profiles import get_profile
from .runs import Run, provenance, sha256_file
from .tasks import HashChainConfig, HashHopConfig, TaskConfigError
from .tokenizer import tokenizer_from_profile

TASKS = ("hashhop", "hashchain")


def base_task(task: str, profile: dict):
    hashes = {k: profile["tokenizer"][k] for k in ("alphabet", "hash_length")}
    spec = profile["base"][task]["task"]
    if task == "hashhop":
        return HashHopConfig(**spec, **hashes)
    return HashChainConfig(**{k: tuple(v) for k, v in spec.items()}, **hashes)


def eval_points(task: str, profile: dict) -> list[int]:
    return profile["base"][task]["eval_hops" if task == "hashhop" else "eval_shortest"]


def base_config(task: str, profile: dict) -> dict:
    """Everything that determines a base model's weights."""
    if task not in TASKS:
        raise TaskConfigError(f"task: allowed values are {TASKS}, got {task!r}")
    return {"task": task, "task_config": profile["base"][task]["task"], "tokenizer": profile["tokenizer"],
            "model": profile["model"], "recipe": profile["base"]["recipe"], "eval_points": eval_points(task, profile),
            "stop_when": profile["base"][task]["stop_when"]}


def train_base_dir(task: str, profile: dict, out_dir: Path, progress: bool = True,
                   checkpoint_dir: Path | None = None, time_limit_s: float | None = None) -> dict | None:
    """Train a base with the recipe and write it to ``out_dir`` with its ``base_info.json``; returns
    the info, or ``None`` if ``time_limit_s`` stopped it first (the checkpoint lets it resume)."""
    config = base_config(task, profile)
    recipe = Recipe(**config["recipe"])
    tokenizer = tokenizer_from_profile(profile["tokenizer"])
    model = build_model(profile["model"], tokenizer, seed=recipe.seed)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    start = time.time()
    task_config = base_task(task, profile)
    check_training(model, tokenizer, task_config, recipe, config["eval_points"], config["stop_when"])
    copy_log = []
    task_started = checkpoint_dir is not None and (Path(checkpoint_dir) / "state.json").exists()
    if recipe.copy_steps and not task_started:  # stage 1: induction warm-up (skipped once stage 2 has a checkpoint)
        vocab = hash_token_ids(tokenizer, **profile["tokenizer"])
        copy_dir = Path(str(checkpoint_dir) + "-copy") if checkpoint_dir is not None else None
        copy_log = train_copy(model, vocab, recipe, tokenizer.pad_token_id, copy_dir, progress)
    elif task_started and Path(str(checkpoint_dir) + "-copy", "state.json").exists():
        copy_log = read_json(Path(str(checkpoint_dir) + "-copy", "state.json"))["log"]
    log, finished = train_base(model, tokenizer, task_config, recipe, config["eval_points"],
                               checkpoint_dir=checkpoint_dir, progress=progress, time_limit_s=time_limit_s,
                               stop_when=config["stop_when"])
    if not finished:
        return None
    tmp = Path(str(out_dir) + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    copy_seconds = copy_log[-1]["seconds"] if copy_log else 0.0
    info = {"config": config, "seed": recipe.seed, "curve": log, "copy_curve": copy_log,
            "train_seconds": copy_seconds + log[-1]["seconds"],
            "this_session_seconds": round(time.time() - start, 1), "provenance": provenance(),
            "sha256": {"model.safetensors": sha256_file(tmp / "model.safetensors")}}
    atomic_write_json(tmp / "base_info.json", info)
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)
    return info


def verify_base(path: Path) -> dict:
    info_file = Path(path) / "base_info.json"
    if not info_file.exists():
        raise FileNotFoundError(f"{path}: no base_info.json; retrain with `python -m helpers.bases --retrain`")
    info = read_json(info_file)
    for name, digest in info["sha256"].items():
        if sha256_file(Path(path) / name) != digest:
            raise ValueError(f"{path}/{name}: checksum does not match base_info.json; retrain the base")
    return info


def get_base(task: str, profile: dict, progress: bool = True) -> Path | str:
    source = profile["base_source"]
    if source == "committed":
        path = BASES / f"{task}-{profile['name']}"
        verify_base(path)
        return path
    if source == "train":
        run = Run(RUNS, "base", base_config(task, profile))
        out = run.dir / "model"
        if run.finished() is None:
            info = train_base_dir(task, profile, out, progress, checkpoint_dir=run.dir / "checkpoint")
            run.finish({"curve": info["curve"], "copy_curve": info["copy_curve"]}, files=["model/model.safetensors"])
        return out
    if not isinstance(source, str) or not source:
        raise TaskConfigError(f"base_source: allowed values are 'committed', 'train' or a model directory or id, got {source!r}")
    if Path(source).is_absolute() and not Path(source).is_dir():
        raise TaskConfigError(f"base_source: {source} is not a directory (no such base model)")
    return source


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.bases", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="small", help="profile whose base models to train (default small)")
    parser.add_argument("--task", choices=TASKS, action="append", help="only this task (repeatable)")
    parser.add_argument("--retrain", action="store_true", help="train from scratch and overwrite models/<task>-<profile>")
    parser.add_argument("--time-limit", type=float, default=None, help="stop after this many seconds (resumable)")
    args = parser.parse_args(argv)
    try:
        profile = get_profile(args.profile)
    except TaskConfigError as err:
        parser.error(str(err))
    for task in args.task or TASKS:
        out = BASES / f"{task}-{args.profile}"
        if not args.retrain:
            print(f"{out}: {'ok' if out.exists() else 'missing'} (use --retrain to train)")
            continue
        ckpt = RUNS / "base-retrain" / f"{task}-{args.profile}"
        try:
            info = train_base_dir(task, profile, out, checkpoint_dir=ckpt, time_limit_s=args.time_limit)
        except TaskConfigError as err:  # a bad profile value, refused before training: one line, exit 2
            parser.error(str(err))
        if info is None:
            print(f"{task}: stopped by --time-limit; run again to resume from {ckpt}")
            return 3
        print(f"{task}: trained in {info['train_seconds']:.0f} s; final accuracy {info['curve'][-1]['accuracy']}; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
