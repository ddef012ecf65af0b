"""The paper's own path, from pretrained weights: a GPT-2 saved with ``save_pretrained`` (here a tiny
one with a byte-level BPE tokenizer like GPT-2's, built in a temporary folder, since no hub is
reachable) named by ``base_source`` is loaded with ``from_pretrained``, its tokenizer covers the tasks,
and LoRA runs and base evaluation work on it."""
import pytest
from tokenizers import ByteLevelBPETokenizer
from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

from helpers import experiments
from helpers.encoding import check_tokenizer_covers
from helpers.lora import train_lora_run
from helpers.model import load_pretrained
from helpers.profiles import get_profile
from helpers.tasks import config_from_dict, generate


@pytest.fixture(scope="module")
def gpt2_like(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-gpt2")
    profile = get_profile("smoke")
    corpus = [s.prompt + " " + s.answer for kind in ("planning", "reasoning")
              for s in generate(config_from_dict(experiments.task_dict(profile, kind)), 50, seed=0)]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(corpus, vocab_size=400, special_tokens=["<|endoftext|>"])
    tokenizer = GPT2TokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                  unk_token="<|endoftext|>")
    tokenizer.save_pretrained(folder)  # no pad token, as GPT-2's
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_layer=2, n_embd=32, n_head=2, n_positions=512,
                                       bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id))
    model.save_pretrained(folder, safe_serialization=True)
    return folder


def test_gpt2_weights_load_and_cover_the_tasks(gpt2_like):
    model, tokenizer = load_pretrained(gpt2_like)
    assert tokenizer.pad_token == tokenizer.eos_token  # GPT-2 has none; padding is never scored
    profile = get_profile("smoke")
    for kind in ("planning", "reasoning"):
        check_tokenizer_covers(tokenizer, config_from_dict(experiments.task_dict(profile, kind)), what="GPT-2 BPE")


def test_lora_and_base_evaluation_on_pretrained_weights(gpt2_like, tmp_path):
    profile = get_profile("smoke", {"base_source": str(gpt2_like)})
    configs = experiments.run_configs(profile, "planning", [2], [0], eval_n=4, steps=3)
    assert configs[0]["base"] == str(gpt2_like) and len(configs[0]["base_checksum"]) == 64
    result = train_lora_run(configs[0], root=tmp_path, progress=False)
    assert [r["hops"] for r in result["accuracy"]] == profile["lora"]["eval_hops"]
    rows = experiments.evaluate_base(profile, "planning")
    assert [r["hops"] for r in rows] == profile["lora"]["eval_hops"]


def test_the_papers_path_fine_tunes_pretrained_weights_on_the_base_task(gpt2_like, tmp_path, monkeypatch):
    """base_source "train" with base_init = GPT-2 weights: those weights fully fine-tuned on the base task
    (no stand-in), saved with their own tokenizer, then usable as the LoRA base."""
    from helpers import bases
    from helpers.io import read_json
    monkeypatch.setattr(bases, "RUNS", tmp_path / "runs")
    profile = get_profile("smoke", {"base_source": "train", "base_init": str(gpt2_like),
                                    "base": {"recipe": {"steps": 6, "eval_every": 3, "checkpoint_every": 3}}})
    base = bases.get_base("hashhop", profile, progress=False)
    info = read_json(base / "base_info.json")
    assert info["config"]["base_init"] == str(gpt2_like) and "pretrain" not in info["config"]
    assert info["config"]["recipe"]["lr"] == 3e-5  # the paper's fine-tuning rate, not the from-scratch 1e-3
    assert bases.base_recipe("hashhop", get_profile("smoke"))["lr"] == 1e-3
    assert [p["step"] for p in info["curve"]] == [3, 6]
    model, tokenizer = load_pretrained(base)
    assert len(tokenizer) == len(load_pretrained(gpt2_like)[1])  # the weights' own BPE tokenizer, not the hash one
    configs = experiments.run_configs(profile, "planning", [2], [0], eval_n=4, steps=2)
    assert train_lora_run(configs[0], root=tmp_path / "lora", progress=False)["accuracy"]
    assert read_json(base / "config.json")["activation_function"] != "gelu"  # no kernels asked for: GPT-2's tanh GELU


def test_the_papers_path_trains_with_fast_kernels_when_asked(gpt2_like, tmp_path, monkeypatch):
    from helpers import bases
    from helpers.io import read_json
    monkeypatch.setattr(bases, "RUNS", tmp_path / "runs")
    profile = get_profile("smoke", {"base_source": "train", "base_init": str(gpt2_like),
                                    "base": {"recipe": {"steps": 3, "eval_every": 3, "checkpoint_every": 3},
                                             "hashhop": {"kernels": "fast"}}})
    base = bases.get_base("hashhop", profile, progress=False)
    assert read_json(base / "base_info.json")["config"]["kernels"] == "fast"
    assert read_json(base / "config.json")["activation_function"] == "gelu"  # the erf GELU it trained with


def test_base_init_that_cannot_load_is_refused_before_training(tmp_path):
    from helpers.bases import train_base_dir
    from helpers.tasks import TaskConfigError
    profile = get_profile("smoke", {"base_source": "train", "base_init": str(tmp_path / "no-weights")})
    with pytest.raises(TaskConfigError, match="base_init: cannot load"):
        train_base_dir("hashhop", profile, tmp_path / "model", progress=False, runs_root=tmp_path / "runs")
    assert not (tmp_path / "model").exists()
