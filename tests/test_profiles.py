import pytest

from helpers.profiles import PROFILES, get_profile
from helpers.tasks import TaskConfigError


def test_every_profile_builds_and_names_itself():
    for name in PROFILES:
        assert get_profile(name)["name"] == name


def test_overrides_merge_deeply_without_touching_the_source():
    p = get_profile("small", {"lora": {"ranks": [4]}, "model": {"n_layer": 2}})
    assert p["lora"]["ranks"] == [4] and p["model"]["n_layer"] == 2
    assert p["lora"]["steps"] == PROFILES["small"]["lora"]["steps"]  # siblings kept
    assert PROFILES["small"]["lora"]["ranks"] != [4]                 # the table is not mutated


def test_unknown_profile_and_unknown_keys_are_errors():
    with pytest.raises(TaskConfigError, match="PROFILE"):
        get_profile("tiny")
    with pytest.raises(TaskConfigError, match="lora.nope"):
        get_profile("small", {"lora": {"nope": 1}})


def test_paper_profile_has_the_papers_sizes():
    p = get_profile("paper")
    assert (p["model"]["n_layer"], p["model"]["n_embd"], p["model"]["n_head"]) == (12, 768, 12)
    assert p["lora"]["ranks"] == [8, 16, 32, 64, 128, 256]
    assert (p["lora"]["batch_size"], p["lora"]["lr"]) == (16, 3e-5)
    assert p["tokenizer"] == {"alphabet": "abcdefghijklmnopqrstuvwxyz0123456789", "hash_length": 4, "hash_tokens": "char"}
