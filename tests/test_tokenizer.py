"""The task tokenizer: lossless, whole-hash tokens, single-token format phrases, HF save/load,
validation, and the concatenation property the training code relies on."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.tasks import PAPER_ALPHABET, HashChainConfig, HashHopConfig, TaskConfigError, generate
from helpers.tokenizer import FORMAT_PHRASES, MAX_WHOLE_HASH_VOCAB, build_tokenizer, tokenizer_from_profile

MODES = {
    "char": dict(alphabet=PAPER_ALPHABET, hash_length=4, hash_tokens="char"),
    "whole": dict(alphabet="abcdefgh", hash_length=2, hash_tokens="whole"),
}
_CACHE: dict = {}


def tokenizer(mode: str):
    if mode not in _CACHE:
        _CACHE[mode] = build_tokenizer(**MODES[mode])
    return _CACHE[mode]


def configs(mode: str):
    kw = dict(alphabet=MODES[mode]["alphabet"], hash_length=MODES[mode]["hash_length"])
    return [HashHopConfig(**kw), HashChainConfig(**kw)]


def samples(mode: str, n: int = 20, seed: int = 0):
    return [s for cfg in configs(mode) for s in generate(cfg, n, seed)]


def ids(tok, text: str) -> list[int]:
    return tok(text, add_special_tokens=False)["input_ids"]


def hash_occurrences(text: str, alphabet: str, hash_length: int) -> list[str]:
    """Hashes in a prompt/text: map sides, the start, and the answer after 'Target: '."""
    h = f"[{re.escape(alphabet)}]{{{hash_length}}}"
    return re.findall(rf"(?:(?<=\n)|(?<=Start: )|(?<==>)|(?<=Target: )){h}(?=$|\n|=>)", text)


# ----------------------------------------------------------------------------- lossless
@pytest.mark.parametrize("mode", MODES)
def test_encode_decode_lossless_on_samples(mode):
    tok = tokenizer(mode)
    for s in samples(mode):
        for text in (s.prompt, s.text, " " + s.answer):
            enc = ids(tok, text)
            assert tok.unk_token_id not in enc, text
            assert tok.decode(enc) == text
    # calling the tokenizer plainly adds no special token
    s = samples(mode, 1)[0]
    assert tok(s.text)["input_ids"] == ids(tok, s.text)


@pytest.mark.parametrize("mode", MODES)
def test_hash_tokens(mode):
    tok = tokenizer(mode)
    alphabet, hash_length = MODES[mode]["alphabet"], MODES[mode]["hash_length"]
    for s in samples(mode, 10):
        tokens = tok.convert_ids_to_tokens(ids(tok, s.text))
        occurrences = hash_occurrences(s.text, alphabet, hash_length)
        n_links = s.prompt.count("=>")
        assert len(occurrences) == 2 * n_links + 2  # map sides + start + answer
        if mode == "whole":
            hash_like = [t for t in tokens if re.fullmatch(f"[{alphabet}]+", t)]
            assert hash_like == occurrences  # exactly one token per hash, in order
            assert all(len(t) == hash_length for t in hash_like)
        else:
            alpha_tokens = [t for t in tokens if len(t) == 1 and t in alphabet]
            assert all(len(t) == 1 for t in tokens if t not in FORMAT_PHRASES and t != "=>")
            assert len(alpha_tokens) >= hash_length * len(occurrences)


def test_whole_tokens_one_per_hash_in_docstring_example():
    tok = tokenizer("whole")
    text = "Start: ab\nHops: 12\nTarget: hc"
    assert tok.convert_ids_to_tokens(ids(tok, text)) == \
        ["Start:", " ", "ab", "\n", "Hops:", " ", "1", "2", "\n", "Target:", " ", "hc"]
    assert len(tok) == 3 + len(FORMAT_PHRASES) + 13 + 8 ** 2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("phrase", FORMAT_PHRASES + ["=>", "\n", " "])
def test_format_phrases_are_single_tokens(mode, phrase):
    tok = tokenizer(mode)
    enc = ids(tok, phrase)
    assert len(enc) == 1
    assert tok.convert_ids_to_tokens(enc) == [phrase]


@pytest.mark.parametrize("mode", MODES)
def test_format_phrases_single_tokens_in_context(mode):
    tok = tokenizer(mode)
    for s in samples(mode, 3):
        tokens = tok.convert_ids_to_tokens(ids(tok, s.prompt))
        assert tokens[0] == "Map:" and tokens[-1] == "Target:"
        assert "Start:" in tokens
        assert ("Hops:" in tokens) == (s.task == "hashhop")
        assert ("Task: shortest path" in tokens) == (s.task == "hashchain")
        assert tokens.count("=>") == s.prompt.count("=>")


# ----------------------------------------------------------------------------- save / load
@pytest.mark.parametrize("mode", MODES)
def test_save_pretrained_and_auto_tokenizer(tmp_path, mode):
    from transformers import AutoTokenizer

    tok = tokenizer(mode)
    tok.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert loaded.get_vocab() == tok.get_vocab()
    assert (loaded.pad_token, loaded.eos_token, loaded.unk_token) == ("<pad>", "<eos>", "<unk>")
    assert (loaded.pad_token_id, loaded.eos_token_id) == (tok.pad_token_id, tok.eos_token_id)
    for s in samples(mode, 5):
        assert loaded(s.text)["input_ids"] == tok(s.text)["input_ids"]
        assert loaded.decode(ids(loaded, s.text)) == s.text


def test_tokenizer_from_profile():
    tok = tokenizer_from_profile({"alphabet": "abcdefgh", "hash_length": 2, "hash_tokens": "whole"})
    assert tok.get_vocab() == tokenizer("whole").get_vocab()


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize("bad", ["bpe", "", "Whole", None])
def test_invalid_hash_tokens(bad):
    with pytest.raises(TaskConfigError, match=r"^hash_tokens:"):
        build_tokenizer(hash_tokens=bad)


@pytest.mark.parametrize("alphabet,hash_length", [(PAPER_ALPHABET, 4), ("abcdefgh", 6), ("0123456789abcdefg", 4)])
def test_whole_vocabulary_too_large(alphabet, hash_length):
    assert len(alphabet) ** hash_length > MAX_WHOLE_HASH_VOCAB
    with pytest.raises(TaskConfigError, match=r"^hash_tokens:"):
        build_tokenizer(alphabet=alphabet, hash_length=hash_length, hash_tokens="whole")


def test_whole_vocabulary_at_the_limit_and_char_mode_any_size():
    # the same sizes work in char mode
    assert len(build_tokenizer(PAPER_ALPHABET, 4, "char")) == 3 + len(FORMAT_PHRASES) + 13 + 26
    small = build_tokenizer("abcd", 3, "whole")
    assert len(small) == 3 + len(FORMAT_PHRASES) + 13 + 64
    # exactly MAX_WHOLE_HASH_VOCAB possible hashes is allowed (16^4 = 65536)
    limit = build_tokenizer("0123456789abcdef", 4, "whole")
    assert 16 ** 4 == MAX_WHOLE_HASH_VOCAB
    assert len(limit) == 3 + len(FORMAT_PHRASES) + 13 + 16 ** 4
    text = "Map:\n0a9f=>ffff\nStart: 0a9f\nHops: 1\nTarget: ffff"
    assert limit.convert_ids_to_tokens(ids(limit, text)) == \
        ["Map:", "\n", "0a9f", "=>", "ffff", "\n", "Start:", " ", "0a9f", "\n", "Hops:", " ", "1", "\n",
         "Target:", " ", "ffff"]


# ----------------------------------------------------------------------------- concatenation property
@settings(max_examples=50, deadline=None)
@given(mode=st.sampled_from(sorted(MODES)), task=st.sampled_from([0, 1]), seed=st.integers(0, 2**32))
def test_concatenation_property(mode, task, seed):
    tok = tokenizer(mode)
    (s,) = generate(configs(mode)[task], 1, seed)
    whole = ids(tok, s.prompt + " " + s.answer)
    assert whole == ids(tok, s.prompt) + ids(tok, " " + s.answer)
    assert tok(s.text)["input_ids"] == tok(s.prompt)["input_ids"] + tok(" " + s.answer)["input_ids"]
    assert tok.unk_token_id not in whole


@settings(max_examples=50, deadline=None)
@given(mode=st.sampled_from(sorted(MODES)), seed=st.integers(0, 2**32), data=st.data())
def test_concatenation_property_any_hash_answer(mode, seed, data):
    """Any hash of the alphabet as the answer (also wrong ones a model may produce)."""
    tok = tokenizer(mode)
    (s,) = generate(configs(mode)[seed % 2], 1, seed)
    alphabet, hash_length = MODES[mode]["alphabet"], MODES[mode]["hash_length"]
    answer = data.draw(st.text(alphabet=alphabet, min_size=hash_length, max_size=hash_length))
    assert ids(tok, s.prompt + " " + answer) == ids(tok, s.prompt) + ids(tok, " " + answer)
    assert tok.decode(ids(tok, " " + answer)) == " " + answer
