"""Tests for helpers.rank: measures on matrices with known answers, real peft adapters, errors."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from helpers.rank import (
    AdapterError,
    analyze_adapter,
    compare_adapters,
    delta_weight,
    lora_scaling,
    main,
    random_overlap,
    rank_measures,
    singular_values,
    subspace_overlap,
    summarize,
    threshold_key,
)

torch.set_num_threads(1)  # the machine is shared with training runs
REPO = Path(__file__).resolve().parents[1]


def orthonormal(n, k, rng):
    q, _ = np.linalg.qr(rng.standard_normal((n, k)))
    return q


def matrix_with_spectrum(s, out=20, inp=30, seed=0):
    """U diag(s) V^T with orthonormal U, V: a matrix whose singular values are exactly s."""
    rng = np.random.default_rng(seed)
    k = len(s)
    return orthonormal(out, k, rng) @ np.diag(s) @ orthonormal(inp, k, rng).T


# ---------------------------------------------------------------- pure measures


def test_threshold_key_format():
    assert [threshold_key(t) for t in (1e-1, 1e-3, 1e-5, 5e-2, 2.5e-3)] == [
        "thr_1e-1", "thr_1e-3", "thr_1e-5", "thr_5e-2", "thr_2.5e-3"]


def test_singular_values_recovered_and_descending():
    s = singular_values(matrix_with_spectrum([3.0, 2.0, 0.5]))
    assert s.dtype == np.float64 and s.shape == (20,)
    np.testing.assert_allclose(s[:3], [3.0, 2.0, 0.5], rtol=1e-12)
    assert np.all(s[3:] < 1e-13) and np.all(np.diff(s) <= 0)
    # torch input, any dtype, same answer
    np.testing.assert_allclose(singular_values(torch.tensor(matrix_with_spectrum([3.0, 2.0, 0.5])))[:3],
                               [3.0, 2.0, 0.5], rtol=1e-12)


def test_rank3_measures_exact():
    # s/s0 = 1, 1e-2 (well, 0.02), 5e-4 -> counts above 1e-1: 1, 1e-2: 2, 1e-3: 2, 1e-4: 3, 1e-5: 3
    s_true = [10.0, 0.2, 0.005]
    m = rank_measures(singular_values(matrix_with_spectrum(s_true)))
    assert (m["thr_1e-1"], m["thr_1e-2"], m["thr_1e-3"], m["thr_1e-4"], m["thr_1e-5"]) == (1, 2, 2, 3, 3)
    assert m["energy_90"] == 1 and m["energy_99"] == 1  # 100 of 100.040025
    assert m["stable_rank"] == pytest.approx((100 + 0.04 + 0.000025) / 100, rel=1e-10)
    assert m["top5_share"] == pytest.approx(1.0)
    p = np.array(s_true) / sum(s_true)
    assert m["entropy_rank"] == pytest.approx(math.exp(-(p * np.log(p)).sum()), rel=1e-9)


def test_equal_singular_values():
    for k in (1, 3, 7):
        m = rank_measures(singular_values(matrix_with_spectrum([2.0] * k)))
        assert m["entropy_rank"] == pytest.approx(k, rel=1e-9)
        assert m["stable_rank"] == pytest.approx(k, rel=1e-9)
        assert m["thr_1e-5"] == k
        assert m["energy_99"] == k  # every value holds 1/k of the energy
        assert m["top5_share"] == pytest.approx(min(k, 5) / k)


def test_energy_ranks_and_top5_on_a_spectrum():
    s = [4.0, 2.0, 1.0, 1.0, 0.5, 0.5, 0.1]  # squares: 16,4,1,1,.25,.25,.01 (total 22.51)
    m = rank_measures(s)
    # 0.9*22.51 = 20.259 -> 16+4+1 = 21 at k=3; 0.99*22.51 = 22.2849 -> 22.25 at k=5 is short, 22.5 at k=6
    assert (m["energy_90"], m["energy_99"]) == (3, 6)
    assert m["top5_share"] == pytest.approx(8.5 / 9.1)
    assert m["stable_rank"] == pytest.approx(22.51 / 16)
    # order of the input does not matter
    assert rank_measures(s[::-1]) == m


def test_energy_exact_tie_is_kept():
    # 9 of 10 equal values hold exactly 90% of the energy
    assert rank_measures([1.0] * 10)["energy_90"] == 9


def test_zero_matrix_is_rank_zero():
    m = rank_measures(singular_values(np.zeros((6, 4))))
    assert all(m[threshold_key(t)] == 0 for t in (1e-1, 1e-2, 1e-3, 1e-4, 1e-5))
    assert m["energy_90"] == m["energy_99"] == 0
    assert m["entropy_rank"] == m["stable_rank"] == m["top5_share"] == 0.0
    assert rank_measures([])["thr_1e-1"] == 0


def test_custom_thresholds():
    m = rank_measures([1.0, 0.3, 0.03], thresholds=(0.5, 0.05, 0.01))
    assert (m["thr_5e-1"], m["thr_5e-2"], m["thr_1e-2"]) == (1, 2, 3)
    assert "thr_1e-1" not in m


# ---------------------------------------------------------------- delta, orientation, scaling


def test_delta_orientation_and_transpose_invariance():
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((4, 12)), rng.standard_normal((9, 4))
    d = delta_weight(A, B, 0.5)
    assert d.shape == (9, 12)
    np.testing.assert_allclose(d, 0.5 * B @ A)
    dt = delta_weight(torch.tensor(A, dtype=torch.float32), torch.tensor(B, dtype=torch.float32), 0.5,
                      fan_in_fan_out=True)
    assert dt.shape == (12, 9) and dt.dtype == np.float64
    np.testing.assert_allclose(dt, d.T, rtol=1e-6)
    np.testing.assert_allclose(singular_values(d), singular_values(d.T), rtol=1e-12, atol=1e-12)
    assert rank_measures(singular_values(d)) == pytest.approx(rank_measures(singular_values(d.T)), rel=1e-12)


def test_scaling_alpha_over_r_and_rslora():
    assert lora_scaling(16, 8) == 2.0
    assert lora_scaling(16, 4, use_rslora=True) == 8.0
    rng = np.random.default_rng(2)
    A, B = rng.standard_normal((4, 10)), rng.standard_normal((10, 4))
    s1 = singular_values(delta_weight(A, B, lora_scaling(8, 4)))
    s2 = singular_values(delta_weight(A, B, lora_scaling(8, 4, use_rslora=True)))
    np.testing.assert_allclose(s2, s1 * 2 / 1, rtol=1e-12)  # 8/sqrt(4)=4 vs 8/4=2
    # scaling changes norms but no scale-free measure
    a, b = rank_measures(s1), rank_measures(s2)
    for key in ("thr_1e-3", "energy_90", "entropy_rank", "stable_rank", "top5_share"):
        assert a[key] == pytest.approx(b[key])


# ---------------------------------------------------------------- real peft adapters


def _tiny_peft_model(**lora_kwargs):
    from peft import LoraConfig, get_peft_model
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=50, n_positions=64))
    cfg = LoraConfig(r=8, lora_alpha=4, target_modules=["c_proj"], fan_in_fan_out=True, **lora_kwargs)
    return get_peft_model(model, cfg)


@pytest.fixture(scope="module")
def trained_adapter(tmp_path_factory):
    """A saved adapter whose every delta is 0.5 * U diag(4, 1) V^T (alpha/r = 4/8): rank 2."""
    pm = _tiny_peft_model()
    rng = np.random.default_rng(3)
    n = 0
    for name, mod in pm.named_modules():
        if hasattr(mod, "lora_A") and "default" in getattr(mod, "lora_A", {}):
            A, B = mod.lora_A["default"].weight, mod.lora_B["default"].weight  # (8, in), (out, 8)
            U, V = orthonormal(B.shape[0], 2, rng), orthonormal(A.shape[1], 2, rng)
            b = np.zeros(B.shape)
            b[:, :2] = U * [4.0, 1.0]
            a = rng.standard_normal(A.shape)  # rows 2.. are multiplied by zero columns of B
            a[:2] = V.T
            with torch.no_grad():
                A.copy_(torch.tensor(a))
                B.copy_(torch.tensor(b))
            n += 1
    assert n == 4  # attn.c_proj and mlp.c_proj in each of 2 blocks
    out = tmp_path_factory.mktemp("trained")
    pm.save_pretrained(out)
    return out


def test_analyze_trained_adapter(trained_adapter):
    layers = analyze_adapter(trained_adapter)
    assert [(d["block"], d["layer"].split(".", 3)[-1]) for d in layers] == [
        (0, "attn.c_proj"), (0, "mlp.c_proj"), (1, "attn.c_proj"), (1, "mlp.c_proj")]
    for d in layers:
        assert d["layer"].startswith("transformer.h.")
        assert d["r"] == 8 and d["scaling"] == 0.5
        assert d["thr_1e-3"] == 2 and d["thr_1e-1"] == 2
        np.testing.assert_allclose(d["singular_values"][:2], [2.0, 0.5], rtol=1e-5)
        assert d["energy_90"] == 1 and d["energy_99"] == 2  # 4 / 4.25 = 94%
        assert d["stable_rank"] == pytest.approx(4.25 / 4, rel=1e-5)
        assert d["top5_share"] == pytest.approx(1.0, rel=1e-5)
        assert d["entropy_rank"] == pytest.approx(math.exp(-(0.8 * math.log(0.8) + 0.2 * math.log(0.2))), rel=1e-5)
        assert d["norm_B"] == pytest.approx(math.sqrt(17), rel=1e-5)
        assert d["norm_delta"] == pytest.approx(math.sqrt(4.25), rel=1e-5)
    assert d["shape"] == [32, 128]  # mlp.c_proj: out=n_embd, in=4*n_embd
    s = summarize(layers)
    assert s["n_layers"] == 4 and s["thr_1e-3"] == 2.0
    json.dumps(layers)  # plain Python types only


def _run_cli(*args):
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "helpers.rank", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, env=env, timeout=300)


def test_cli_table_and_json(trained_adapter, tmp_path):
    res = _run_cli(trained_adapter)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    header = lines[0].split()
    assert header[:2] == ["layer", "r"] and "thr_1e-3" in header and header[-2:] == ["norm_A", "norm_B"]
    assert len(lines) == 2 + 4 + 1 and lines[-1].startswith("mean")
    assert "transformer.h.1.mlp.c_proj" in res.stdout

    res = _run_cli(trained_adapter, "--json", "--thresholds", "1e-2,1e-3", "--out", tmp_path / "r.json")
    assert res.returncode == 0, res.stderr
    layers = json.loads(res.stdout)
    assert len(layers) == 4 and all(d["thr_1e-3"] == 2 for d in layers)
    assert "singular_values" not in layers[0] and "thr_1e-1" not in layers[0]
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["summary"]["n_layers"] == 4 and "singular_values" in saved["layers"][0]


def test_json_singular_values_in_process(trained_adapter, capsys):
    assert main([str(trained_adapter), "--json", "--singular-values"]) == 0
    layers = json.loads(capsys.readouterr().out)
    assert len(layers[0]["singular_values"]) == 32


def test_untrained_adapter_is_rank_zero(tmp_path):
    pm = _tiny_peft_model()  # peft's default init: B = 0
    pm.save_pretrained(tmp_path)
    layers = analyze_adapter(tmp_path)
    assert len(layers) == 4
    for d in layers:
        assert d["thr_1e-1"] == d["thr_1e-5"] == d["energy_90"] == d["energy_99"] == 0
        assert d["entropy_rank"] == d["stable_rank"] == d["top5_share"] == 0.0
        assert d["norm_B"] == 0.0 and d["norm_A"] > 0 and d["norm_delta"] == 0.0


def _write_adapter(d, config, tensors):
    d.mkdir(parents=True, exist_ok=True)
    (d / "adapter_config.json").write_text(json.dumps(config))
    save_file(tensors, str(d / "adapter_model.safetensors"))
    return d


BASE_CFG = {"peft_type": "LORA", "r": 4, "lora_alpha": 8}
PFX = "base_model.model.model.layers.{}.self_attn.q_proj"


def test_rank_and_alpha_patterns_and_rslora(tmp_path):
    """Per-module overrides keyed by suffix or regex, as peft's get_pattern_key matches them."""
    t = {}
    for i, r in enumerate((4, 2, 6)):
        t[PFX.format(i) + ".lora_A.weight"] = torch.ones(r, 5)
        t[PFX.format(i) + ".lora_B.weight"] = torch.ones(3, r)
    cfg = dict(BASE_CFG, rank_pattern={"layers.1.self_attn.q_proj": 2, r"layers\.2\..*q_proj": 6},
               alpha_pattern={"layers.2.self_attn.q_proj": 12})
    layers = analyze_adapter(_write_adapter(tmp_path / "a", cfg, t))
    assert [(d["block"], d["r"], d["alpha"], d["scaling"]) for d in layers] == [
        (0, 4, 8.0, 2.0), (1, 2, 8.0, 4.0), (2, 6, 12.0, 2.0)]
    # ones(3, r) @ ones(r, 5) has one singular value r*sqrt(15); times scaling
    for d in layers:
        assert d["singular_values"][0] == pytest.approx(d["scaling"] * d["r"] * math.sqrt(15))
        assert d["thr_1e-5"] == 1
    rs = analyze_adapter(_write_adapter(tmp_path / "b", dict(BASE_CFG, r=4, use_rslora=True),
                                        {k: v for k, v in t.items() if ".0." in k}))
    assert rs[0]["scaling"] == 4.0  # 8 / sqrt(4)


# ---------------------------------------------------------------- errors


def _one_pair():
    return {PFX.format(0) + ".lora_A.weight": torch.ones(4, 5), PFX.format(0) + ".lora_B.weight": torch.ones(3, 4)}


def test_error_missing_dir(tmp_path):
    with pytest.raises(AdapterError, match="no such adapter directory") as e:
        analyze_adapter(tmp_path / "nope")
    assert str(tmp_path / "nope") in str(e.value)


def test_error_missing_files(tmp_path):
    d = _write_adapter(tmp_path / "a", BASE_CFG, _one_pair())
    (d / "adapter_model.safetensors").unlink()
    with pytest.raises(AdapterError, match="missing adapter_model.safetensors"):
        analyze_adapter(d)
    d = _write_adapter(tmp_path / "b", BASE_CFG, _one_pair())
    (d / "adapter_config.json").unlink()
    with pytest.raises(AdapterError, match="missing adapter_config.json"):
        analyze_adapter(d)


def test_error_corrupt_and_truncated_safetensors(tmp_path):
    d = _write_adapter(tmp_path / "a", BASE_CFG, _one_pair())
    good = (d / "adapter_model.safetensors").read_bytes()
    (d / "adapter_model.safetensors").write_bytes(good[: len(good) - 7])
    with pytest.raises(AdapterError, match="cannot read safetensors") as e:
        analyze_adapter(d)
    assert "adapter_model.safetensors" in str(e.value)
    (d / "adapter_model.safetensors").write_bytes(b"\x00garbage" * 13)
    with pytest.raises(AdapterError, match="cannot read safetensors"):
        analyze_adapter(d)


def test_error_not_lora(tmp_path):
    d = _write_adapter(tmp_path / "a", {"peft_type": "IA3", "target_modules": ["q_proj"]}, _one_pair())
    with pytest.raises(AdapterError, match="not a LoRA adapter.*IA3"):
        analyze_adapter(d)
    (d / "adapter_config.json").write_text("{not json")
    with pytest.raises(AdapterError, match="unreadable JSON"):
        analyze_adapter(d)


def test_error_unpaired_and_shape_mismatch(tmp_path):
    t = _one_pair()
    del t[PFX.format(0) + ".lora_B.weight"]
    with pytest.raises(AdapterError, match="q_proj has lora_A but no lora_B"):
        analyze_adapter(_write_adapter(tmp_path / "a", BASE_CFG, t))
    with pytest.raises(AdapterError, match="config gives r=2"):
        analyze_adapter(_write_adapter(tmp_path / "b", dict(BASE_CFG, r=2), _one_pair()))
    with pytest.raises(AdapterError, match="no lora_A/lora_B"):
        analyze_adapter(_write_adapter(tmp_path / "c", BASE_CFG, {"other.weight": torch.ones(2)}))


def test_error_is_value_error():
    assert issubclass(AdapterError, ValueError)


def test_cli_error_exit_2_one_line(tmp_path, capsys):
    # in-process first (cheap), then one real subprocess for the exit status
    with pytest.raises(SystemExit) as info:
        main([str(tmp_path / "nope")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("python -m helpers.rank: error: ")
    d = tmp_path / "bad"
    d.mkdir()
    (d / "adapter_config.json").write_text(json.dumps(BASE_CFG))
    (d / "adapter_model.safetensors").write_bytes(b"garbage")
    res = _run_cli(d)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.count("\n") == 1
    assert res.stderr.startswith("python -m helpers.rank: error: ") and str(d) in res.stderr


def test_cli_help_and_bad_thresholds(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for opt in ("--json", "--singular-values", "--thresholds", "--out", "ADAPTER_DIR"):
        assert opt in out
    with pytest.raises(SystemExit) as e:
        main(["x", "--thresholds", "2,abc"])
    assert e.value.code == 2


# ---------------------------------------------------------------- subspace overlap between adapters


def test_subspace_overlap_bounds_and_random_expectation():
    rng = np.random.default_rng(0)
    d, k = 64, 8
    basis = orthonormal(d, k, rng)
    assert subspace_overlap(basis, basis) == pytest.approx(1.0)
    assert subspace_overlap(basis[:, :4], basis) == pytest.approx(1.0)  # one subspace inside the other
    draws = [subspace_overlap(orthonormal(d, k, rng), orthonormal(d, k, rng)) for _ in range(400)]
    assert np.mean(draws) == pytest.approx(random_overlap(k, k, d), abs=0.01)  # k/d = 0.125


def test_compare_an_adapter_with_itself_and_with_another(trained_adapter, tmp_path):
    rows = compare_adapters(trained_adapter, trained_adapter, ks=[1, 2])
    assert len(rows) == 4 and all(r["phi_out"] == pytest.approx([1.0, 1.0]) and r["phi_in"] == pytest.approx([1.0, 1.0])
                                  for r in rows)
    assert rows[1]["random_in"] == [1 / 128, 2 / 128] and rows[1]["random_out"] == [1 / 32, 2 / 32]
    # the same layers with independent random rank-2 updates: overlap near the random value, far below 1
    pm = _tiny_peft_model()
    rng = np.random.default_rng(11)
    for name, mod in pm.named_modules():
        if hasattr(mod, "lora_A") and "default" in getattr(mod, "lora_A", {}):
            with torch.no_grad():
                mod.lora_A["default"].weight.copy_(torch.tensor(rng.standard_normal(mod.lora_A["default"].weight.shape)))
                mod.lora_B["default"].weight.copy_(torch.tensor(rng.standard_normal(mod.lora_B["default"].weight.shape)))
    pm.save_pretrained(tmp_path / "other")
    other = compare_adapters(trained_adapter, tmp_path / "other")
    assert other[0]["k"] == [1, 2, 4, 8]  # powers of two up to r = 8
    assert all(max(r["phi_in"][:2]) < 0.5 for r in other)


def test_compare_refuses_adapters_of_different_layers(trained_adapter, tmp_path, capsys):
    from peft import LoraConfig, get_peft_model
    from transformers import GPT2Config, GPT2LMHeadModel

    model = GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=50, n_positions=64))
    get_peft_model(model, LoraConfig(r=8, lora_alpha=4, target_modules=["mlp.c_proj"], fan_in_fan_out=True)
                   ).save_pretrained(tmp_path / "mlp-only")
    with pytest.raises(AdapterError, match="--compare: the adapters adapt different layers"):
        compare_adapters(trained_adapter, tmp_path / "mlp-only")
    with pytest.raises(SystemExit) as exit_:
        main([str(trained_adapter), "--compare", str(tmp_path / "mlp-only")])
    assert exit_.value.code == 2 and "adapt different layers" in capsys.readouterr().err


def test_cli_compare_prints_a_table_and_json(trained_adapter, capsys):
    assert main([str(trained_adapter), "--compare", str(trained_adapter)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["layer", "k", "phi_out", "random", "phi_in", "random"] and len(lines) == 1 + 4 * 4
    assert main([str(trained_adapter), "--compare", str(trained_adapter), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["phi_out"][:2] == pytest.approx([1.0, 1.0])


def test_cli_module_keeps_the_named_layers_only(trained_adapter, capsys):
    every = [l["layer"] for l in analyze_adapter(trained_adapter)]
    wanted = every[0].rsplit(".", 2)[-2] + "." + every[0].rsplit(".", 1)[-1]  # e.g. "attn.c_attn"
    assert main([str(trained_adapter), "--json", "--module", wanted]) == 0
    got = [row["layer"] for row in json.loads(capsys.readouterr().out)]
    assert got == [l for l in every if l.endswith("." + wanted)] and 0 < len(got) < len(every)
    assert main([str(trained_adapter), "--compare", str(trained_adapter), "--json", "--module", wanted]) == 0
    assert [row["layer"] for row in json.loads(capsys.readouterr().out)] == got
    with pytest.raises(SystemExit) as exit_:
        main([str(trained_adapter), "--module", "nothing.here"])
    assert exit_.value.code == 2 and "--module: " in capsys.readouterr().err
