"""Bad inputs fail fast, clearly and cleanly, on every surface: the dataset export command, the rank
command, the LoRA/base/sanity commands, the helpers' public functions and the notebooks' parameters
(through papermill).

Each row of ``CASES`` asserts
- the error: exception type, or exit status 2 with a one-message error and no traceback;
- the message names the parameter or the problem (a regular expression);
- it fails before any training: no run or model folder appears (no wall-clock limit: CPUs differ);
- no partial output: the output folder the call was pointed at stays empty.

docs/validation.md is the readable version of this table."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
import torch
from safetensors.torch import save_file

from helpers import experiments
from helpers.bases import base_config, get_base, train_base_dir
from helpers.lora import add_lora, load_adapter, train_lora_run, validate_lora
from helpers.lora import lora_run as lora_run_of
from helpers.model import build_model
from helpers.paths import FIGURES, REPO_ROOT, RESULTS, RUNS
from helpers.profiles import get_profile
from helpers.rank import AdapterError

from helpers.sweep import run_jobs
from helpers.tasks import (PAPER_ALPHABET, HashChainConfig, HashHopConfig, TaskConfigError, config_from_dict,
                           generate, read_jsonl)
from helpers.tokenizer import build_tokenizer, tokenizer_from_profile



@dataclass
class Ctx:
    tmp: Path
    request: Any
    monkeypatch: Any

    @property
    def out(self) -> Path:  # every output a case asks for goes here; it must stay empty
        return self.tmp / "out"

    @property
    def runs(self) -> Path:  # run cache root for LoRA cases; no run folder may appear
        return self.tmp / "runs"

    @property
    def inputs(self) -> Path:
        folder = self.tmp / "in"
        folder.mkdir(exist_ok=True)
        return folder

    def fixture(self, name: str):
        return self.request.getfixturevalue(name)


@dataclass
class Case:
    id: str
    call: Callable[[Ctx], Any]  # raises (in-process) or returns a CompletedProcess (command)
    error: type | int           # the exception type, or the command's exit status
    match: str                  # what the message must say
    needs: tuple = ()           # fixtures built before the clock starts
    prepare: Callable[[Ctx], Any] | None = None  # inputs built before the clock starts (result: ctx.prepared)


# ----------------------------------------------------------------------------- commands
def command(module: str, *args) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def export(*args):
    """``python -m helpers.tasks TASK ...`` with --n/--seed/--out filled in unless given."""
    task, *rest = args
    defaults = {"--n": 5, "--seed": 0}

    def run(ctx):
        full = [task, *rest]
        for option, value in defaults.items():
            if option not in rest:
                full += [option, value]
        return command("helpers.tasks", *full, "--out", ctx.out / "samples.jsonl")
    return run


def rank_cli(*args):
    return lambda ctx: command("helpers.rank", *[a(ctx) if callable(a) else a for a in args],
                               "--json", "--out", ctx.out / "rank.json")


def _adapter_config() -> dict:
    return {"peft_type": "LORA", "r": 2, "lora_alpha": 4, "fan_in_fan_out": True, "target_modules": ["c_proj"]}


def garbage_adapter(ctx) -> Path:
    folder = ctx.inputs / "garbage_adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps(_adapter_config()))
    (folder / "adapter_model.safetensors").write_bytes(b"this is not a safetensors file" * 10)
    return folder


def truncated_adapter(ctx) -> Path:
    folder = ctx.inputs / "truncated_adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps(_adapter_config()))
    prefix = "base_model.model.transformer.h.0.mlp.c_proj"
    save_file({f"{prefix}.lora_A.weight": torch.ones(2, 128), f"{prefix}.lora_B.weight": torch.ones(32, 2)},
              str(folder / "adapter_model.safetensors"))
    data = (folder / "adapter_model.safetensors").read_bytes()
    (folder / "adapter_model.safetensors").write_bytes(data[: len(data) // 2])
    return folder


def broken_json_adapter(ctx) -> Path:
    folder = ctx.inputs / "broken_json_adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text('{"peft_type": "LORA", "r": ')
    save_file({"x": torch.ones(1)}, str(folder / "adapter_model.safetensors"))
    return folder


def lora_cli_config(ctx, **changes) -> Path:
    config = dict(ctx.fixture("lora_config")(), **changes)
    path = ctx.inputs / "job.json"
    path.write_text(json.dumps(config))
    ctx.repo_run = lora_run_of(RUNS, config).dir  # the repo's run cache must not get this run
    return path


def lora_job(**changes):
    """``python -m helpers.lora --config JOB`` on the tiny config with ``changes`` (callables get ctx)."""
    def run(ctx):
        resolved = {k: v(ctx) if callable(v) else v for k, v in changes.items()}
        return command("helpers.lora", "--config", lora_cli_config(ctx, **resolved))
    return run


def empty_folder(ctx) -> str:
    folder = ctx.inputs / "not_a_model"
    folder.mkdir()
    (folder / "notes.txt").write_text("no model here")
    return str(folder)


def changed_base(ctx) -> str:
    """A copy of the tiny base whose weights changed after the job file recorded their checksum."""
    import shutil
    folder = ctx.inputs / "changed_base"
    shutil.copytree(ctx.fixture("tiny_base"), folder)
    data = bytearray((folder / "model.safetensors").read_bytes())
    data[-1] ^= 1
    (folder / "model.safetensors").write_bytes(bytes(data))
    return str(folder)


def other_alphabet_task(ctx) -> dict:
    """The planning task with hashes the tiny base's tokenizer was not built for (it knows a-h)."""
    from helpers.experiments import task_dict
    return dict(task_dict(get_profile("smoke"), "planning"), alphabet="stuvwxyz")


def a_file(ctx) -> Path:
    path = ctx.inputs / "a_file"
    path.write_text("x")
    return path


# ----------------------------------------------------------------------------- helpers' functions
def tiny_model():
    profile = get_profile("smoke")
    return build_model(profile["model"], tokenizer_from_profile(profile["tokenizer"]), seed=0)


def lora_run(ctx, **changes):
    """``train_lora_run`` on a valid tiny config with ``changes`` applied afterwards (as a job file
    edited by hand would be), into the case's own run root."""
    config = dict(ctx.fixture("lora_config")(), **changes)
    return train_lora_run(config, root=ctx.runs, progress=False)


def make_lora_config(ctx, **overrides):
    return ctx.fixture("lora_config")(**overrides)


def base_run(ctx, overrides: dict):
    profile = get_profile("smoke", overrides)
    return train_base_dir("hashhop", profile, ctx.out / "model", progress=False, checkpoint_dir=ctx.out / "checkpoint",
                          runs_root=ctx.out / "runs")


def truncated_jsonl(ctx) -> Path:
    path = ctx.inputs / "samples.jsonl"
    result = command("helpers.tasks", "hashhop", "--n", 4, "--seed", 0, "--out", path)
    assert result.returncode == 0, result.stderr
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 5 // 8])  # cut inside line 3
    return path


def run_configs_checks_before_loading_a_base(ctx, **kwargs):
    def no_base(*args, **kw):
        raise AssertionError("a base was loaded before the settings were checked")
    ctx.monkeypatch.setattr(experiments, "base_for", no_base)
    return experiments.run_configs(get_profile("smoke"), **kwargs)


def papermill(notebook: str, **parameters):
    def run(ctx):
        import papermill as pm
        ctx.out.mkdir()
        output = ctx.out / "executed.ipynb"
        try:
            pm.execute_notebook(str(REPO_ROOT / "notebooks" / notebook), str(output), parameters=parameters,
                                kernel_name="python3", cwd=str(REPO_ROOT / "notebooks"), progress_bar=False)
        finally:
            output.unlink(missing_ok=True)  # papermill's record of the failed run, not an output of the notebook
    return run


PM_ERROR = "papermill"  # marker: a PapermillExecutionError whose ename/evalue are matched

# ----------------------------------------------------------------------------- the table
CASES = [
    # --- dataset export command
    Case("export: zero hops", export("hashhop", "--min-hops", 0), 2, r"min_hops: must be an integer >= 1, got 0"),
    Case("export: more hops than links", export("hashhop", "--chain-length", 5, "--max-hops", 5), 2,
         r"max_hops: .*5 hashes has 4 links.*got 5"),
    Case("export: shortest chain not unique", export("hashchain", "--chain-lengths", "3,3"), 2,
         r"chain_lengths: .*shortest chain is unique"),
    Case("export: hash length too short", export("hashhop", "--hash-length", 1, "--alphabet", "abcdefgh"), 2,
         r"hash_length: 8\^1 = 8 distinct hashes, but a prompt needs 20 unique hashes"),
    Case("export: non-integer --n", export("hashhop", "--n", "2.5"), 2, r"argument --n: expected a whole number >= 0, got '2.5'"),
    Case("export: non-integer --max-hops", export("hashhop", "--max-hops", "three"), 2, r"argument --max-hops: invalid int"),
    # --- rank command
    Case("rank: missing adapter directory", rank_cli(lambda ctx: ctx.inputs / "no_such_adapter"), 2,
         r"no_such_adapter: no such adapter directory"),
    Case("rank: corrupt safetensors", rank_cli(garbage_adapter), 2,
         r"garbage_adapter/adapter_model\.safetensors: cannot read safetensors file"),  # reading safetensors imports torch
    Case("rank: truncated safetensors", rank_cli(truncated_adapter), 2,
         r"truncated_adapter/adapter_model\.safetensors: cannot read safetensors file"),  # reading safetensors imports torch
    Case("rank: unreadable adapter_config.json", rank_cli(broken_json_adapter), 2, r"adapter_config\.json: unreadable JSON"),
    Case("rank: non-numeric --thresholds", rank_cli(lambda ctx: ctx.inputs, "--thresholds", "abc"), 2,
         r"argument --thresholds: not a comma-separated list of numbers"),
    Case("rank: threshold out of (0, 1)", rank_cli(lambda ctx: ctx.inputs, "--thresholds", "1.5"), 2,
         r"argument --thresholds: thresholds must be numbers in \(0, 1\)"),
    # --- the other commands
    Case("lora command: rank 0 in the job file",
         lambda ctx: command("helpers.lora", "--config", lora_cli_config(ctx, rank=0)), 2,
         r"--config .*job\.json: rank: must be an integer >= 1, got 0", needs=("lora_config",)),
    Case("lora command: unknown key in the job file",
         lambda ctx: command("helpers.lora", "--config", lora_cli_config(ctx, ranks=[2])), 2,
         r"lora: unknown settings \['ranks'\]", needs=("lora_config",)),
    Case("bases command: unknown profile", lambda ctx: command("helpers.bases", "--profile", "nonsense", "--retrain"), 2,
         r"PROFILE: unknown profile 'nonsense'; allowed values are \['paper', 'small', 'smoke'\]"),
    Case("sanity command: --n 0", lambda ctx: command("helpers.sanity", "--n", 0, "--out", ctx.out / "s.json"), 2,
         r"argument --n: expected a whole number >= 1, got '0'"),
    Case("sanity command: unknown --task", lambda ctx: command("helpers.sanity", "--n", 5, "--task", "hashmap",
                                                                "--out", ctx.out / "s.json"), 2,
         r"argument --task: invalid choice: 'hashmap'"),
    # --- checks that need the base, in the job command: still one line, exit 2, before training
    Case("lora command: rank above the layer's width", lora_job(rank=999), 2,
         r"rank: 999 is larger than layer 'mlp\.c_proj' allows", needs=("lora_config",)),
    Case("lora command: last_n_blocks above n_layer", lora_job(last_n_blocks=9), 2,
         r"last_n_blocks: allowed values are None \(all\) or 1\.\.2, got 9", needs=("lora_config",)),
    Case("lora command: huge seed", lora_job(seed=2**70), 2, r"seed: must be an integer in 0\.\.4294967295",
         needs=("lora_config",)),
    Case("lora command: negative seed", lora_job(seed=-1), 2, r"seed: must be an integer in 0\.\.", needs=("lora_config",)),
    Case("lora command: base is a folder but no model", lora_job(base=empty_folder), 2,
         r"base: .*not_a_model is a folder but not a model \(no config\.json", needs=("lora_config",)),
    Case("lora command: base id that cannot load", lora_job(base="no-such-org/no-such-model"), 2,
         r"base: cannot load 'no-such-org/no-such-model' as a model", needs=("lora_config",)),
    Case("lora command: prompts longer than the base's positions",
         lora_job(task=lambda ctx: dict(ctx.fixture("lora_config")()["task"], chain_length=64, max_hops=3)), 2,
         r"n_positions: the base model has 256 positions", needs=("lora_config",)),
    Case("lora command: base changed since the job was written", lora_job(base=changed_base), 2,
         r"base_checksum: .*changed_base/model\.safetensors has sha256 .* but the run config records",
         needs=("lora_config",)),
    Case("lora command: hashes the tokenizer cannot encode", lora_job(task=other_alphabet_task), 2,
         r"alphabet: base .* cannot encode hash 'ss' one-to-one \(it becomes '<unk>", needs=("lora_config",)),
    Case("lora command: job file is not JSON",
         lambda ctx: command("helpers.lora", "--config", a_file(ctx)), 2, r"--config: cannot read .*a_file \(JSONDecodeError"),
    Case("lora command: job file missing",
         lambda ctx: command("helpers.lora", "--config", ctx.inputs / "none.json"), 2, r"--config: cannot read .*none\.json"),
    Case("train_lora_run: hashes the tokenizer cannot encode", lambda ctx: lora_run(ctx, task=other_alphabet_task(ctx)),
         TaskConfigError, r"alphabet: .* cannot encode hash 'ss' one-to-one", needs=("lora_config",)),
    # --- output paths, checked before the work
    Case("export: --out is a folder", lambda ctx: command("helpers.tasks", "hashhop", "--n", 2, "--seed", 0, "--out", ctx.inputs),
         2, r"argument --out: .*in is a folder; give a file path"),
    Case("export: --out -", lambda ctx: command("helpers.tasks", "hashhop", "--n", 2, "--seed", 0, "--out", "-"), 2,
         r"argument --out: '-' is not supported"),
    Case("export: --out under a regular file",
         lambda ctx: command("helpers.tasks", "hashhop", "--n", 2, "--seed", 0, "--out", a_file(ctx) / "x.jsonl"), 2,
         r"argument --out: cannot create .*a_file/x\.jsonl: .*a_file is a file, not a folder"),
    Case("export: --out not writable", lambda ctx: command("helpers.tasks", "hashhop", "--n", 2, "--seed", 0, "--out",
                                                          "/proc/no_such_dir/x.jsonl"), 2, r"argument --out: cannot write"),
    Case("sanity command: --out is a folder", lambda ctx: command("helpers.sanity", "--n", 5, "--out", ctx.inputs), 2,
         r"argument --out: .* is a folder"),
    Case("bench command: --out under a regular file",
         lambda ctx: command("tools.bench", "--quick", "--out", a_file(ctx) / "b.json"), 2,
         r"argument --out: cannot create .*a_file is a file"),
    Case("bench command: --threads 0", lambda ctx: command("tools.bench", "--quick", "--threads", 0, "--out",
                                                          ctx.out / "b.json"), 2, r"argument --threads: expected a whole number >= 1"),
    Case("bench command: --device tpu", lambda ctx: command("tools.bench", "--device", "tpu", "--out", ctx.out / "b.json"),
         2, r"argument --device: invalid choice: 'tpu'"),
    Case("rank command: --out is a folder", lambda ctx: command("helpers.rank", ctx.inputs, "--out", ctx.inputs), 2,
         r"argument --out: .* is a folder"),
    Case("sweep command: --jobs-dir is a file",
         lambda ctx: command("helpers.sweep", "--profile", "smoke", "--jobs-dir", a_file(ctx)), 2,
         r"--jobs-dir: .*a_file is a file, not a folder"),
    Case("report command: a profile without results", lambda ctx: command("helpers.report", "--profile", "smal"), 2,
         r"--profile: no results/smal/ folder; allowed values here are"),
    Case("clean_notebook command: not a notebook",
         lambda ctx: command("helpers.clean_notebook", a_file(ctx)), 2, r"NOTEBOOK: .*a_file is not a readable notebook"),
    # --- time limits
    Case("bases command: negative --time-limit", lambda ctx: command("helpers.bases", "--retrain", "--time-limit", -5), 2,
         r"argument --time-limit: expected a number of seconds > 0, got '-5'"),
    Case("bases command: NaN --time-limit", lambda ctx: command("helpers.bases", "--retrain", "--time-limit", "nan"), 2,
         r"argument --time-limit: expected a number of seconds > 0, got 'nan'"),
    Case("bases command: zero --time-limit", lambda ctx: command("helpers.bases", "--retrain", "--time-limit", 0), 2,
         r"argument --time-limit: expected a number of seconds > 0"),
    # --- OVERRIDES: types checked where the profile is built
    Case("get_profile: a number where a list is expected", lambda ctx: get_profile("small", {"lora": {"ranks": 8}}),
         TaskConfigError, r"lora\.ranks: must be a list like the profile's \[4, 16, 64\], got 8"),
    Case("get_profile: a string where a number is expected",
         lambda ctx: get_profile("small", {"lora": {"alpha_ratio": "0.5"}}), TaskConfigError,
         r"lora\.alpha_ratio: must be a number like the profile's 0\.5, got '0\.5' \(str\)"),
    Case("get_profile: a float in a list of integers", lambda ctx: get_profile("small", {"lora": {"ranks": [4, 8.5]}}),
         TaskConfigError, r"lora\.ranks\[\]: must be an integer"),
    Case("get_profile: true where an integer is expected", lambda ctx: get_profile("small", {"workers": True}),
         TaskConfigError, r"workers: must be an integer like the profile's 2, got True"),
    Case("get_profile: a string for a nullable number", lambda ctx: get_profile("small", {"ablations": {"fixed_alpha": "8"}}),
         TaskConfigError, r"ablations\.fixed_alpha: must be a number"),
    Case("get_profile: OVERRIDES text that is not JSON", lambda ctx: get_profile("small", "{lora: 1}"), TaskConfigError,
         r"OVERRIDES: not a JSON object"),
    Case("get_profile: OVERRIDES a list", lambda ctx: get_profile("small", [["lora", 1]]), TaskConfigError,
         r"OVERRIDES: must be a dict \(or a JSON object\)"),
    # --- task generators
    Case("HashHopConfig: zero hops", lambda ctx: HashHopConfig(min_hops=0), TaskConfigError, r"min_hops: must be an integer >= 1"),
    Case("HashHopConfig: negative hops", lambda ctx: HashHopConfig(min_hops=-3, max_hops=-1), TaskConfigError,
         r"min_hops: must be an integer >= 1, got -3"),
    Case("HashHopConfig: more hops than links", lambda ctx: HashHopConfig(chain_length=5, max_hops=5), TaskConfigError,
         r"max_hops: .*hops must be in 1\.\.4, got 5"),
    Case("HashHopConfig: min_hops > max_hops", lambda ctx: HashHopConfig(min_hops=4, max_hops=2), TaskConfigError,
         r"min_hops: must be <= max_hops \(2\), got 4"),
    Case("HashChainConfig: shortest not unique", lambda ctx: HashChainConfig(chain_lengths=(4, 4, 4)), TaskConfigError,
         r"chain_lengths: need at least 2 distinct .* shortest chain is unique, got \(4, 4, 4\)"),
    Case("HashChainConfig: shortest = the longest length", lambda ctx: HashChainConfig(shortest=6), TaskConfigError,
         r"shortest: must be one of chain_lengths except the largest"),
    Case("HashChainConfig: hash length too short", lambda ctx: HashChainConfig(hash_length=1, alphabet="abcdefgh"),
         TaskConfigError, r"hash_length: 8\^1 = 8 distinct hashes, but a prompt needs 21 unique hashes"),
    Case("HashHopConfig: chain longer than the hash space",
         lambda ctx: HashHopConfig(chain_length=65, max_hops=3, hash_length=2, alphabet="abcdefgh"), TaskConfigError,
         r"hash_length: 8\^2 = 64 distinct hashes, but a prompt needs 65"),
    Case("generate: negative n", lambda ctx: generate(HashHopConfig(), -1, 0), TaskConfigError, r"n: must be an integer >= 0"),
    Case("config_from_dict: unknown key", lambda ctx: config_from_dict({"task": "hashhop", "hops": 3}), TaskConfigError,
         r"hashhop: unknown settings \['hops'\]; allowed keys are"),
    Case("read_jsonl: truncated file", lambda ctx: read_jsonl(ctx.prepared), ValueError,
         r"samples\.jsonl: line 3 is not a complete sample", prepare=truncated_jsonl),
    # --- profiles and tokenizer
    Case("get_profile: unknown profile", lambda ctx: get_profile("nonsense"), TaskConfigError,
         r"PROFILE: unknown profile 'nonsense'"),
    Case("get_profile: unknown override key", lambda ctx: get_profile("smoke", {"lora": {"nope": 1}}), TaskConfigError,
         r"lora\.nope: unknown setting; allowed keys here are"),
    Case("get_profile: unknown top-level key", lambda ctx: get_profile("small", {"modle": {"n_layer": 2}}),
         TaskConfigError, r"modle: unknown setting"),
    Case("build_tokenizer: bad hash_tokens", lambda ctx: build_tokenizer(hash_tokens="bytes"), TaskConfigError,
         r"hash_tokens: allowed values are \('char', 'whole'\), got 'bytes'"),
    Case("profile: bad hash_tokens", lambda ctx: tokenizer_from_profile(
        get_profile("smoke", {"tokenizer": {"hash_tokens": "bpe"}})["tokenizer"]), TaskConfigError, r"hash_tokens: .*got 'bpe'"),
    Case("build_tokenizer: 'whole' on a huge hash space", lambda ctx: build_tokenizer(PAPER_ALPHABET, 4, "whole"),
         TaskConfigError, r"hash_tokens: 'whole' needs at most 65536 possible hashes"),
    Case("build_model: n_head does not divide n_embd", lambda ctx: build_model(
        {"n_layer": 1, "n_embd": 32, "n_head": 3, "n_positions": 64}, build_tokenizer(), 0), TaskConfigError,
         r"model\.n_head: must divide n_embd=32, got 3"),
    # --- LoRA
    Case("validate_lora: unknown target module", lambda ctx: validate_lora(tiny_model(), ["mlp.nope"], None, 2),
         TaskConfigError, r"target_modules: 'mlp\.nope' matches no linear layer.*allowed values are .*'mlp\.c_proj'"),
    Case("validate_lora: rank larger than the layer", lambda ctx: validate_lora(tiny_model(), ["mlp.c_proj"], None, 33),
         TaskConfigError, r"rank: 33 is larger than layer 'mlp\.c_proj' allows .*1\.\.32"),
    Case("validate_lora: last_n_blocks too large", lambda ctx: validate_lora(tiny_model(), ["mlp.c_proj"], 3, 2),
         TaskConfigError, r"last_n_blocks: allowed values are None \(all\) or 1\.\.2, got 3"),
    Case("add_lora: last_n_blocks 0", lambda ctx: add_lora(tiny_model(), ["mlp.c_proj"], 0, 2, 1.0), TaskConfigError,
         r"last_n_blocks: .*got 0"),
    Case("lora_run_config: unknown setting", lambda ctx: make_lora_config(ctx, rnak=4), TaskConfigError,
         r"lora: unknown settings \['rnak'\]", needs=("lora_config",)),
    Case("lora_run_config: batch_size 0", lambda ctx: make_lora_config(ctx, batch_size=0), TaskConfigError,
         r"batch_size: must be an integer >= 1, got 0", needs=("lora_config",)),
    Case("lora_run_config: eval point 0 hops", lambda ctx: make_lora_config(ctx, eval_points=[0, 1]), TaskConfigError,
         r"eval_points: 0 is not a valid hop count", needs=("lora_config",)),
    Case("train_lora_run: unknown target module", lambda ctx: lora_run(ctx, target_modules=["attn.nope"]),
         TaskConfigError, r"target_modules: 'attn\.nope' matches no linear layer", needs=("lora_config",)),
    Case("train_lora_run: rank larger than the layer", lambda ctx: lora_run(ctx, rank=64), TaskConfigError,
         r"rank: 64 is larger than layer 'mlp\.c_proj'", needs=("lora_config",)),
    Case("train_lora_run: last_n_blocks out of range", lambda ctx: lora_run(ctx, last_n_blocks=5), TaskConfigError,
         r"last_n_blocks: allowed values are None \(all\) or 1\.\.2, got 5", needs=("lora_config",)),
    Case("train_lora_run: negative lr", lambda ctx: lora_run(ctx, lr=-1e-3), TaskConfigError,
         r"lr: must be a number > 0, got -0\.001", needs=("lora_config",)),
    Case("train_lora_run: missing base directory", lambda ctx: lora_run(ctx, base=str(ctx.inputs / "no_base")),
         TaskConfigError, r"base: .*no_base is not a directory", needs=("lora_config",)),
    Case("train_lora_run: missing key", lambda ctx: train_lora_run(
        {k: v for k, v in ctx.fixture("lora_config")().items() if k != "steps"}, root=ctx.runs), TaskConfigError,
         r"config: missing keys \['steps'\]", needs=("lora_config",)),
    Case("train_lora_run: prompts longer than n_positions",
         lambda ctx: lora_run(ctx, task={"task": "hashhop", "chain_length": 64, "min_hops": 1, "max_hops": 2,
                                         "alphabet": "abcdefgh", "hash_length": 2}), TaskConfigError,
         r"n_positions: the base model has 256 positions, but the training prompts need up to \d+ tokens",
         needs=("lora_config",)),
    Case("load_adapter: missing adapter directory",
         lambda ctx: load_adapter(str(ctx.fixture("tiny_base")), str(ctx.inputs / "no_adapter")), AdapterError,
         r"no_adapter: no such adapter directory", needs=("tiny_base",)),
    Case("load_adapter: corrupt adapter", lambda ctx: load_adapter(str(ctx.fixture("tiny_base")), str(ctx.prepared)),
         AdapterError, r"adapter_model\.safetensors: cannot read safetensors file", needs=("tiny_base",),
         prepare=garbage_adapter),
    Case("run_configs: rank 0 refused before the base loads",
         lambda ctx: run_configs_checks_before_loading_a_base(ctx, kind="planning", ranks=[0], seeds=[0]),
         TaskConfigError, r"rank: must be an integer >= 1, got 0"),
    Case("run_configs: unknown kind", lambda ctx: run_configs_checks_before_loading_a_base(
        ctx, kind="planing", ranks=[2], seeds=[0]), TaskConfigError, r"kind: allowed values are \['planning', 'reasoning'\]"),
    Case("run_jobs: workers=0", lambda ctx: run_jobs([ctx.fixture("lora_config")()], workers=0), ValueError,
         r"workers: must be an integer >= 1, got 0", needs=("lora_config",)),
    # --- base models
    Case("train_base_dir: recipe steps 0", lambda ctx: base_run(ctx, {"base": {"recipe": {"steps": 0}}}),
         TaskConfigError, r"recipe\.steps: must be an integer >= 1, got 0"),
    Case("train_base_dir: negative depth queries", lambda ctx: base_run(ctx, {"base": {"recipe": {"depth_queries": -1}}}),
         TaskConfigError, r"recipe\.depth_queries: must be an integer >= 0, got -1"),
    Case("train_base_dir: negative start hop queries", lambda ctx: base_run(ctx, {"base": {"recipe": {"start_queries": -1}}}),
         TaskConfigError, r"recipe\.start_queries: must be an integer >= 0, got -1"),
    Case("train_base_dir: eval_every 0", lambda ctx: base_run(ctx, {"base": {"recipe": {"eval_every": 0}}}),
         TaskConfigError, r"recipe\.eval_every: must be an integer >= 1, got 0"),
    Case("train_base_dir: stop_when on a point never evaluated",
         lambda ctx: base_run(ctx, {"base": {"hashhop": {"eval_hops": [3, 4]}}}), TaskConfigError,
         r"stop_when: points \['1', '2'\] are not evaluated"),
    Case("train_base_dir: n_positions too small", lambda ctx: base_run(ctx, {"model": {"n_positions": 16}}),
         TaskConfigError, r"model\.n_positions: the model has 16 positions, but the evaluation prompts need up to \d+"),
    Case("train_base_dir: max_hops beyond the chain",
         lambda ctx: base_run(ctx, {"base": {"hashhop": {"task": {"max_hops": 7}}}}), TaskConfigError,
         r"max_hops: a chain of 5 hashes has 4 links"),
    Case("train_base_dir: seed beyond 2**32 - 1", lambda ctx: base_run(ctx, {"base": {"recipe": {"seed": 2**40}}}),
         TaskConfigError, r"recipe\.seed: must be an integer in 0\.\.4294967295"),
    Case("train_base_dir: negative pretraining seed", lambda ctx: base_run(ctx, {"pretrain": {"seed": -1}}),
         TaskConfigError, r"pretrain\.seed: must be an integer in 0\.\."),
    Case("train_base_dir: unknown kernels", lambda ctx: base_run(ctx, {"base": {"hashhop": {"kernels": "quick"}}}),
         TaskConfigError, r"base\.hashhop\.kernels: allowed values are \('eager', 'fast'\), got 'quick'"),
    Case("base_config: unknown task", lambda ctx: base_config("hashjump", get_profile("smoke")), TaskConfigError,
         r"task: allowed values are \('hashhop', 'hashchain'\), got 'hashjump'"),
    Case("get_base: base_source directory missing",
         lambda ctx: get_base("hashhop", get_profile("smoke", {"base_source": str(ctx.inputs / "no_base")})),
         TaskConfigError, r"base_source: .*no_base is not a directory"),
    # --- notebooks' parameters, through papermill
    Case("notebook 01: PROFILE nonsense", papermill("01_tasks.ipynb", PROFILE="nonsense"), PM_ERROR,
         r"TaskConfigError: PROFILE: unknown profile 'nonsense'; allowed values are"),
    Case("notebook 01: unknown OVERRIDES key", papermill("01_tasks.ipynb", PROFILE="smoke", OVERRIDES={"lora": {"nope": 1}}),
         PM_ERROR, r"TaskConfigError: lora\.nope: unknown setting"),
    Case("notebook 01: OVERRIDES of the wrong type", papermill("01_tasks.ipynb", PROFILE="smoke", OVERRIDES={"lora": {"ranks": 8}}),
         PM_ERROR, r"TaskConfigError: lora\.ranks: must be a list"),
]


def test_table_is_large_and_covers_every_surface():
    assert len(CASES) >= 30
    ids = [c.id for c in CASES]
    assert len(set(ids)) == len(ids)
    for prefix in ("export:", "rank:", "notebook"):
        assert any(i.startswith(prefix) for i in ids), prefix


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*")) if folder.exists() else []


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path, request, monkeypatch):
    ctx = Ctx(tmp_path, request, monkeypatch)
    ctx.repo_run = None
    for name in case.needs:
        ctx.fixture(name)
    ctx.prepared = case.prepare(ctx) if case.prepare else None
    nonsense_outputs = [FIGURES / "nonsense", RESULTS / "nonsense"]

    if isinstance(case.error, int):
        result = case.call(ctx)
        assert result.returncode == case.error, (result.returncode, result.stderr[-2000:])
        assert "Traceback" not in result.stderr, result.stderr[-2000:]
        assert result.stdout == "" or case.id.startswith("rank"), result.stdout
        message = result.stderr.strip().splitlines()[-1]  # argparse puts its usage lines first
        assert "error" in message
    elif case.error == PM_ERROR:
        from papermill.exceptions import PapermillExecutionError
        with pytest.raises(PapermillExecutionError) as info:
            case.call(ctx)
        message = f"{info.value.ename}: {info.value.evalue}"
        assert info.value.exec_count <= 3  # the parameters, the injected parameters, the get_profile cell
    else:
        with pytest.raises(case.error) as info:
            case.call(ctx)
        message = str(info.value)
    assert re.search(case.match, message), message

    # nothing written: no output, no run folder, no model, no temp file
    assert _files(ctx.out) == [], _files(ctx.out)
    assert _files(ctx.runs) == [], _files(ctx.runs)
    if ctx.repo_run is not None:
        assert not ctx.repo_run.exists()
    for folder in nonsense_outputs:
        assert not folder.exists(), folder
