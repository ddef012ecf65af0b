"""Same config and seed, same bytes: exported datasets across processes, and on CPU the trained
weights and metrics of a base run and of a LoRA run. Every results file says what produced it:
config, seed, package versions, git commit (``runs.provenance()``)."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

from helpers.bases import base_config, train_base_dir
from helpers.io import read_json
from helpers.lora import lora_run, train_lora_run
from helpers.paths import REPO_ROOT
from helpers.profiles import get_profile
from checks import assert_provenance, strip_times, tensors_equal  # noqa: F401

N_EXPORT = 300


# ----------------------------------------------------------------------------- exported datasets
def _export(out: Path, task: str, seed: int, cwd: Path, hash_seed: str) -> bytes:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    r = subprocess.run([sys.executable, "-m", "helpers.tasks", task, "--n", str(N_EXPORT), "--seed", str(seed),
                        "--out", str(out)], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return out.read_bytes()


@pytest.mark.parametrize("task", ["hashhop", "hashchain"])
def test_export_identical_across_processes(tmp_path, task):
    """Two processes with different string-hash seeds and working directories write the same bytes
    (no set or dict ordering leaks into the samples); another seed writes different bytes."""
    a = _export(tmp_path / "a.jsonl", task, 11, REPO_ROOT, "0")
    b = _export(tmp_path / "b.jsonl", task, 11, tmp_path, "12345")
    c = _export(tmp_path / "c.jsonl", task, 12, REPO_ROOT, "0")
    assert len(a.splitlines()) == N_EXPORT
    assert hashlib.sha256(a).hexdigest() == hashlib.sha256(b).hexdigest()
    assert a != c


# ----------------------------------------------------------------------------- base model
@pytest.fixture(scope="module")
def second_base(tmp_path_factory):
    """The tiny base trained again, in another folder and without checkpoints."""
    out = tmp_path_factory.mktemp("second_base") / "model"
    info = train_base_dir("hashhop", get_profile("smoke"), out, progress=False)
    assert info is not None
    return out


def test_base_weights_identical(tiny_base, second_base):
    a, b = tiny_base / "model.safetensors", second_base / "model.safetensors"
    assert a.read_bytes() == b.read_bytes()
    tensors_equal(a, b)
    for name in ("config.json", "tokenizer.json"):
        assert (tiny_base / name).read_bytes() == (second_base / name).read_bytes(), name


def test_base_metrics_identical(tiny_base, second_base):
    a, b = read_json(tiny_base / "base_info.json"), read_json(second_base / "base_info.json")
    assert len(a["curve"]) >= 2  # more than one evaluation point compared
    assert strip_times(a["curve"]) == strip_times(b["curve"])
    assert a["sha256"] == b["sha256"]


def test_base_info_records_config_seed_provenance(tiny_base):
    info = read_json(tiny_base / "base_info.json")
    profile = get_profile("smoke")
    assert info["config"] == base_config("hashhop", profile)
    assert info["seed"] == profile["base"]["recipe"]["seed"]
    assert_provenance(info)


# ----------------------------------------------------------------------------- LoRA run
def test_lora_run_identical(tmp_path, lora_config):
    config = lora_config()
    one = train_lora_run(config, root=tmp_path / "one", progress=False)
    two = train_lora_run(config, root=tmp_path / "two", progress=False)
    assert not one["cached"] and not two["cached"]
    assert Path(one["run_dir"]).name == Path(two["run_dir"]).name  # same config, same hash
    a = Path(one["adapter_dir"]) / "adapter_model.safetensors"
    b = Path(two["adapter_dir"]) / "adapter_model.safetensors"
    assert a.read_bytes() == b.read_bytes()
    tensors_equal(a, b)
    trained = load_file(str(a))
    assert any(k.endswith("lora_B.weight") and v.abs().sum() > 0 for k, v in trained.items())  # it did train
    assert one["accuracy"] == two["accuracy"]
    assert one["final_loss"] == two["final_loss"]

    # the check is not vacuous: another seed gives other weights
    other = train_lora_run(dict(config, seed=1), root=tmp_path / "one", progress=False)
    assert (Path(other["adapter_dir"]) / "adapter_model.safetensors").read_bytes() != a.read_bytes()


def test_lora_result_records_config_seed_provenance(tmp_path, lora_config):
    config = lora_config(seed=3)
    result = train_lora_run(config, root=tmp_path, progress=False)
    stored = read_json(Path(result["run_dir"]) / "result.json")
    assert stored["config"] == config and stored["config"]["seed"] == 3
    assert stored["config_hash"] == lora_run(tmp_path, config).hash
    assert set(stored["files"]) == {"adapter/adapter_model.safetensors", "adapter/adapter_config.json", "answers.json"}
    assert_provenance(stored)
