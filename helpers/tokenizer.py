"""A tokenizer for the hash tasks, built here (no model hub), saved as a standard HF tokenizer.

The format words are single tokens (``Map:``, ``Start:``, ``Hops:``, ``Task: shortest path``,
``Target:``, ``=>``, newline, space); hashes are either one token per character (``"char"``, as
GPT-2's byte-level BPE roughly does) or one token per whole hash (``"whole"``, which the
from-scratch base recipe needs; it requires the hash space to be small)::

    >>> tok = build_tokenizer(alphabet="abcdefgh", hash_length=2, hash_tokens="whole")
    >>> tok.convert_ids_to_tokens(tok("Start: ab\\nHops: 12\\nTarget: hc")["input_ids"])
    ['Start:', ' ', 'ab', '\\n', 'Hops:', ' ', '1', '2', '\\n', 'Target:', ' ', 'hc']

Digits that are not part of a hash are single tokens. Decoding is lossless: ``decode(encode(t)) == t``.
The result is a ``PreTrainedTokenizerFast``: ``save_pretrained`` writes it and plain
``AutoTokenizer.from_pretrained(dir)`` loads it back.
"""
from __future__ import annotations

import itertools
import re

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from .tasks import PAPER_ALPHABET, TaskConfigError

FORMAT_PHRASES = ["Map:", "Start:", "Hops:", "Task: shortest path", "Target:"]
SYMBOLS = ["=>", "\n", " "] + list("0123456789")
SPECIAL = {"pad_token": "<pad>", "eos_token": "<eos>", "unk_token": "<unk>"}
HASH_TOKENS = ("char", "whole")
MAX_WHOLE_HASH_VOCAB = 65536


def build_tokenizer(alphabet: str = PAPER_ALPHABET, hash_length: int = 4,
                    hash_tokens: str = "char") -> PreTrainedTokenizerFast:
    if hash_tokens not in HASH_TOKENS:
        raise TaskConfigError(f"hash_tokens: allowed values are {HASH_TOKENS}, got {hash_tokens!r}")
    if hash_tokens == "whole" and len(alphabet) ** hash_length > MAX_WHOLE_HASH_VOCAB:
        raise TaskConfigError(f"hash_tokens: 'whole' needs at most {MAX_WHOLE_HASH_VOCAB} possible hashes, "
                              f"{len(alphabet)}^{hash_length} is more; use hash_tokens='char' or shorter hashes")
    if hash_tokens == "whole":
        hashes = ["".join(p) for p in itertools.product(alphabet, repeat=hash_length)]
        split = f"=>|[{re.escape(alphabet)}]{{{hash_length}}}|[\\s\\S]"
    else:
        hashes = list(alphabet)
        split = "=>|[\\s\\S]"
    vocab: dict[str, int] = {}
    for token in list(SPECIAL.values()) + FORMAT_PHRASES + SYMBOLS + hashes:
        vocab.setdefault(token, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab, unk_token=SPECIAL["unk_token"]))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(split), behavior="isolated")
    tok.decoder = decoders.Fuse()
    tok.add_tokens([AddedToken(p, normalized=False, single_word=False) for p in FORMAT_PHRASES])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=4096, **SPECIAL)
    fast.init_kwargs.update(hash_alphabet=alphabet, hash_length=hash_length, hash_tokens=hash_tokens)
    return fast


def tokenizer_from_profile(tok_cfg: dict) -> PreTrainedTokenizerFast:
    return build_tokenizer(tok_cfg["alphabet"], tok_cfg["hash_length"], tok_cfg["hash_tokens"])
