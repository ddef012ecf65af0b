"""Crashes never cost correctness: (a) a base run killed with SIGKILL resumes from its checkpoint to
the weights of an uninterrupted run; (b) an interrupted or tampered LoRA run is never taken for a
finished one, and is recomputed; (c) an atomic write that fails leaves the old file and no temp file."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import helpers.io
from helpers import lora, training
from helpers.bases import train_base_dir
from helpers.training import load_checkpoint
from helpers.io import atomic_write_bytes, atomic_write_json, atomic_write_text, read_json
from helpers.lora import lora_run, train_lora_run
from helpers.paths import REPO_ROOT
from helpers.profiles import get_profile

from checks import strip_times, tensors_equal

# ----------------------------------------------------------------------------- (a) base run, SIGKILL
STEPS = 150
LONGER = {"base": {"recipe": {"steps": STEPS, "checkpoint_every": 10, "eval_every": 50}}}
TRAIN_SCRIPT = """
import json, sys
from pathlib import Path
import torch
torch.set_num_threads(1)
from helpers.bases import train_base_dir
from helpers.profiles import get_profile
train_base_dir("hashhop", get_profile("smoke", json.loads(sys.argv[1])), Path(sys.argv[2]), progress=False,
               checkpoint_dir=Path(sys.argv[3]))
"""


def test_killed_base_run_resumes_to_identical_weights(tmp_path):
    out, ckpt = tmp_path / "killed" / "model", tmp_path / "killed" / "checkpoint"
    log = open(tmp_path / "child.log", "w")
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    child = subprocess.Popen([sys.executable, "-c", TRAIN_SCRIPT, json.dumps(LONGER), str(out), str(ckpt)],
                             cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 120
        while not (ckpt / "state.json").exists():
            assert child.poll() is None, f"training exited before its first checkpoint:\n{(tmp_path / 'child.log').read_text()}"
            assert time.time() < deadline, "no checkpoint within 120 s"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        log.close()
    assert child.returncode == -signal.SIGKILL
    killed_at = read_json(ckpt / "state.json")["step"]
    assert 0 < killed_at < STEPS
    assert not out.exists()  # a killed run leaves no model where a finished one is expected

    profile = get_profile("smoke", LONGER)
    resumed = train_base_dir("hashhop", profile, out, progress=False, checkpoint_dir=ckpt)
    straight = train_base_dir("hashhop", profile, tmp_path / "straight" / "model", progress=False)
    assert resumed is not None and straight is not None
    assert resumed["curve"][-1]["step"] == STEPS
    assert (out / "model.safetensors").read_bytes() == (tmp_path / "straight" / "model" / "model.safetensors").read_bytes()
    tensors_equal(out / "model.safetensors", tmp_path / "straight" / "model" / "model.safetensors")
    assert strip_times(resumed["curve"]) == strip_times(straight["curve"])


def test_checkpoint_interrupted_mid_write_is_not_loaded(tmp_path, monkeypatch, tiny_base):
    """``state.json`` goes first and comes back last: a crash inside a checkpoint write leaves no
    checkpoint (training restarts) rather than a half-written one, and the result is unchanged."""
    ckpt, out = tmp_path / "checkpoint", tmp_path / "model"
    real_save_file, calls = training.save_file, []

    def crash_on_second_checkpoint(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed while writing the optimizer state")
        return real_save_file(*args, **kwargs)

    monkeypatch.setattr(training, "save_file", crash_on_second_checkpoint)
    with pytest.raises(KeyboardInterrupt):
        train_base_dir("hashhop", get_profile("smoke"), out, progress=False, checkpoint_dir=ckpt)
    monkeypatch.setattr(training, "save_file", real_save_file)
    assert (ckpt / "model.safetensors").exists() and not (ckpt / "state.json").exists()
    assert load_checkpoint(ckpt, None, None) is None
    assert not out.exists()
    assert train_base_dir("hashhop", get_profile("smoke"), out, progress=False, checkpoint_dir=ckpt) is not None
    # the smoke profile's tiny_base has the same config: the same weights
    assert (out / "model.safetensors").read_bytes() == (tiny_base / "model.safetensors").read_bytes()


# ----------------------------------------------------------------------------- (b) LoRA runs
def adapter_bytes(result: dict) -> bytes:
    return (Path(result["adapter_dir"]) / "adapter_model.safetensors").read_bytes()


@pytest.fixture(scope="module")
def reference(tmp_path_factory, lora_config):
    """One finished, untouched run to compare against."""
    return train_lora_run(lora_config(), root=tmp_path_factory.mktemp("reference"), progress=False)


def test_interrupted_lora_run_is_not_finished(tmp_path, monkeypatch, lora_config, reference):
    """Killed after the adapter is written but before result.json: never loaded as finished."""
    config = lora_config()
    run = lora_run(tmp_path, config)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed during evaluation")

    monkeypatch.setattr(lora, "answers_table", killed)
    with pytest.raises(KeyboardInterrupt):
        train_lora_run(config, root=tmp_path, progress=False)
    monkeypatch.undo()
    assert (run.dir / "adapter" / "adapter_model.safetensors").exists()
    assert not run.result_file.exists()
    assert run.finished() is None

    again = train_lora_run(config, root=tmp_path, progress=False)
    assert again["cached"] is False
    assert run.finished() is not None
    assert adapter_bytes(again) == adapter_bytes(reference)
    assert again["accuracy"] == reference["accuracy"]
    assert train_lora_run(config, root=tmp_path, progress=False)["cached"] is True


def test_lora_run_killed_after_checkpoint_resumes_identically(tmp_path, monkeypatch, lora_config):
    """A run stopped right after its step-100 checkpoint resumes there and ends where an
    uninterrupted run ends."""
    config = lora_config(steps=110)
    real_save, real_load, resumed_at = lora._save_training_state, lora._load_training_state, []

    def save_then_die(*args, **kwargs):
        real_save(*args, **kwargs)
        raise KeyboardInterrupt("killed after the checkpoint")

    def load_and_record(*args, **kwargs):
        resumed_at.append(real_load(*args, **kwargs))
        return resumed_at[-1]

    monkeypatch.setattr(lora, "_save_training_state", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train_lora_run(config, root=tmp_path / "killed", progress=False)
    run = lora_run(tmp_path / "killed", config)
    assert read_json(run.dir / "progress.json") == {"step": 100}
    assert run.finished() is None
    monkeypatch.setattr(lora, "_save_training_state", real_save)
    monkeypatch.setattr(lora, "_load_training_state", load_and_record)
    resumed = train_lora_run(config, root=tmp_path / "killed", progress=False)
    assert resumed_at == [100]
    straight = train_lora_run(config, root=tmp_path / "straight", progress=False)
    assert resumed_at == [100, 0]
    assert adapter_bytes(resumed) == adapter_bytes(straight)
    assert resumed["accuracy"] == straight["accuracy"]


def _flip_adapter_byte(run_dir: Path):
    path = run_dir / "adapter" / "adapter_model.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def _edit_adapter_config(run_dir: Path):
    path = run_dir / "adapter" / "adapter_config.json"
    cfg = json.loads(path.read_text())
    cfg["lora_alpha"] = 99.0
    path.write_text(json.dumps(cfg))


def _delete_adapter(run_dir: Path):
    (run_dir / "adapter" / "adapter_model.safetensors").unlink()


def _edit_result(change):
    def tamper(run_dir: Path):
        result = read_json(run_dir / "result.json")
        change(result)
        (run_dir / "result.json").write_text(json.dumps(result))
    return tamper


def _truncate_result(run_dir: Path):
    path = run_dir / "result.json"
    path.write_bytes(path.read_bytes()[:40])


TAMPER = {
    "adapter-weights-changed": _flip_adapter_byte,
    "adapter-config-edited": _edit_adapter_config,
    "adapter-deleted": _delete_adapter,
    "recorded-config-edited": _edit_result(lambda r: r["config"].update(rank=4)),
    "recorded-config-hash-edited": _edit_result(lambda r: r.update(config_hash="0" * 16)),
    "recorded-checksum-edited": _edit_result(lambda r: r["files"].update({"adapter/adapter_config.json": "0" * 64})),
    "result-truncated": _truncate_result,
}


@pytest.mark.parametrize("name", sorted(TAMPER))
def test_tampered_run_is_recomputed(tmp_path, lora_config, reference, name):
    config = lora_config()
    first = train_lora_run(config, root=tmp_path, progress=False)
    run = lora_run(tmp_path, config)
    assert run.finished() is not None
    TAMPER[name](run.dir)
    assert run.finished() is None
    again = train_lora_run(config, root=tmp_path, progress=False)
    assert again["cached"] is False  # recomputed, not reused
    assert adapter_bytes(again) == adapter_bytes(first) == adapter_bytes(reference)
    assert again["accuracy"] == reference["accuracy"]
    assert run.finished() is not None


def test_changed_config_is_not_reused(tmp_path, lora_config):
    config = lora_config()
    train_lora_run(config, root=tmp_path, progress=False)
    edited = dict(config, lr=2e-3)
    assert lora_run(tmp_path, edited).dir != lora_run(tmp_path, config).dir
    assert lora_run(tmp_path, edited).finished() is None
    # a finished run's result.json copied into another config's folder is not taken either
    other = lora_run(tmp_path, edited)
    other.dir.mkdir(parents=True)
    (other.dir / "result.json").write_bytes(lora_run(tmp_path, config).result_file.read_bytes())
    assert other.finished() is None
    assert train_lora_run(edited, root=tmp_path, progress=False)["cached"] is False


# ----------------------------------------------------------------------------- (c) atomic writes
def _fail_fsync(fd):
    raise OSError("disk full (simulated)")


class _HalfWriter:
    """A file object that writes half of what it is given, then fails."""

    def __init__(self, fh):
        self.fh = fh

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()
        return False

    def write(self, data):
        self.fh.write(data[: len(data) // 2])
        self.fh.flush()
        raise OSError("killed mid-write (simulated)")


def _half_fdopen(real):
    return lambda fd, mode: _HalfWriter(real(fd, mode))


def _fail_replace(src, dst):
    raise KeyboardInterrupt("killed before the rename (simulated)")


FAILURES = {
    "write-half-then-fail": ("fdopen", _half_fdopen(os.fdopen), OSError),
    "fsync-fails": ("fsync", _fail_fsync, OSError),
    "killed-before-rename": ("replace", _fail_replace, KeyboardInterrupt),
}


@pytest.mark.parametrize("name", sorted(FAILURES))
@pytest.mark.parametrize("writer", ["bytes", "text", "json"])
def test_failed_atomic_write_keeps_old_file(tmp_path, monkeypatch, name, writer):
    target = tmp_path / "result.json"
    target.write_text('{"old": true}\n')
    attr, replacement, error = FAILURES[name]
    monkeypatch.setattr(helpers.io.os, attr, replacement)
    write = {"bytes": lambda: atomic_write_bytes(target, b'{"new": 1}' * 1000),
             "text": lambda: atomic_write_text(target, '{"new": 1}' * 1000),
             "json": lambda: atomic_write_json(target, {"new": list(range(1000))})}[writer]
    with pytest.raises(error):
        write()
    monkeypatch.undo()
    assert target.read_text() == '{"old": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]  # no temp file left


def test_failed_atomic_write_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(helpers.io.os, "fsync", _fail_fsync)
    with pytest.raises(OSError):
        atomic_write_text(tmp_path / "new.txt", "x")
    assert list(tmp_path.iterdir()) == []


def test_unserialisable_json_keeps_old_file(tmp_path):
    target = tmp_path / "result.json"
    target.write_text("old")
    with pytest.raises(TypeError):
        atomic_write_json(target, {"model": object()})
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["result.json"]
