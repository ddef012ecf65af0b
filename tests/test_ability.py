"""The pieces notebook 03 rests on, end to end on the tiny base: greedy answers agree with exact
match, ``diagnose`` compares paired prompts, exported adapters load without training."""
import json

from helpers.diagnostics import answer_points, greedy_answers
from helpers.evaluation import evaluate_points, exact_match, point_samples
from helpers.experiments import diagnose
from helpers.lora import export_adapter, load_adapter, train_lora_run
from helpers.model import load_pretrained
from helpers.tasks import HashHopConfig, config_from_dict

TASK = HashHopConfig(chain_length=5, min_hops=1, max_hops=2, hash_length=2, alphabet="abcdefgh")


def test_greedy_answers_are_right_exactly_when_exact_match_says_so(tiny_base):
    model, tokenizer = load_pretrained(tiny_base)
    samples = [s for g in point_samples(TASK, [1, 2, 3], 40).values() for s in g]
    answers = greedy_answers(model, tokenizer, samples)
    assert [a == s.answer for a, s in zip(answers, samples)] == exact_match(model, tokenizer, samples)


def test_the_table_from_greedy_answers_is_the_exact_match_table(tiny_base):
    """A LoRA run scores its accuracy table from the greedy answers it stores (one pass, not two)."""
    from helpers.evaluation import answers_table
    model, tokenizer = load_pretrained(tiny_base)
    got = answer_points(model, tokenizer, TASK, [1, 2, 3], 40)
    assert answers_table(TASK, got) == evaluate_points(model, tokenizer, TASK, [1, 2, 3], 40)


def test_diagnose_pairs_the_same_prompts_and_checks_the_criteria(tiny_base):
    model, tokenizer = load_pretrained(tiny_base)
    got = answer_points(model, tokenizer, TASK, [1, 2], 30)
    table = evaluate_points(model, tokenizer, TASK, [1, 2], 30)
    d = diagnose("planning", got, got, [1, 2])
    assert [r["accuracy"] for r in d["rows"]] == [r["accuracy"] for r in table]
    assert all(r["vs_base"]["b"] == r["vs_base"]["c"] == 0 for r in d["rows"])  # a model against itself
    assert all(sum(r["positions"].values()) == r["n"] for r in d["rows"])
    assert {c["what"] for c in d["criteria"]["checks"]} >= {"most common answer position", "accuracy"}


def test_exported_adapter_loads_from_its_info_alone(lora_config, tmp_path):
    result = train_lora_run(lora_config(), root=tmp_path / "runs", progress=False)
    out = export_adapter(result, tmp_path / "adapters" / "planning-test-r2")
    info = json.loads((out / "adapter_info.json").read_text())
    assert set(info["task"]) == {"chain_length", "min_hops", "max_hops"} and info["task_name"] == "hashhop"
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == info["base"] and not (out.parent / "planning-test-r2.tmp").exists()
    model, tokenizer = load_adapter(info["base"], str(out))
    task = config_from_dict({"task": info["task_name"], **info["task"], **info["hashes"]})
    table = evaluate_points(model, tokenizer, task, info["eval_points"], info["eval_n"])
    assert [r["accuracy"] for r in table] == [r["accuracy"] for r in info["accuracy"]]


def test_greedy_answers_of_prompts_of_different_lengths(tiny_base):
    from helpers.tasks import HashChainConfig, generate
    model, tokenizer = load_pretrained(tiny_base)
    samples = generate(HashChainConfig(chain_lengths=(2, 3, 4), num_chains=(2, 3), hash_length=2, alphabet="abcdefgh"), 60, 1)
    assert len({len(s.prompt) for s in samples}) > 1
    answers = greedy_answers(model, tokenizer, samples)
    assert [a == s.answer for a, s in zip(answers, samples)] == exact_match(model, tokenizer, samples)
    for s, a in list(zip(samples, answers))[:12]:  # each answer is the continuation of its own prompt
        x = tokenizer(s.prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
        out = model.generate(input_ids=x, attention_mask=x.new_ones(x.shape), max_new_tokens=2, do_sample=False,
                             pad_token_id=tokenizer.pad_token_id)
        assert tokenizer.decode(out[0, x.shape[1]:]).strip() == a


def test_model_answers_of_a_fully_fine_tuned_model_folder():
    """A folder without an adapter is a whole model (a full fine-tuning run's ``model/``): answered as
    such, not loaded as an adapter. The committed base itself, given that way, answers as the base."""
    from helpers.experiments import base_for, model_answers
    from helpers.profiles import get_profile
    profile = get_profile("small", {"eval": {"n_per_point": 8}, "lora": {"eval_hops": [1, 3]}})
    whole = model_answers(profile, "planning", str(base_for(profile, "planning")))
    assert {p: g["answers"] for p, g in whole.items()} == {p: g["answers"] for p, g in model_answers(profile, "planning").items()}


def test_eval_bench_arms_give_the_same_table(tiny_base):
    """tools.eval_bench times two evaluations that must agree: the old two-pass one and the one pass."""
    from tools.eval_bench import after, before
    model, tokenizer = load_pretrained(tiny_base)
    assert before(model, tokenizer, TASK, [1, 2, 3], 24) == after(model, tokenizer, TASK, [1, 2, 3], 24)


def _committed_adapters():
    from helpers.paths import BASES
    return sorted((BASES / "adapters").glob("*-small-*"))


def test_the_small_profile_commits_adapters_of_both_layers():
    names = {p.name for p in _committed_adapters()}
    assert {"planning-small-r64", "reasoning-small-r64", "planning-small-attn-r64", "reasoning-small-attn-r64",
            "planning-small-mlp-r64", "reasoning-small-mlp-r64", "planning-small-rslora-r64",
            "reasoning-small-rslora-r64", "planning-small-x16-r64", "reasoning-small-x16-r64",
            "planning-small-x16-r16", "reasoning-small-x16-r16", "planning-small-x16-r32", "reasoning-small-x16-r32"} <= names


def test_committed_small_adapters_score_what_they_record():
    """Each committed example adapter loads from its info alone, on its committed base (same checksum), and
    scores what its ``adapter_info.json`` records at its hardest trained point, on the same prompts."""
    import hashlib
    from helpers.paths import REPO_ROOT
    for folder in _committed_adapters():
        info = json.loads((folder / "adapter_info.json").read_text())
        weights = REPO_ROOT / info["base"] / "model.safetensors"
        assert hashlib.sha256(weights.read_bytes()).hexdigest() == info["base_checksum"], folder.name
        model, tokenizer = load_adapter(info["base"], str(folder))
        task = config_from_dict({"task": info["task_name"], **info["task"], **info["hashes"]})
        point = info["task"]["max_hops"] if info["task_name"] == "hashhop" else sorted(info["task"]["chain_lengths"])[-2]
        (row,) = evaluate_points(model, tokenizer, task, [point], info["eval_n"])
        recorded = next(r for r in info["accuracy"] if r.get("hops", r.get("shortest")) == point)
        assert row["accuracy"] == recorded["accuracy"], folder.name


def test_a_model_folder_without_a_tokenizer_is_refused_or_takes_its_bases(tiny_base, tmp_path):
    """A full fine-tuning run's model folder holds weights only; transformers would build an empty tokenizer for it
    (every prompt 0 tokens), so it is refused unless the tokenizer comes from its base."""
    import shutil

    import pytest

    from helpers.errors import MissingFileError
    weights = tmp_path / "weights"
    weights.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(tiny_base / name, weights / name)
    with pytest.raises(MissingFileError, match="no tokenizer here"):
        load_pretrained(weights)
    model, tokenizer = load_pretrained(weights, tokenizer_from=tiny_base)
    samples = point_samples(TASK, [1], 8)[1]
    assert greedy_answers(model, tokenizer, samples) == greedy_answers(*load_pretrained(tiny_base), samples)
