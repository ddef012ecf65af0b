"""Turn samples into token ids, labels and right-padded batches.

A sample is scored on its continuation ``" " + answer``: labels are ``-100`` on the prompt and on
padding, so neither counts in the loss (the reference padded with a real token and trained on it).
Prompt and continuation are tokenized separately and concatenated, which for GPT-2's BPE keeps the
leading space with the answer, as in running text.

With right padding a causal model needs no attention mask: a real token never attends to a
later (padding) position, so training and teacher-forced evaluation skip the mask.
"""
from __future__ import annotations

import torch

from .tasks import ANSWER_SEPARATOR, Sample

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
