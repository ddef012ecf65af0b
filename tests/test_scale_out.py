"""Scale-out: one LoRA job runs data-parallel over 2 CPU processes under torchrun (the launcher a GPU
node uses with N GPUs), and the sweep's job files run one process per job (what a cluster array does)."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.io import read_json

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("torchrun", path=str(Path(sys.executable).parent)) is None, reason="torchrun not installed")
def test_lora_job_runs_on_two_processes_under_torchrun(tmp_path, lora_config):
    config = lora_config(steps=20)
    job = tmp_path / "job.json"
    job.write_text(json.dumps(config))
    env = dict(os.environ, REPRO_RUNS=str(tmp_path / "runs"), OMP_NUM_THREADS="1")
    torchrun = str(Path(sys.executable).parent / "torchrun")
    out = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", "-m", "helpers.lora", "--config", str(job)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    reports = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert len(reports) == 1 and reports[0]["cached"] is False  # only the main process reports
    results = list((tmp_path / "runs" / "lora").glob("*/result.json"))
    assert len(results) == 1
    result = read_json(results[0])
    assert result["config"] == json.loads(json.dumps(config)) and len(result["accuracy"]) == 2
    assert result["environment"] == {"torch_threads": 1, "processes": 2, "activation": "fused-gelu"}  # not reused by a one-process run
    assert (results[0].parent / "adapter" / "adapter_model.safetensors").exists()


def test_job_files_run_one_process_per_job(tmp_path, lora_config):
    from helpers.sweep import write_job_files
    configs = [lora_config(rank=2, steps=4), lora_config(rank=3, steps=4)]
    env = dict(os.environ, REPRO_RUNS=str(tmp_path / "runs"), OMP_NUM_THREADS="1")
    for command in write_job_files(configs, tmp_path / "jobs"):
        out = subprocess.run([sys.executable, *command.split()[1:]], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
    assert len(list((tmp_path / "runs" / "lora").glob("*/result.json"))) == 2
