"""The GPU path, tested on a CPU: where training runs (REPRO_DEVICE), the time-boxed paper run behind the
recipe arms, the dry run at the profile's batch sizes, the cost table's measured column and the README's GPU
section. The numbers measured on a GPU are in results/paper/*-cuda.json; these tests check the code that
made and reads them."""
import json

import pytest
import torch

from helpers import report
from helpers.cost import cost_table, measured_seconds, stage_costs
from helpers.dryrun import dry_run
from helpers.errors import Refused
from helpers.profiles import get_profile
from helpers.runs import training_environment
from helpers.training import training_device
from tools import paper_run


def test_training_device_follows_repro_device(monkeypatch):
    monkeypatch.setenv("REPRO_DEVICE", "cpu")
    assert training_device() == torch.device("cpu")
    assert "device" not in training_environment()  # a CPU run's identity is what it was before GPUs were supported
    monkeypatch.setenv("REPRO_DEVICE", "gpu")
    with pytest.raises(Refused, match=r"REPRO_DEVICE: allowed values are \['auto', 'cpu', 'cuda'\], got 'gpu'"):
        training_device()
    monkeypatch.setenv("REPRO_DEVICE", "auto")
    assert training_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_asked_for_without_a_gpu_is_refused(monkeypatch):
    monkeypatch.setenv("REPRO_DEVICE", "cuda")
    with pytest.raises(Refused, match="REPRO_DEVICE: cuda was asked for, but torch sees no CUDA GPU"):
        training_device()


def test_paper_run_time_boxes_the_stand_in_then_the_base(tmp_path, capsys):
    out = tmp_path / "arm.json"
    assert paper_run.main(["--profile", "smoke", "--minutes", "5", "--base-minutes", "5", "--quiet", "--out", str(out),
                           "--overrides", '{"model": {"initializer_range": 0.05}, "pretrain": {"lr": 3e-4}}']) == 0
    result = json.loads(out.read_text())
    assert result["overrides"] == {"model": {"initializer_range": 0.05}, "pretrain": {"lr": 3e-4}}
    assert result["model"]["initializer_range"] == 0.05 and result["pretrain_config"]["lr"] == 3e-4
    smoke = get_profile("smoke")
    assert result["pretrain"]["finished"] and result["pretrain"]["steps"] == smoke["pretrain"]["steps"]
    assert [p["step"] for p in result["pretrain"]["curve"]] == [10, 20]  # eval_every 10
    base = result["base_hashhop"]  # the stand-in finished, so the base ran from it
    assert base["finished"] and base["steps"] == smoke["base"]["recipe"]["steps"] and base["recipe"]["lr"] == 1e-3
    assert result["machine"]["device"] == training_device().type
    assert "wrote" in capsys.readouterr().out


def test_paper_run_refuses_a_bad_override_before_training(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        paper_run.main(["--profile", "smoke", "--minutes", "1", "--out", str(tmp_path / "x.json"),
                        "--overrides", '{"model": {"initializer_range": "big"}}'])
    assert exit_.value.code == 2 and not (tmp_path / "x.json").exists()
    assert "model.initializer_range: must be a number" in capsys.readouterr().err


def test_dry_run_at_the_profiles_batch_sizes_reports_tokens_per_second():
    profile = get_profile("smoke")
    rows = {r["stage"]: r for r in dry_run(profile, steps=3, batch=None, device="cpu")}
    assert rows["pretraining stand-in"]["shapes"].startswith(f"batch {profile['pretrain']['batch_size']} x")
    assert rows["base hashhop"]["shapes"].startswith(f"batch {profile['base']['recipe']['batch_size']} x")
    for name in ("pretraining stand-in", "base hashhop", "LoRA r=2", "full fine-tuning"):
        row = rows[name]
        assert row["tokens_per_s"] == round(row["tokens_per_step"] / row["seconds_per_step"])
    assert rows["evaluation"]["seconds_per_prompt"] > 0


def test_measured_column_multiplies_each_stage_by_its_timed_step():
    profile = get_profile("paper")
    rows = stage_costs(profile)
    dry = {"batch": "profile", "stages": [
        {"stage": "pretraining stand-in", "seconds_per_step": 0.04}, {"stage": "base hashhop", "seconds_per_step": 0.05},
        {"stage": "LoRA r=8", "seconds_per_step": 0.02}, {"stage": "LoRA r=256", "seconds_per_step": 0.03},
        {"stage": "evaluation", "seconds_per_step": None, "seconds_per_prompt": 0.001}]}
    measured = dict(zip([r["stage"] for r in rows], measured_seconds(rows, dry)))
    by_name = {r["stage"]: r for r in rows}
    assert measured["pretraining stand-in"] == pytest.approx(profile["pretrain"]["steps"] * 0.04)
    assert measured["base hashchain"] is None  # not timed: no number rather than a guess
    lora = by_name["LoRA planning r=16"]  # nearest timed rank on a log scale: 8, not 256
    assert measured["LoRA planning r=16"] == pytest.approx(lora["runs"] * lora["steps"] * 0.02)
    assert measured["LoRA reasoning r=128"] == pytest.approx(lora["runs"] * lora["steps"] * 0.03)
    ev = by_name["evaluation planning"]
    assert measured["evaluation planning"] == pytest.approx(ev["runs"] * ev["prompts"] * 0.001)
    table = cost_table(rows, measured=list(measured.values()), measured_name="GPU")
    assert "| GPU |" in table.splitlines()[0] and "(timed stages)" in table.splitlines()[-1]
    assert all(line.count("|") == 7 for line in table.splitlines())


def test_readme_gpu_section_reads_the_stored_measurements(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "RESULTS", tmp_path)
    (tmp_path / "paper").mkdir()
    assert "No GPU measurements" in report.gpu_text()
    curve = lambda acc: [{"step": 100, "seconds": 10.0, "loss": 3.0, "stage": "copy",
                          "accuracy": {"copy": 0.05, "recall": 0.1, "index": 0.1, "count": 0.0}},
                         {"step": 200, "seconds": 20.0, "loss": 1.0, "stage": "copy",
                          "accuracy": {"copy": acc, "recall": 0.2, "index": 0.3, "count": 0.4}}]
    arm = lambda acc: {"pretrain": {"curve": curve(acc), "steps": 200, "steps_per_s": 10.0}}
    (tmp_path / "paper" / "recipe-arms-cuda.json").write_text(json.dumps({"sets": {"one": {
        "processes_side_by_side": 2, "arms": {"init0.02-lr1e-3": arm(0.06), "init0.05-lr3e-4": arm(0.91)}}}}))
    text = report.gpu_text()
    assert "| init 0.05, lr 3e-4 | 2 | 200 | 10.0 | 0.91 | 0.20 | 0.30 | 0.40 |" in text
    assert "| init 0.02, lr 1e-3 | 2 | 200 | 10.0 | 0.06 |" in text and "copy was 0.05-0.05" in text
