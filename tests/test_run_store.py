"""The committed LoRA runs (``helpers.run_store``): a run in the store is loaded instead of trained, found by
its config alone, refused when a file is damaged or the config differs, ignored under REPRO_RETRAIN=1; and
the committed store itself holds every run of notebooks 03-05 in the small profile, whose stored answers are
what its adapters answer."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from helpers import lora, run_store
from helpers.errors import Refused
from helpers.io import config_hash, read_json
from helpers.lora import train_lora_run
from helpers.paths import REPO_ROOT


@pytest.fixture
def stored(tmp_path, monkeypatch, lora_config):
    """A tiny run trained into one run cache and published into a temporary store."""
    store = tmp_path / "store"
    monkeypatch.setattr(run_store, "STORE", store)
    monkeypatch.delenv("REPRO_RETRAIN", raising=False)
    config = lora_config(steps=3, seed=7, snapshots=[2])
    trained = train_lora_run(config, root=tmp_path / "cache-a", progress=False)
    target = run_store.publish(trained)
    return config, trained, target


def test_stored_run_is_loaded_not_trained(tmp_path, stored, monkeypatch):
    config, trained, target = stored
    assert target == store_folder(tmp_path, config)
    assert sorted(p.name for p in target.iterdir()) == ["adapter", "answers.json", "result.json", "snapshots"]  # no checkpoints
    for adapter in (target / "adapter", target / "snapshots" / "step-2"):  # loadable, and no machine's path in them
        assert sorted(p.name for p in adapter.iterdir()) == ["adapter_config.json", "adapter_model.safetensors"]
        assert read_json(adapter / "adapter_config.json")["base_model_name_or_path"] == config["base"]

    def no_training(*args, **kwargs):
        raise AssertionError("trained although the store holds the run")

    monkeypatch.setattr(lora, "load_base", no_training)
    got = train_lora_run(config, root=tmp_path / "cache-b", progress=False)  # an empty run cache
    assert got["stored"] is True and got["cached"] is True
    assert got["accuracy"] == trained["accuracy"]
    assert got["adapter_dir"] == str(target / "adapter")
    assert not (tmp_path / "cache-b").exists()  # nothing written to the run cache


def store_folder(tmp_path, config):
    return tmp_path / "store" / config_hash(config)


def test_damaged_or_other_config_is_not_found(stored):
    config, _, target = stored
    assert run_store.find(dict(config, seed=8)) is None  # another config
    assert run_store.find(config) is not None
    weights = target / "adapter" / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    assert run_store.find(config) is None
    assert run_store.missing([config]) == [config]


def test_a_copy_cut_short_is_not_found(stored):
    config, _, target = stored
    (target / "result.json").unlink()  # publish writes it last
    assert run_store.find(config) is None


def test_retrain_ignores_the_store(tmp_path, stored, monkeypatch):
    config, trained, _ = stored
    monkeypatch.setenv("REPRO_RETRAIN", "1")
    got = train_lora_run(config, root=tmp_path / "cache-c", progress=False)
    assert got["stored"] is False and got["cached"] is False
    assert got["accuracy"] == trained["accuracy"]  # same config, same thread count: the same run
    monkeypatch.setenv("REPRO_RETRAIN", "yes")
    with pytest.raises(Refused, match="REPRO_RETRAIN: allowed values are 0 and 1"):
        run_store.retrain()


def test_cached_runs_and_stale(tmp_path, stored, lora_config):
    config, trained, target = stored
    assert run_store.cached_runs(tmp_path / "cache-a") == {config_hash(config): Path(trained["run_dir"])}
    other = dict(config, seed=9)
    assert run_store.stale([other]) == [target]  # same base, no longer asked for
    assert run_store.stale([dict(other, base="elsewhere")]) == []  # another profile's base


# ----------------------------------------------------------------------------- the committed store
@pytest.fixture(scope="module")
def small_configs():
    from helpers.profiles import get_profile
    from helpers.sweep import notebook_configs
    return notebook_configs(get_profile("small"))


def test_committed_store_holds_every_small_run(small_configs):
    """make figures starts from these: every run notebooks 03-05 ask for is there, intact, and nothing else."""
    absent = run_store.missing(small_configs)
    assert not absent, f"{len(absent)} of {len(small_configs)} runs missing from models/lora-runs/"
    assert run_store.stale(small_configs) == []
    for config in small_configs:
        result = read_json(run_store.folder(config) / "result.json")
        assert result["environment"]["torch_threads"] == 1 and "device" not in result["environment"]
    for path in run_store.STORE.rglob("*.json"):  # no machine's path in the committed files
        assert "/work/" not in path.read_text() and str(REPO_ROOT) not in path.read_text(), path


@pytest.mark.parametrize("kind", ["planning", "reasoning"])
def test_committed_answers_are_the_adapters_answers(small_configs, kind):
    """The greedy answers a stored run carries are what its stored adapter answers now (one thread, as trained)."""
    from helpers.diagnostics import answer_points
    from helpers.experiments import KINDS
    from helpers.lora import _task, load_adapter

    config = min((c for c in small_configs if c["task"]["task"] == KINDS[kind] and c.get("rank")),
                 key=lambda c: (c["rank"], c["seed"]))
    folder = run_store.folder(config)
    stored = json.loads((folder / "answers.json").read_text())
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model, tokenizer = load_adapter(config["base"], str(folder / "adapter"))
        points = config["eval_points"][:2]
        got = answer_points(model, tokenizer, _task(config["task"]), points, config["eval_n"])
    finally:
        torch.set_num_threads(threads)
    for p in points:
        same = sum(a == b for a, b in zip(got[p]["answers"], stored["answers"][str(p)]))
        assert same >= 0.99 * config["eval_n"], (p, same)


def test_a_committed_run_retrains_to_its_stored_answers(small_configs, tmp_path, monkeypatch):
    """The committed runs are what this code trains: the cheapest of them (a planning run of notebook 05's grid,
    600 steps, about a minute on one thread) trained again here gives the stored answers. Bytes may differ in the
    last bits between CPU kinds (AVX-512 or not), so the answers are compared, not the weights."""
    config = min((c for c in small_configs if c["task"]["task"] == "hashhop" and c.get("rank") and c["seed"] == 0
                  and c.get("targets", "task") == "task" and not c.get("snapshots")
                  and c["target_modules"] == ["mlp.c_proj"]), key=lambda c: c["rank"])
    stored = run_store.find(config)
    assert stored is not None
    monkeypatch.setenv("REPRO_RETRAIN", "1")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the notebooks' workers train
    try:
        got = train_lora_run(config, root=tmp_path, progress=False)
    finally:
        torch.set_num_threads(threads)
    assert got["stored"] is False and got["cached"] is False
    again = json.loads((Path(got["run_dir"]) / "answers.json").read_text())["answers"]
    committed = json.loads((run_store.folder(config) / "answers.json").read_text())["answers"]
    for point, answers in committed.items():
        same = sum(a == b for a, b in zip(answers, again[point]))
        assert same >= 0.98 * len(answers), (point, same)
    for mine, theirs in zip(got["accuracy"], stored["accuracy"]):
        assert abs(mine["accuracy"] - theirs["accuracy"]) <= 0.02, (mine, theirs)
