"""The paper profile's largest part that fits a time box (for a lent GPU): the pretraining stand-in
at the profile's real shapes for at most ``--minutes``, then, if it finished and ``--base-minutes``
is given, the HashHop base fine-tune from it. Both through the pipeline's own loops
(``pretraining.pretrain``, ``base_training.train_base``) on ``training.training_device()``; nothing is
cached or saved but the learning curves, the step rate and the machine, written to ``--out``::

    python -m tools.paper_run --minutes 4 [--profile paper] [--overrides JSON] [--base-minutes M] --out FILE

``--overrides`` changes the profile as notebooks' ``OVERRIDES`` do (type-checked, recorded), e.g.
``'{"model": {"initializer_range": 0.03}, "pretrain": {"lr": 6e-4}}'``: several such arms side by side
on one GPU compare recipes at the real shapes.
"""
from __future__ import annotations

import os
import sys
import time

import torch

from helpers.base_training import Recipe, hash_token_ids, train_base
from helpers.bases import base_config, base_task, curriculum, replay_for
from helpers.cli import Parser, output_file, seconds
from helpers.io import atomic_write_json
from helpers.model import build_model, count_parameters
from helpers.pretraining import PretrainConfig, Vocab, finished, pretrain
from helpers.profiles import get_profile, parse_overrides
from helpers.runs import provenance
from helpers.tokenizer import tokenizer_from_profile
from helpers.training import training_device


def _rate(curve: list[dict]) -> float | None:
    """Steps per second over a curve (evaluations included), from its first to its last point."""
    if len(curve) < 2 or curve[-1]["seconds"] <= curve[0]["seconds"]:
        return None
    return round((curve[-1]["step"] - curve[0]["step"]) / (curve[-1]["seconds"] - curve[0]["seconds"]), 2)


def run(profile_name: str, overrides: dict, minutes: float, base_minutes: float | None = None,
        progress: bool = True) -> dict:
    profile = get_profile(profile_name, overrides)
    device = training_device()
    cfg = PretrainConfig(**profile["pretrain"])
    tokenizer = tokenizer_from_profile(profile["tokenizer"])
    model = build_model(profile["model"], tokenizer, seed=cfg.seed).to(device)
    vocab = Vocab.from_tokenizer(tokenizer, hash_token_ids(tokenizer, **profile["tokenizer"]))
    out = {"profile": profile_name, "overrides": overrides, "model": profile["model"],
           "parameters": count_parameters(model), "pretrain_config": profile["pretrain"],
           "machine": {"device": device.type, "gpu": torch.cuda.get_device_name() if device.type == "cuda" else None,
                       "nproc": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                       "float32_matmul_precision": torch.get_float32_matmul_precision()},
           "provenance": provenance()}
    start = time.time()
    curve = pretrain(model, vocab, cfg, progress, time_limit_s=minutes * 60)
    out["pretrain"] = {"curve": curve, "finished": finished(curve, cfg), "steps": curve[-1]["step"] if curve else 0,
                       "seconds": round(time.time() - start, 1), "steps_per_s": _rate(curve),
                       "time_limit_s": minutes * 60}
    if base_minutes and out["pretrain"]["finished"]:
        config = base_config("hashhop", profile)
        recipe = Recipe(**config["recipe"])
        start = time.time()
        log, done = train_base(model, tokenizer, base_task("hashhop", profile), recipe, config["eval_points"],
                               progress=progress, time_limit_s=base_minutes * 60, stop_when=config["stop_when"],
                               curriculum=curriculum("hashhop", profile), replay=replay_for(profile, tokenizer))
        out["base_hashhop"] = {"curve": log, "finished": done, "steps": log[-1]["step"] if log else 0,
                               "seconds": round(time.time() - start, 1), "steps_per_s": _rate(log),
                               "recipe": config["recipe"], "time_limit_s": base_minutes * 60}
    return out


def main(argv=None) -> int:
    parser = Parser(prog="python -m tools.paper_run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="paper", help="profile to run (default paper)")
    parser.add_argument("--overrides", default="{}", help="JSON object of profile overrides (default none)")
    parser.add_argument("--minutes", type=seconds, required=True, help="time box of the pretraining stand-in, minutes > 0")
    parser.add_argument("--base-minutes", type=seconds, default=None,
                        help="time box of the HashHop base fine-tune, if the stand-in finished (default: skip it)")
    parser.add_argument("--out", type=output_file(), required=True, help="results JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    overrides = parser.run(parse_overrides, args.overrides)
    parser.run(get_profile, args.profile, overrides)  # a bad profile or override: one line, before any training
    result = parser.run(run, args.profile, overrides, args.minutes, args.base_minutes, not args.quiet)
    atomic_write_json(args.out, result)
    pre = result["pretrain"]
    print(f"pretrain: {pre['steps']} steps in {pre['seconds']} s ({pre['steps_per_s']} steps/s), finished={pre['finished']}, "
          f"last accuracy {pre['curve'][-1]['accuracy'] if pre['curve'] else None}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
