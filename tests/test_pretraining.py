"""The pretraining stand-in: every label is what its part asks for, it never uses the tasks' format,
batches are seeded per step, bad settings are refused before training."""
import random

import pytest

from helpers.base_training import hash_token_ids, training_batch
from helpers.encoding import IGNORE
from helpers.profiles import get_profile
from helpers.pretraining import MAX_LENGTH, PARTS, PretrainConfig, Vocab, pretraining_batch, pretraining_sequence
from helpers.tasks import HashHopConfig, TaskConfigError
from helpers.tokenizer import build_tokenizer

TOK = build_tokenizer("abcdefgh", 2, "whole")
VOCAB = Vocab.from_tokenizer(TOK, hash_token_ids(TOK, "abcdefgh", 2, "whole"))
DIGIT = {t: d for d, t in enumerate(VOCAB.digits)}


def _lines(ids):
    lines, cur = [], []
    for i, t in enumerate(ids):
        if t == VOCAB.newline:
            lines.append(cur)
            cur = []
        else:
            cur.append((i, t))
    return lines + ([cur] if cur else [])


@pytest.mark.parametrize("part", PARTS)
def test_every_part_fits_uses_no_task_format_and_scores_something(part):
    rng = random.Random(1)
    format_ids = set(TOK.convert_tokens_to_ids(["Map:", "Start:", "Hops:", "Target:", "=>", "Task: shortest path"]))
    for _ in range(200):
        ids, labels = pretraining_sequence(part, VOCAB, rng)
        assert len(ids) == len(labels) <= MAX_LENGTH
        assert not format_ids & set(ids)
        assert any(l != IGNORE for l in labels)
        assert all(l in (IGNORE, t) for l, t in zip(labels, ids))  # a label is the token at its position


def test_recall_labels_are_the_values_of_their_keys():
    rng = random.Random(2)
    for _ in range(100):
        ids, labels = pretraining_sequence("recall", VOCAB, rng)
        table = {}
        for line in _lines(ids):
            (i, key), _, (j, value) = line
            if labels[j] == IGNORE:
                table[key] = value
            else:
                assert table[key] == value


def test_index_and_count_labels_give_digits_their_meaning():
    rng = random.Random(3)
    for _ in range(100):
        ids, labels = pretraining_sequence("index", VOCAB, rng)
        lines = _lines(ids)
        items = [t for _, t in lines[0] if t != VOCAB.space]
        for (_, digit), _, (_, item) in lines[1:]:
            assert items[DIGIT[digit] - 1] == item
        ids, labels = pretraining_sequence("count", VOCAB, rng)
        lines = _lines(ids)
        n = len([t for _, t in lines[0] if t != VOCAB.space])
        assert DIGIT[lines[1][0][1]] == n
        run = [DIGIT[t] for _, t in lines[2] if t != VOCAB.space]
        assert run == list(range(run[0], run[0] + len(run)))


def test_batches_are_seeded_per_step():
    a = pretraining_batch(PARTS, VOCAB, seed=0, step=5, batch_size=8)
    b = pretraining_batch(PARTS, VOCAB, seed=0, step=5, batch_size=8)
    c = pretraining_batch(PARTS, VOCAB, seed=0, step=6, batch_size=8)
    assert a[0].equal(b[0]) and a[1].equal(b[1]) and not a[0].equal(c[0])


@pytest.mark.parametrize("bad", [{"parts": ["copy", "hashhop"]}, {"parts": []}, {"steps": -1}, {"lr": 0},
                                 {"first": "recall", "parts": ["copy"]}, {"target": 1.5}, {"batch_size": 0}])
def test_bad_settings_name_the_key(bad):
    with pytest.raises(TaskConfigError, match="pretrain."):
        PretrainConfig(**dict(get_profile("small")["pretrain"], **bad))


def test_replay_rows_come_from_the_mixture_and_curriculum_keeps_old_batches():
    task = HashHopConfig(chain_length=5, max_hops=2, hash_length=2, alphabet="abcdefgh")
    plain = training_batch(task, TOK, 0, 3, 8, 2, 1)
    assert plain[0].equal(training_batch(task, TOK, 0, 3, 8, 2, 1, curriculum=())[0])
    x, _ = training_batch(task, TOK, 0, 3, 8, 2, 1, replay=(VOCAB, PARTS, 4))
    map_id = TOK.convert_tokens_to_ids("Map:")
    assert sum(int(row[0] != map_id) for row in x) == 2  # 8 // 4 rows of the stand-in, the rest the task


def test_the_stand_in_trains_to_a_model_folder_and_bases_start_from_it(tmp_path):
    from transformers import AutoModelForCausalLM

    from helpers.bases import get_pretrained, train_base_dir, train_pretrained_dir
    from helpers.profiles import get_profile

    profile = get_profile("smoke")
    info = train_pretrained_dir(profile, tmp_path / "pretrained", progress=False)
    assert info["curve"] and (tmp_path / "pretrained" / "model.safetensors").exists()
    assert AutoModelForCausalLM.from_pretrained(tmp_path / "pretrained").config.n_layer == profile["model"]["n_layer"]
    cached = get_pretrained(profile, progress=False, runs_root=tmp_path / "runs")
    assert cached.parent.parent.parent == tmp_path / "runs"
    assert get_pretrained(profile, progress=False, runs_root=tmp_path / "runs") == cached  # a finished run is reused
    base = train_base_dir("hashhop", profile, tmp_path / "base", progress=False, runs_root=tmp_path / "runs")
    assert base["config"]["pretrain"] == profile["pretrain"] and base["stopped_at_time_limit"] is False


def test_a_bad_base_setting_is_refused_before_the_stand_in_trains(tmp_path):
    from helpers.bases import train_base_dir
    from helpers.profiles import get_profile

    profile = get_profile("smoke", {"model": {"n_positions": 16}})
    with pytest.raises(TaskConfigError, match="n_positions"):
        train_base_dir("hashhop", profile, tmp_path / "base", progress=False, runs_root=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


def test_a_time_boxed_base_is_kept_only_on_request(tmp_path):
    from helpers.bases import train_base_dir
    from helpers.profiles import get_profile

    profile = get_profile("smoke", {"base": {"recipe": {"steps": 400, "eval_every": 1}}})
    assert train_base_dir("hashhop", profile, tmp_path / "a", progress=False, runs_root=tmp_path / "runs",
                          checkpoint_dir=tmp_path / "ck", time_limit_s=0.0) is None
    assert not (tmp_path / "a").exists()
    info = train_base_dir("hashhop", profile, tmp_path / "b", progress=False, runs_root=tmp_path / "runs",
                          time_limit_s=0.0, keep_at_limit=True)
    assert info["stopped_at_time_limit"] is True and (tmp_path / "b" / "model.safetensors").exists()
