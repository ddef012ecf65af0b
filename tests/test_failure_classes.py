"""The failure classes beyond plain bad inputs (issue "every failure is a clean refusal"): a diverged
run is never cached, every JSON is valid JSON, corrupt run state is set aside, results depend on the
thread count only through the run's identity, nothing overwrites a committed result, files get
normal permissions, and time limits hold in the pretraining stage too."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from helpers import lora, paths, sanity
from tools import bench
from helpers.bases import train_base_dir, train_pretrained_dir
from helpers.errors import DivergedError, Refused, RunStateError
from helpers.io import atomic_write_json, atomic_write_text, finite_json, json_text
from helpers.lora import lora_run, train_lora_run
from helpers.profiles import get_profile
from helpers.rank import AdapterError, analyze_adapter
from helpers.runs import save_results, training_environment

ROOT = Path(__file__).resolve().parents[1]


def strict_json(path: Path):
    """Parse as strict JSON: a NaN/Infinity literal is an error, not a float."""
    def refuse(token):
        raise ValueError(f"{path}: non-JSON literal {token}")
    return json.loads(Path(path).read_text(), parse_constant=refuse)


# ----------------------------------------------------------------------------- diverged runs
def test_diverged_lora_run_stops_and_is_never_cached(tmp_path, lora_config):
    config = lora_config(lr=1e30)
    for _ in range(2):  # the second call must not find a "finished" run either
        with pytest.raises(DivergedError, match=r"lr: training diverged at step \d+ \(loss nan\) at lr=1e\+30"):
            train_lora_run(config, root=tmp_path, progress=False)
    run = lora_run(tmp_path, config)
    assert run.finished() is None and not run.result_file.exists()


def test_diverged_lora_job_is_one_line_exit_2(tmp_path, lora_config):
    job = tmp_path / "job.json"
    job.write_text(json.dumps(lora_config(lr=1e30)))
    env = dict(os.environ, REPRO_RUNS=str(tmp_path / "runs"), OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-m", "helpers.lora", "--config", str(job)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2 and "Traceback" not in out.stderr and out.stdout == ""
    assert out.stderr.strip().splitlines()[-1].startswith("python -m helpers.lora: error: --config")
    assert "lr: training diverged" in out.stderr
    assert not list((tmp_path / "runs").rglob("result.json"))


def test_diverged_base_writes_no_model(tmp_path):
    profile = get_profile("smoke", {"base": {"recipe": {"lr": 1e30}}})
    with pytest.raises(DivergedError, match="lr: training diverged"):
        train_base_dir("hashhop", profile, tmp_path / "model", progress=False, checkpoint_dir=tmp_path / "ckpt",
                       runs_root=tmp_path / "runs")
    assert not (tmp_path / "model").exists()


# ----------------------------------------------------------------------------- valid JSON
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_numbers_are_written_as_null(tmp_path, value):
    atomic_write_json(tmp_path / "r.json", {"loss": value, "curve": [1.0, value, {"x": (value, 2)}]})
    assert strict_json(tmp_path / "r.json") == {"loss": None, "curve": [1.0, None, {"x": [None, 2]}]}


def test_json_text_is_strict_and_finite_json_keeps_finite_values():
    assert finite_json({"a": [1, 2.5, "x", None, True]}) == {"a": [1, 2.5, "x", None, True]}
    assert "NaN" not in json_text({"a": float("nan")})


def test_rank_refuses_an_adapter_with_nan_weights(tmp_path):
    folder = tmp_path / "adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps(
        {"peft_type": "LORA", "r": 2, "lora_alpha": 4, "fan_in_fan_out": True, "target_modules": ["c_proj"]}))
    prefix = "base_model.model.transformer.h.0.mlp.c_proj"
    save_file({f"{prefix}.lora_A.weight": torch.full((2, 8), float("nan")), f"{prefix}.lora_B.weight": torch.ones(4, 2)},
              str(folder / "adapter_model.safetensors"))
    with pytest.raises(AdapterError, match="lora_A holds non-finite values"):
        analyze_adapter(folder)


# ----------------------------------------------------------------------------- corrupt run state
def _checkpointed_run(tmp_path, config, monkeypatch):
    """Stop ``config``'s run right after its step-100 checkpoint; return its Run."""
    real_save = lora._save_training_state

    def save_then_die(*args, **kwargs):
        real_save(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(lora, "_save_training_state", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train_lora_run(config, root=tmp_path, progress=False)
    monkeypatch.setattr(lora, "_save_training_state", real_save)
    return lora_run(tmp_path, config)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _malformed_progress(run):
    (run.dir / "progress.json").write_text('{"step": ')


def _progress_not_a_step(run):
    (run.dir / "progress.json").write_text('{"step": "many"}')


def _truncated_optimizer(run):
    _truncate(run.dir / "optimizer.safetensors")


def _truncated_checkpoint(run):
    _truncate(run.dir / "checkpoint" / "adapter_model.safetensors")


def _optimizer_of_another_model(run):
    save_file({"no.such.param::exp_avg": torch.ones(2)}, str(run.dir / "optimizer.safetensors"))


@pytest.mark.parametrize("corrupt", [_malformed_progress, _progress_not_a_step, _truncated_optimizer,
                                     _truncated_checkpoint, _optimizer_of_another_model],
                         ids=lambda f: f.__name__.strip("_"))
def test_corrupt_lora_state_is_set_aside_and_the_run_starts_over(tmp_path, monkeypatch, capfd, lora_config, corrupt):
    config = lora_config(steps=110)
    run = _checkpointed_run(tmp_path / "a", config, monkeypatch)
    corrupt(run)
    result = train_lora_run(config, root=tmp_path / "a", progress=False)
    assert result["cached"] is False and run.finished() is not None
    err = capfd.readouterr().err
    assert err.count("saved state unreadable") == 1 and "moved to corrupt-1/" in err
    assert (run.dir / "corrupt-1").is_dir()  # kept for a look, not deleted
    straight = train_lora_run(config, root=tmp_path / "b", progress=False)
    assert load_file(Path(result["adapter_dir"]) / "adapter_model.safetensors").keys() == \
        load_file(Path(straight["adapter_dir"]) / "adapter_model.safetensors").keys()
    assert result["accuracy"] == straight["accuracy"]  # started over from step 0: the same run as a clean one


@pytest.mark.parametrize("damage", ["state-json", "model", "optimizer"])
def test_corrupt_base_checkpoint_is_set_aside(tmp_path, capfd, damage):
    profile = get_profile("smoke")
    first = train_base_dir("hashhop", profile, tmp_path / "m1", progress=False, checkpoint_dir=tmp_path / "ckpt",
                           runs_root=tmp_path / "runs")
    ckpt = tmp_path / "ckpt"
    target = {"state-json": "state.json", "model": "model.safetensors", "optimizer": "optimizer.safetensors"}[damage]
    _truncate(ckpt / target)
    again = train_base_dir("hashhop", profile, tmp_path / "m2", progress=False, checkpoint_dir=ckpt,
                           runs_root=tmp_path / "runs")
    assert "saved state unreadable" in capfd.readouterr().err and (ckpt / "corrupt-1" / target).exists()
    assert again["curve"] == [dict(r, seconds=a["seconds"]) for r, a in zip(first["curve"], again["curve"])]
    assert (tmp_path / "m1" / "model.safetensors").read_bytes() == (tmp_path / "m2" / "model.safetensors").read_bytes()


# ----------------------------------------------------------------------------- thread count
def test_thread_count_is_part_of_a_training_run_identity(tmp_path, lora_config):
    config = lora_config()
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = lora_run(tmp_path, config)
        torch.set_num_threads(2)
        two = lora_run(tmp_path, config)
    finally:
        torch.set_num_threads(threads)
    assert one.dir != two.dir and one.config == two.config


def test_result_records_the_training_environment(tmp_path, lora_config):
    result = train_lora_run(lora_config(), root=tmp_path, progress=False)
    stored = strict_json(Path(result["run_dir"]) / "result.json")
    assert training_environment() == {"torch_threads": torch.get_num_threads()}
    assert stored["environment"] == dict(training_environment(), activation="fused-gelu")  # a LoRA run: + the kernel


# ----------------------------------------------------------------------------- committed results stay
def test_sanity_quick_run_does_not_replace_the_committed_result(tmp_path, monkeypatch):
    monkeypatch.setattr(sanity, "RUNS", tmp_path / "runs")
    before = sanity.DEFAULT_OUT.read_bytes()
    assert sanity.main(["--n", "3", "--no-progress"]) == 0
    assert sanity.DEFAULT_OUT.read_bytes() == before
    written = strict_json(tmp_path / "runs" / "sanity" / "both-n3-seed0.json")
    assert written["n"] == 3 and written["ok"] is True


def test_bench_quick_does_not_replace_the_committed_result(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(bench, "run", lambda **kwargs: {"quick": kwargs["quick"]})
    monkeypatch.setattr(bench, "format_table", lambda result: "table")
    committed = paths.RESULTS / "bench.json"
    before = committed.read_bytes()
    assert bench.main(["--quick"]) == 0
    assert committed.read_bytes() == before
    assert strict_json(tmp_path / "runs" / "bench" / "bench-quick.json") == {"quick": True}


def test_a_subset_of_pretraining_arms_does_not_replace_the_table(tmp_path, monkeypatch):
    from helpers import pretrain_ablation
    monkeypatch.setattr(pretrain_ablation, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(paths, "OUTPUTS", tmp_path)
    monkeypatch.setattr(pretrain_ablation, "run_arm", lambda profile, parts, progress: {"base_curve": [{"accuracy": {}}]})
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert pretrain_ablation.main(["--profile", "smoke", "--arms", "copy"]) == 0
        assert torch.get_num_threads() == 2  # restored: later cells of notebook 02 find the runs they made
    finally:
        torch.set_num_threads(threads)
    assert strict_json(tmp_path / "runs" / "pretrain_ablation" / "smoke-copy.json")["arms"].keys() == {"copy"}
    assert not (tmp_path / "results" / "smoke" / "02_pretrain_ablation.json").exists()
    assert pretrain_ablation.main(["--profile", "smoke", "--arms", "none", "--update"]) == 0  # explicit: merged in place
    assert strict_json(tmp_path / "results" / "smoke" / "02_pretrain_ablation.json")["arms"].keys() == {"none"}


def test_overrides_write_to_their_own_folder_and_are_recorded(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "OUTPUTS", tmp_path)
    plain, custom = get_profile("smoke"), get_profile("smoke", '{"lora": {"ranks": [2]}}')
    assert paths.output_name(plain) == "smoke" and paths.output_name("smoke") == "smoke"
    assert paths.output_name(custom).startswith("smoke-custom-")
    assert paths.output_name(custom) == paths.output_name(get_profile("smoke", {"lora": {"ranks": [2]}}))
    assert paths.output_name(custom) != paths.output_name(get_profile("smoke", {"lora": {"ranks": [4]}}))
    saved = save_results(custom, "x.json", {"a": 1})
    assert saved.parent.name == paths.output_name(custom)
    assert strict_json(saved)["overrides"] == {"lora": {"ranks": [2]}}
    assert paths.figure_path(custom, "f.png").parent.name == paths.output_name(custom)
    assert not (tmp_path / "results" / "smoke").exists()
    assert strict_json(save_results(plain, "x.json", {"a": 1}))["overrides"] == {}


def test_written_files_have_normal_permissions(tmp_path):
    atomic_write_text(tmp_path / "a.txt", "x")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~mask


# ----------------------------------------------------------------------------- time limits
def test_time_limit_holds_in_the_pretraining_stage_and_resumes_identically(tmp_path):
    profile = get_profile("smoke", {"pretrain": {"target": 1.0}})  # all 20 steps, evaluated at 10 and 20
    assert train_pretrained_dir(profile, tmp_path / "paused", progress=False, time_limit_s=1e-9,
                                checkpoint_dir=tmp_path / "ckpt") is None
    assert not (tmp_path / "paused").exists()
    assert json.loads((tmp_path / "ckpt" / "state.json").read_text())["step"] == 10
    resumed = train_pretrained_dir(profile, tmp_path / "paused", progress=False, checkpoint_dir=tmp_path / "ckpt")
    train_pretrained_dir(profile, tmp_path / "straight", progress=False)
    assert [r["step"] for r in resumed["curve"]] == [10, 20]
    assert (tmp_path / "paused" / "model.safetensors").read_bytes() == (tmp_path / "straight" / "model.safetensors").read_bytes()


def test_time_limit_in_the_stand_in_pauses_the_base(tmp_path):
    profile = get_profile("smoke", {"pretrain": {"target": 1.0}})
    assert train_base_dir("hashhop", profile, tmp_path / "model", progress=False, checkpoint_dir=tmp_path / "ckpt",
                          time_limit_s=1e-9, runs_root=tmp_path / "runs") is None
    assert not (tmp_path / "model").exists() and not (tmp_path / "ckpt").exists()


def test_refusals_share_one_base_class():
    from helpers.tasks import TaskConfigError
    for error in (TaskConfigError, AdapterError, DivergedError, RunStateError):
        assert issubclass(error, Refused)


def test_a_base_trained_with_another_thread_count_is_named(tmp_path, monkeypatch):
    from helpers import bases
    monkeypatch.setattr(bases, "RUNS", tmp_path / "runs")
    profile = get_profile("smoke")
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        bases.get_base("hashhop", profile, progress=False)  # trains it (base_source 'train')
        torch.set_num_threads(2)
        with pytest.raises(Refused, match=r"was trained with \{'torch_threads': 1\} \(this process: \{'torch_threads': 2\}\)"):
            bases.get_base("hashhop", profile, progress=False, train=False)
    finally:
        torch.set_num_threads(threads)
