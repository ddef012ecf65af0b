"""What a profile costs to run, estimated from its shapes and step counts (an estimate, not a
measurement): training FLOPs are 6 x parameters x tokens for full training (forward 2, backward 4),
4 x parameters x tokens for LoRA (the frozen weights still pass gradients back, but get none) plus
6 x the adapter's own parameters, evaluation 2 x parameters x tokens. Tokens per step are the
padded batch the real stages build (one seeded batch measured per stage). Wall time = FLOPs / (peak x
MFU) for a stated peak and MFU.

>>> rows = stage_costs(get_profile("smoke"))
>>> [r["stage"] for r in rows][:3]
['pretraining stand-in', 'base hashhop', 'base hashchain']
"""
from __future__ import annotations

import math

from .base_training import Recipe, hash_token_ids, recipe_batch
from .bases import base_recipe, base_task, curriculum, uses_pretraining
from .encoding import collate, encode
from .experiments import task_dict
from .model import build_model, count_parameters
from .pretraining import Vocab, pretraining_batch
from .profiles import get_profile  # noqa: F401  (the doctest)
from .tasks import config_from_dict, generate
from .tokenizer import tokenizer_from_profile

H100_FP32_TFLOPS = 67.0   # dense fp32 (no TF32) peak of one H100 SXM; the training loops run in fp32
DEFAULT_MFU = 0.3


def _lora_params(model_cfg: dict, rank: int, blocks: int) -> int:
    """LoRA on mlp.c_proj (4d -> d) of ``blocks`` blocks: r x (4d + d) each."""
    d = model_cfg["n_embd"]
    return blocks * rank * (4 * d + d)


def stage_costs(profile: dict) -> list[dict]:
    """One row per stage of ``make figures`` in ``profile``: steps, tokens per step, FLOPs, runs."""
    tok = tokenizer_from_profile(profile["tokenizer"])
    model_cfg = profile["model"]
    params = count_parameters(build_model(model_cfg, tok, seed=0))
    rows = []

    def add(stage, steps, tokens, per_token, runs=1):
        rows.append({"stage": stage, "runs": runs, "steps": steps, "tokens_per_step": tokens,
                     "flops": per_token * tokens * steps * runs})

    if uses_pretraining(profile):
        pre = profile["pretrain"]
        vocab = Vocab.from_tokenizer(tok, hash_token_ids(tok, **profile["tokenizer"]))
        x, _ = pretraining_batch(tuple(pre["parts"]), vocab, pre["seed"], 0, pre["batch_size"])
        add("pretraining stand-in", pre["steps"], x.numel(), 6 * params)
    for task in ("hashhop", "hashchain"):
        recipe = base_recipe(task, profile)
        x, _ = recipe_batch(base_task(task, profile), tok, Recipe(**recipe), 0, curriculum(task, profile))
        add(f"base {task}", recipe["steps"], x.numel(), 6 * params)
    lp = profile["lora"]
    blocks = lp["last_n_blocks"] or model_cfg["n_layer"]
    runs = len(lp["seeds"])
    for kind in ("planning", "reasoning"):
        task = config_from_dict(task_dict(profile, kind))
        x, _ = collate([encode(tok, s) for s in generate(task, lp["batch_size"], seed=0)], tok.pad_token_id)
        for rank in lp["ranks"]:
            add(f"LoRA {kind} r={rank}", lp["steps"], x.numel(), 4 * params + 6 * _lora_params(model_cfg, rank, blocks), runs)
        points = lp["eval_hops" if kind == "planning" else "eval_shortest"]
        prompts = profile["eval"]["n_per_point"] * len(points)
        add(f"evaluation {kind}", 1, prompts * x.shape[1], 2 * params, len(lp["ranks"]) * runs + 1)
        rows[-1]["prompts"] = prompts
    return rows


def _dry_stage(row: dict, dry: dict) -> dict | None:
    """The dry-run stage that times ``row``: the same stage, or for a LoRA row the dry run's LoRA rank
    nearest to it (log scale), or for an evaluation row the dry run's evaluation."""
    stages = {r["stage"]: r for r in dry["stages"]}
    name = row["stage"]
    if name.startswith("LoRA"):
        rank = int(name.rsplit("r=", 1)[1])
        timed = [(int(k.rsplit("r=", 1)[1]), v) for k, v in stages.items() if k.startswith("LoRA r=")]
        return min(timed, key=lambda kv: abs(math.log(kv[0] / rank)))[1] if timed else None
    if name.startswith("evaluation"):
        return stages.get("evaluation")
    return stages.get(name)


def measured_seconds(rows: list[dict], dry: dict) -> list[float | None]:
    """Each stage's wall time from the dry run's measured step times (``dry``: a ``dryrun`` record at the
    profile's batch sizes): runs x steps x seconds per step (the reasoning LoRA stages take the planning
    ones' step time: their batches hold about as many tokens, and at these sizes a GPU step's time barely
    depends on them: both base tasks, 243 and 341 tokens wide, took 0.047 s on one H200); evaluation:
    runs x prompts x the measured seconds per prompt. ``None`` where the dry run has no match."""
    out = []
    for row in rows:
        timed = _dry_stage(row, dry)
        if timed is None:
            out.append(None)
        elif row["stage"].startswith("evaluation"):
            out.append(row["runs"] * row["prompts"] * timed["seconds_per_prompt"] if "seconds_per_prompt" in timed else None)
        elif timed.get("seconds_per_step"):
            out.append(row["runs"] * row["steps"] * timed["seconds_per_step"])
        else:
            out.append(None)
    return out


def cost_table(rows: list[dict], peak_tflops: float = H100_FP32_TFLOPS, mfu: float = DEFAULT_MFU,
               measured: list[float | None] | None = None, measured_name: str = "measured steps") -> str:
    """Markdown: FLOPs and the estimated wall time per stage at ``mfu`` of ``peak_tflops``; with
    ``measured`` (``measured_seconds``), a column of wall times from measured step times."""
    speed = peak_tflops * 1e12 * mfu
    extra = measured is not None
    lines = ["| stage | runs x steps | tokens/step | FLOPs | est. time |" + (f" {measured_name} |" if extra else ""),
             "|---|---|---|---|---|" + ("---|" if extra else "")]
    for i, r in enumerate(rows):
        cell = (f" {_duration(measured[i])} |" if measured[i] is not None else " - |") if extra else ""
        lines.append(f"| {r['stage']} | {r['runs']} x {r['steps']:,} | {r['tokens_per_step']:,} | {r['flops']:.2e} | "
                     f"{_duration(r['flops'] / speed)} |" + cell)
    total = sum(r["flops"] for r in rows)
    cell = ""
    if extra:
        known = [m for m in measured if m is not None]
        cell = f" **{_duration(sum(known))}**{'' if len(known) == len(rows) else ' (timed stages)'} |"
    lines.append(f"| **total** | | | **{total:.2e}** | **{_duration(total / speed)}** |" + cell)
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
