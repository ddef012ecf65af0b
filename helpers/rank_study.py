"""Planning vs reasoning rank analysis across ranks and seeds (notebook 05), on top of ``helpers.rank``.

The paper's headline: the effective rank of trained LoRA updates is 2-3x lower for reasoning
(HashChain) than for planning (HashHop). ``ratios`` measures that ratio for every rank measure, per
LoRA rank, with a 95% interval across seeds (the seed-``i`` reasoning adapter over the seed-``i``
planning adapter). ``control_adapter`` builds the baseline a threshold count must beat: the same
``A`` as at the start of training (peft's random init, same seed) with a random ``B`` of the trained
``B``'s norm, i.e. a random update of the same shape and size.
"""
from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file

from .stats import seed_interval
from .lora import _resolve, add_lora
from .model import load_pretrained
from .rank import analyze_adapter, summarize

MEASURES = ["thr_1e-1", "thr_1e-2", "thr_1e-3", "thr_1e-4", "thr_1e-5", "energy_90", "energy_99",
            "entropy_rank", "stable_rank", "top5_share"]


def adapter_summaries(cells: list[dict], results: list[dict]) -> list[dict]:
    """Mean of every measure over the layers of each adapter, with the cell's kind, rank and seed."""
    rows = []
    for cell, result in zip(cells, results):
        if result.get("adapter_dir"):
            rows.append({"kind": cell["kind"], "rank": cell["x"], "seed": cell["seed"], "adapter_dir": result["adapter_dir"],
                         **summarize(analyze_adapter(result["adapter_dir"]))})
    return rows


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
