"""``python -m tools.bench --quick`` runs end to end and writes its ratios. No speed thresholds:
shared CI machines are too noisy for them; the numbers are for people to read."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from helpers.paths import REPO_ROOT


def test_bench_quick(tmp_path):
    out = tmp_path / "bench.json"
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "tools.bench", "--quick", "--device", "cpu", "--out", str(out)],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ours is" in proc.stdout
    result = json.loads(out.read_text())
    assert result["quick"] is True
    for name in ("eval_ours_over_reference", "eval_ours_over_reference_answer_length",
                 "train_ours_over_plain_n_positions", "train_ours_over_plain_batch_max",
                 "train_fp32_over_bf16", "train_threads_1_over_2", "mfu"):
        value = result["ratios"][name]
        assert isinstance(value, float) and math.isfinite(value) and value > 0, (name, value)
    # equal accuracy: the mask-free right-padded forward gives the masked, fully padded loss
    agreement = result["training"]["loss_agreement"]
    assert agreement["max_loss_abs_diff"] < 1e-4
    assert agreement["varied_length_batch"]["lengths_min_max"][0] < agreement["varied_length_batch"]["lengths_min_max"][1]
    assert all(agreement[b]["max_logit_abs_diff_real_positions"] < 1e-3 for b in ("planning_batch", "varied_length_batch"))
    for variant in result["training"]["variants"].values():
        assert variant["tokens_per_s"] > 0
    machine = result["machine"]
    assert machine["nproc"] >= 1 and machine["torch_threads"] >= 1
    assert result["provenance"]["packages"]["torch"]


def test_stack_bench_steps_on_k_times_the_runs_batch_of_its_own_prompts():
    """tools.stack_bench: each stacking factor trains on ``factor`` x the run's batch, cut from the run's
    own first-epoch prompts in order (factor 1 is exactly the run's first batches); no speed thresholds."""
    from helpers.encoding import collate, encode
    from helpers.experiments import run_configs
    from helpers.lora import _epoch_samples, _task, load_base
    from helpers.profiles import get_profile
    from tools.stack_bench import measure, stacked_batches
    config = run_configs(get_profile("small"), "planning", [16], [0])[0]
    _, tokenizer = load_base(config)
    one, two = stacked_batches(config, tokenizer, 1, 2), stacked_batches(config, tokenizer, 2, 1)
    rows = [encode(tokenizer, s) for s in _epoch_samples(_task(config["task"]), 64, config["seed"], 0)]
    x, y = collate(rows[:32], tokenizer.pad_token_id)
    assert len(one) == 2 and all(len(b[0]) == 32 for b in one) and len(two[0][0]) == 64
    assert one[0][0].equal(x) and one[0][1].equal(y)
    assert two[0][0][:32, :x.shape[1]].equal(x)  # the first 32 rows of the doubled batch are the run's first batch
    got = measure("planning", reps=1, steps=1, factors=(1, 2))
    assert got["ratio_to_one_run"]["1"] == 1.0 and got["samples_per_s"]["2"] > 0


def test_step_bench_times_the_step_as_run_beside_its_arms_and_breaks_it_down():
    """tools.step_bench: the first arm is the baseline of the ratios, the op shares are shares; an unknown arm is
    refused naming the allowed ones (no speed thresholds; the compiled arms are left to the command line)."""
    from tools.step_bench import measure
    got = measure("planning", reps=1, steps=3, arms=("as run", "eager attention"))
    assert got["speedup_over_as_run"]["as run"] == 1.0 and got["s_per_step"]["eager attention"] > 0
    assert 0 < sum(got["op_shares_as_run"].values()) <= 1.0 + 1e-6
    assert set(got["gelu_ms_tanh_vs_erf"]) == {"tanh", "none"} and min(got["gelu_ms_tanh_vs_erf"].values()) > 0
    with pytest.raises(ValueError, match="arms: allowed values are"):
        measure("planning", reps=1, steps=3, arms=("nope",))
