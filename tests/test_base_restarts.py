"""A base trained in stages (``base.<task>.restarts``): the same weights as training each stage by hand from the
last one's model (as ``tools.base_variants`` trained the committed HashChain base), one ``base_info.json`` that
says so, resumable at the stage it stopped in, and bad restarts refused before any training."""
from __future__ import annotations

import pytest

from helpers.bases import base_config, stage_profiles, train_base_dir
from helpers.io import read_json
from helpers.profiles import get_profile
from helpers.tasks import TaskConfigError

RESTARTS = [{"steps": 10}, {"steps": 6, "lr": 5e-4}]


def staged_profile() -> dict:
    return get_profile("smoke", {"base": {"hashhop": {"restarts": RESTARTS}}})


def test_stage_profiles_are_the_recipe_then_each_restart_over_it():
    profile = staged_profile()
    stages = stage_profiles("hashhop", profile)
    assert len(stages) == 3
    first = base_config("hashhop", stages[0])
    assert "restarts" not in first and base_config("hashhop", profile)["restarts"] == RESTARTS
    for stage, values in zip(stages[1:], RESTARTS):
        config = base_config("hashhop", stage)
        assert {k for k in config["recipe"] if config["recipe"][k] != first["recipe"][k]} == set(values)
        assert {k: config["recipe"][k] for k in values} == values
        assert {k: v for k, v in config.items() if k != "recipe"} == {k: v for k, v in first.items() if k != "recipe"}
    assert len(stage_profiles("hashhop", get_profile("smoke"))) == 1


@pytest.mark.parametrize("restarts", [{"steps": 5}, [{}], [5], [{"stpes": 5}]])
def test_bad_restarts_are_refused_naming_the_parameter(restarts):
    profile = get_profile("smoke")
    profile["base"]["hashhop"]["restarts"] = restarts
    with pytest.raises(TaskConfigError, match="restarts|stpes"):
        train_base_dir("hashhop", profile, "/nonexistent/never-written", progress=False)


def test_staged_base_equals_its_stages_trained_by_hand(tmp_path):
    profile = staged_profile()
    info = train_base_dir("hashhop", profile, tmp_path / "staged", progress=False, checkpoint_dir=tmp_path / "ckpt",
                          runs_root=tmp_path / "runs")
    start = None
    for number, stage in enumerate(stage_profiles("hashhop", profile), 1):
        by_hand = tmp_path / f"hand-{number}"
        train_base_dir("hashhop", stage, by_hand, progress=False, runs_root=tmp_path / "runs", start=start)
        start = by_hand
    assert (tmp_path / "staged" / "model.safetensors").read_bytes() == (start / "model.safetensors").read_bytes()
    assert read_json(tmp_path / "staged" / "base_info.json") == info
    assert info["config"] == base_config("hashhop", profile)
    assert info["sha256"] == read_json(start / "base_info.json")["sha256"]
    steps = [s["steps"] for s in info["stages"]]
    assert steps[1:] == [r["steps"] for r in RESTARTS]
    assert info["curve"][-1]["step"] == sum(steps) and info["curve"][-1]["stage"] == 3
    assert [p["step"] for p in info["curve"]] == sorted(p["step"] for p in info["curve"])
    assert abs(info["train_seconds"] - sum(s["train_seconds"] for s in info["stages"])) < 0.2
    assert "start" not in info and not info["stopped_at_time_limit"]


def test_a_finished_stage_is_not_trained_again(tmp_path, monkeypatch):
    profile = staged_profile()
    train_base_dir("hashhop", profile, tmp_path / "a", progress=False, checkpoint_dir=tmp_path / "ckpt",
                   runs_root=tmp_path / "runs")
    first = (tmp_path / "a" / "model.safetensors").read_bytes()
    from helpers import bases
    calls = []
    real = bases.train_base
    monkeypatch.setattr(bases, "train_base", lambda *a, **k: calls.append(1) or real(*a, **k))
    (tmp_path / "ckpt" / "stage-3" / "model" / "base_info.json").unlink()  # as if stopped in the last stage
    train_base_dir("hashhop", profile, tmp_path / "b", progress=False, checkpoint_dir=tmp_path / "ckpt",
                   runs_root=tmp_path / "runs")
    assert len(calls) == 1
    assert (tmp_path / "b" / "model.safetensors").read_bytes() == first


def test_a_stage_kept_at_its_time_limit_is_resumed_not_reused(tmp_path, monkeypatch):
    import json
    profile = staged_profile()
    train_base_dir("hashhop", profile, tmp_path / "a", progress=False, checkpoint_dir=tmp_path / "ckpt",
                   runs_root=tmp_path / "runs")
    kept = tmp_path / "ckpt" / "stage-2" / "model" / "base_info.json"
    info = read_json(kept)
    kept.write_text(json.dumps(dict(info, stopped_at_time_limit=True)))
    from helpers import bases
    calls = []
    real = bases.train_base
    monkeypatch.setattr(bases, "train_base", lambda *a, **k: calls.append(1) or real(*a, **k))
    got = train_base_dir("hashhop", profile, tmp_path / "b", progress=False, checkpoint_dir=tmp_path / "ckpt",
                         runs_root=tmp_path / "runs")
    assert len(calls) == 2 and not got["stopped_at_time_limit"]  # stage 2 again, then stage 3 from its model
    assert not read_json(kept)["stopped_at_time_limit"]


def test_the_learning_curve_marks_each_warm_restart():
    import matplotlib
    matplotlib.use("Agg")
    from helpers.plotting import learning_curve_figure
    point = lambda stage, step: {"stage": stage, "step": step, "accuracy": {"2": 0.5}}
    staged = [point(1, 10), point(1, 20), point(2, 30), point(2, 40), point(3, 50)]
    single = [{"step": 10, "accuracy": {"2": 0.5}}, {"step": 20, "accuracy": {"2": 0.6}}]
    fig = learning_curve_figure({"hashchain": staged, "hashhop": single}, {"hashchain": "shortest", "hashhop": "hops"})
    marks = [[line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == ":"] for ax in fig.axes]
    assert marks == [[20, 40], []]
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()].count("warm restart") == 1
