"""Digests of models trained by every training loop on the smoke profile (stand-in, both bases, the
copy warm-up, LoRA across a checkpoint, full fine-tuning): run it before and after a refactor and
compare the two files, to show that behaviour did not change::

    OMP_NUM_THREADS=1 python -m tools.training_digests before.json   # on the old commit
    OMP_NUM_THREADS=1 python -m tools.training_digests after.json    # on the new one
    diff before.json after.json    # only wall-clock "seconds" may differ
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import torch

from helpers.bases import train_base_dir, train_pretrained_dir
from helpers.experiments import task_dict
from helpers.lora import lora_run_config, train_lora_run
from helpers.profiles import get_profile
from helpers.runs import sha256_file


def digests(tmp: Path) -> dict:
    out = {}
    profile = get_profile("smoke")
    train_pretrained_dir(profile, tmp / "pre", progress=False)
    out["pretrain"] = sha256_file(tmp / "pre" / "model.safetensors")
    for task in ("hashhop", "hashchain"):
        info = train_base_dir(task, profile, tmp / task, progress=False, checkpoint_dir=tmp / f"{task}-ck", runs_root=tmp / "runs")
        out[task] = [sha256_file(tmp / task / "model.safetensors"), info["curve"][-1]["accuracy"]]
    no_stand_in = get_profile("smoke", {"pretrain": {"steps": 0}})  # the copy warm-up stage runs instead
    info = train_base_dir("hashhop", no_stand_in, tmp / "copy", progress=False, checkpoint_dir=tmp / "copy-ck", runs_root=tmp / "runs")
    out["copy_stage"] = [sha256_file(tmp / "copy" / "model.safetensors"), info["copy_curve"][-1]]
    base = tmp / "hashhop"
    for method, extra in (("lora", dict(rank=2, alpha=1.0)), ("full", dict(method="full", rank=None, alpha=None))):
        config = lora_run_config(base, sha256_file(base / "model.safetensors"), task_dict(profile, "planning"), [1, 2], 16,
                                 steps=120, warmup_steps=2, batch_size=4, samples_per_epoch=32, **extra)
        result = train_lora_run(config, root=tmp / "lora", progress=False)
        weights = Path(result["run_dir"]) / ("adapter/adapter_model.safetensors" if method == "lora" else "model/model.safetensors")
        out[method] = [sha256_file(weights), result["accuracy"]]
    return out


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m tools.training_digests OUT.json", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        result = digests(Path(tmp))
    Path(argv[0]).write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"wrote {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
