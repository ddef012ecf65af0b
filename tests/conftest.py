"""Shared fixtures: a tiny base model (the smoke profile's, trained in about a second) and tiny LoRA
run configs on it. One torch thread: fast on a busy CPU and the same numbers every time. The run
cache (``REPRO_RUNS``) points at a temporary folder for the whole session."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Every test (and every command or notebook kernel a test starts, which inherit the environment)
# writes its run cache to a temporary folder, never to the repository's runs/. Set before any
# helpers module is imported, since helpers.paths reads it once.
os.environ["REPRO_RUNS"] = _RUNS = tempfile.mkdtemp(prefix="repro-test-runs-")
atexit.register(shutil.rmtree, _RUNS, ignore_errors=True)

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory):
    """``save_pretrained`` folder of the smoke-profile HashHop base, trained with checkpoints in the
    sibling folder ``checkpoint`` (both written by the project's code)."""
    from helpers.bases import train_base_dir
    from helpers.profiles import get_profile

    folder = tmp_path_factory.mktemp("tiny_base")
    info = train_base_dir("hashhop", get_profile("smoke"), folder / "model", progress=False,
                          checkpoint_dir=folder / "checkpoint", runs_root=folder / "runs")
    assert info is not None
    return folder / "model"


@pytest.fixture(scope="session")
def lora_config(tiny_base):
    """``lora_config(**overrides)``: a run config for a few-step LoRA run on ``tiny_base``."""
    from helpers.experiments import task_dict
    from helpers.lora import lora_run_config
    from helpers.profiles import get_profile
    from helpers.runs import sha256_file

    task = task_dict(get_profile("smoke"), "planning")
    checksum = sha256_file(tiny_base / "model.safetensors")

    def make(task=task, eval_points=(1, 2), eval_n=16, **overrides):
        settings = dict(rank=2, alpha=1.0, steps=12, warmup_steps=2, batch_size=4, samples_per_epoch=32)
        settings.update(overrides)
        return lora_run_config(tiny_base, checksum, dict(task), list(eval_points), eval_n, **settings)

    return make
