"""Turn samples into token ids, labels and right-padded batches.

A sample is scored on its continuation ``" " + answer``: labels are ``-100`` on the prompt and on
padding, so neither counts in the loss (the reference padded with a real token and trained on it).
Prompt and continuation are tokenized separately and concatenated, which for GPT-2's BPE keeps the
leading space with the answer, as in running text.

With right padding a causal model needs no attention mask: a real token never attends to a
later (padding) position, so training and teacher-forced evaluation skip the mask.
"""
from __future__ import annotations

import itertools
import random

import torch

from .tasks import ANSWER_SEPARATOR, Sample, TaskConfigError, generate

IGNORE = -100


def encode(tokenizer, sample: Sample) -> tuple[list[int], list[int]]:
    """``(input_ids, labels)`` for one sample; labels mark the continuation tokens only."""
    prompt = tokenizer(sample.prompt, add_special_tokens=False)["input_ids"]
    answer = tokenizer(ANSWER_SEPARATOR + sample.answer, add_special_tokens=False)["input_ids"]
    return prompt + answer, [IGNORE] * len(prompt) + answer


def encode_segments(tokenizer, sequences: list[list[tuple[str, bool]]]) -> list[tuple[list[int], list[int]]]:
    """Each sequence is a list of text segments ``(text, supervised)``, concatenated; supervised
    segments are labelled. Used for the base model's dense training sequences (one map, several
    queries). All segments of all sequences go through the tokenizer in one batched call."""
    flat = [text for segments in sequences for text, _ in segments]
    parts = iter(tokenizer(flat, add_special_tokens=False)["input_ids"]) if flat else iter(())
    out = []
    for segments in sequences:
        ids, labels = [], []
        for _, supervised in segments:
            part = next(parts)
            ids += part
            labels += part if supervised else [IGNORE] * len(part)
        out.append((ids, labels))
    return out


def collate(encoded: list[tuple[list[int], list[int]]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad to the longest sequence; labels are already shifted by the model's loss."""
    width = max(len(ids) for ids, _ in encoded)
    x = torch.full((len(encoded), width), pad_id, dtype=torch.long)
    y = torch.full((len(encoded), width), IGNORE, dtype=torch.long)
    for row, (ids, labels) in enumerate(encoded):
        x[row, :len(ids)] = torch.tensor(ids)
        y[row, :len(labels)] = torch.tensor(labels)
    return x, y


def check_tokenizer_covers(tokenizer, task, what: str = "the tokenizer", n_hashes: int = 2000) -> None:
    """Refuse a task the tokenizer cannot encode one-to-one, before any training: a hash (or prompt)
    that becomes ``<unk>``, does not decode back to itself, or shares its token ids with another hash
    would let distinct hashes compare equal and a wrong answer score as right. Checks every hash when
    there are at most ``n_hashes``, else a seeded sample of them, and a few whole prompts.

    >>> from helpers.tokenizer import build_tokenizer
    >>> from helpers.tasks import HashHopConfig
    >>> check_tokenizer_covers(build_tokenizer("ab", 1, "char"), HashHopConfig(5, 1, 2, 3, "abc"))
    Traceback (most recent call last):
    ...
    helpers.tasks.TaskConfigError: alphabet: the tokenizer cannot encode hash 'aac' one-to-one (it becomes 'aa<unk>'); the task's alphabet 'abc' and hash_length 3 must be ones the tokenizer was built for
    """
    alphabet, length = task.alphabet, task.hash_length
    if len(alphabet) ** length <= n_hashes:
        hashes = ["".join(h) for h in itertools.product(alphabet, repeat=length)]
    else:
        rng = random.Random(0)
        hashes = sorted({"".join(rng.choice(alphabet) for _ in range(length)) for _ in range(n_hashes)})
    ids = tokenizer(hashes, add_special_tokens=False)["input_ids"]
    unk = tokenizer.unk_token_id
    seen: dict[tuple, str] = {}
    for hash_, row in zip(hashes, ids):
        decoded = tokenizer.decode(row)
        clash = seen.setdefault(tuple(row), hash_)
        if (unk is not None and unk in row) or decoded != hash_ or clash != hash_:
            shown = f"shares its tokens with {clash!r}" if clash != hash_ else f"it becomes {decoded!r}"
            raise TaskConfigError(f"alphabet: {what} cannot encode hash {hash_!r} one-to-one ({shown}); the task's "
                                  f"alphabet {alphabet!r} and hash_length {length} must be ones the tokenizer was built for")
    for sample in generate(task, 4, seed=0):
        text = sample.prompt + " " + sample.answer
        row = tokenizer(text, add_special_tokens=False)["input_ids"]
        if (unk is not None and unk in row) or tokenizer.decode(row) != text:
            raise TaskConfigError(f"task: {what} cannot encode the {task.task} prompt format one-to-one "
                                  f"(a prompt decodes to {tokenizer.decode(row)[:60]!r}...)")
