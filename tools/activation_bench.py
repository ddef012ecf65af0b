"""Runs per minute before and after the fused GELU (``helpers.model.use_fused_activation``), side by
side in one process on one thread: the same LoRA run (small profile, r=16 planning, 600 steps, then
its evaluation) trained with GPT-2's unfused ``gelu_new`` and with the fused kernel, alternating, each
in a fresh temporary run folder (nothing is cached or committed)::

    OMP_NUM_THREADS=1 python -m tools.activation_bench [REPS]      # default 2 runs per arm
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import torch

import helpers.model
from helpers.experiments import run_configs
from helpers.lora import train_lora_run
from helpers.profiles import get_profile


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    reps = int(argv[0]) if argv else 2
    torch.set_num_threads(1)
    config = run_configs(get_profile("small"), "planning", [16], [0])[0]
    seconds = {"gelu_new (before)": [], "fused (after)": []}
    try:
        for _ in range(reps):
            for arm in seconds:
                helpers.model.FUSE_ACTIVATION = arm.startswith("fused")
                with tempfile.TemporaryDirectory() as tmp:
                    start = time.time()
                    train_lora_run(config, root=Path(tmp), progress=False)
                    seconds[arm].append(round(time.time() - start, 1))
    finally:
        helpers.model.FUSE_ACTIVATION = True
    print(json.dumps({arm: {"seconds": s, "runs_per_minute": round(60 * len(s) / sum(s), 2)} for arm, s in seconds.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
