import json
import os
import subprocess
import sys

import pytest

from helpers.io import config_hash
from helpers.sweep import longest_first, run_jobs, write_job_files

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def test_duplicates_run_once_and_results_keep_the_order(lora_config, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr("helpers.sweep._run_one", lambda c, root=None: calls.append(config_hash(c)) or {"hash": config_hash(c)})
    a, b = lora_config(rank=2), lora_config(rank=3)
    results = run_jobs([a, b, a], workers=1, progress=False)
    assert [r["hash"] for r in results] == [config_hash(a), config_hash(b), config_hash(a)]
    assert sorted(calls) == sorted({config_hash(a), config_hash(b)})


def test_two_workers_give_the_same_results_as_one(lora_config, tmp_path, monkeypatch):
    configs = [lora_config(rank=2, seed=s, steps=4) for s in (0, 1)]
    serial = run_jobs(configs, workers=1, progress=False, root=tmp_path / "a")
    parallel = run_jobs(configs, workers=2, progress=False, root=tmp_path / "b")
    assert [r["accuracy"] for r in serial] == [r["accuracy"] for r in parallel]
    again = run_jobs(configs, workers=2, progress=False, root=tmp_path / "b")  # the cache keeps a sweep idempotent
    assert all(r["cached"] for r in again) and not any(r["cached"] for r in parallel)


def test_job_files_and_commands(lora_config, tmp_path):
    configs = [lora_config(rank=2), lora_config(rank=3)]
    commands = write_job_files(configs, tmp_path)
    assert len(commands) == 2 and all(c.startswith("python -m helpers.lora --config ") for c in commands)
    for config, command in zip(configs, commands):
        assert json.loads(open(command.split()[-1]).read()) == json.loads(json.dumps(config))


def _sweep(jobs, runs, *extra):
    env = dict(os.environ, REPRO_RUNS=str(runs))  # never the repo's runs/
    return subprocess.run([sys.executable, "-m", "helpers.sweep", "--profile", "smoke", "--jobs-dir", str(jobs), *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)


def test_sweep_cli_prints_one_command_per_distinct_run(tmp_path):
    out = _sweep(tmp_path / "jobs", tmp_path / "runs", "--train-bases")
    assert out.returncode == 0, out.stderr
    commands = out.stdout.strip().splitlines()
    assert commands and len(commands) == len(set(commands)) == len(list((tmp_path / "jobs").glob("*.json")))
    assert (tmp_path / "runs" / "base").is_dir()  # the smoke bases were trained where REPRO_RUNS says


def test_sweep_jobs_dir_only_writes_job_files(tmp_path):
    """Without --train-bases a missing base is refused at once: no training, no job file, no run folder."""
    out = _sweep(tmp_path / "jobs", tmp_path / "runs")
    assert out.returncode == 2 and "Traceback" not in out.stderr and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "base: the hashhop base of profile 'smoke' is not trained yet" in out.stderr
    assert not (tmp_path / "jobs").exists() and not (tmp_path / "runs" / "base").exists()


def test_longest_runs_go_to_the_workers_first(lora_config):
    """HashChain prompts are longer than HashHop's and more steps cost more: those start first."""
    hop = lora_config()
    chain = dict(hop, task={"task": "hashchain", "chain_lengths": [2, 3, 4, 5, 6], "num_chains": [4, 5],
                            "hash_length": 2, "alphabet": "abcdefgh"})
    longer = dict(hop, steps=hop["steps"] * 100)
    assert longest_first([hop, chain, longer]) == [2, 1, 0]
    assert longest_first([hop, hop]) == [0, 1]  # ties keep their order


def test_the_job_files_hold_every_run_of_notebooks_03_to_05():
    """``python -m helpers.sweep`` promises every run of notebooks 03-05: notebook 03's rank x seed grid, notebook 04's
    ablations and notebook 05's runs, each once (small profile, committed bases: nothing trains)."""
    from helpers.ablations import design
    from helpers.experiments import KINDS, sweep_configs
    from helpers.io import config_hash
    from helpers.profiles import get_profile
    from helpers.rank_study import study_configs
    from helpers.sweep import notebook_configs
    profile = get_profile("small")
    got = {config_hash(c) for c in notebook_configs(profile)}
    assert len(got) == len(notebook_configs(profile))
    nb03 = [c for kind in KINDS for c in sweep_configs(profile, kind)]
    for configs in (nb03, [c["config"] for c in design(profile)], study_configs(profile)):
        assert {config_hash(c) for c in configs} <= got


def test_notebook_03s_planning_runs_are_the_paper_layer_grids_runs():
    """Notebook 03's planning sweep trains 16x ``lora.steps`` (its 3rd hop needs it on the paper's layer): each of its
    runs is the run of ``tools.whole_mlp_grid``'s paper-layer grid at the same rank and seed (one config, one run),
    while reasoning's sweep is the rank grid's, at ``lora.steps``."""
    from helpers.experiments import sweep_configs, sweep_steps
    from helpers.profiles import get_profile
    from helpers.rank_study import layer_grid_cells, rank_cells
    profile = get_profile("small")
    assert sweep_steps(profile, "planning") == 16 * profile["lora"]["steps"] == 9600
    grid = [c["config"] for g in ("paper_layer", "paper_layer_ranks") for c in layer_grid_cells(profile, g)]
    planning = sweep_configs(profile, "planning")
    assert len(planning) == len(profile["lora"]["ranks"]) * len(profile["lora"]["seeds"])
    assert all(c in grid and c["steps"] == 9600 for c in planning)
    reasoning = sweep_configs(profile, "reasoning")
    assert all(c in [cell["config"] for cell in rank_cells(profile)] and c["steps"] == 600 for c in reasoning)


@pytest.mark.parametrize("steps_x", [{"planning": 0, "reasoning": 1}, {"planning": 1.5, "reasoning": 1},
                                     {"planning": True, "reasoning": 1}, {"reasoning": 1}])
def test_a_bad_steps_x_is_refused_before_any_base_loads(steps_x):
    from helpers.experiments import sweep_configs
    from helpers.tasks import TaskConfigError
    from helpers.profiles import get_profile
    profile = get_profile("smoke")
    profile["lora"]["steps_x"] = steps_x
    with pytest.raises(TaskConfigError, match=r"lora\.steps_x: needs an integer >= 1 for each of \['planning', 'reasoning'\]"):
        sweep_configs(profile, "planning")
