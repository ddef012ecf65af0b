"""Exact-match evaluation: greedy answer == true answer, no sampling, no partial credit.

Greedy decoding gets the answer right iff, at every answer position, the argmax given the *true*
prefix is the true token (if all earlier argmaxes were right, the greedy prefix *is* the true
prefix). So one batched teacher-forced forward pass gives exactly greedy decoding's verdicts;
``greedy_exact_match`` keeps the slow ``generate`` path to prove it (tests compare the two).
"""
from __future__ import annotations

from collections import defaultdict

import torch
from tqdm import tqdm

from .encoding import IGNORE, collate, encode
from .profiles import SEED_OFFSETS
from .stats import wilson_interval
from .tasks import ANSWER_SEPARATOR, HashChainConfig, HashHopConfig, Sample, chance_level, generate


def _pad_id(tokenizer) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


@torch.no_grad()
def exact_match(model, tokenizer, samples: list[Sample], batch_size: int = 256, progress: bool = False) -> list[bool]:
    """Per-sample verdicts from teacher-forced argmax, batched and length-bucketed."""
    encoded = [encode(tokenizer, s) for s in samples]
    order = sorted(range(len(samples)), key=lambda i: len(encoded[i][0]))  # similar lengths pad less
    verdicts = [False] * len(samples)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    batches = range(0, len(order), batch_size)
    for start in tqdm(batches, desc="eval", disable=not progress, leave=False):
        rows = order[start:start + batch_size]
        x, y = collate([encoded[i] for i in rows], _pad_id(tokenizer))
        logits = model(input_ids=x.to(device)).logits[:, :-1]
        target = y[:, 1:].to(device)
        supervised = target != IGNORE
        hit = (logits.argmax(-1) == target) | ~supervised
        for row, ok in zip(rows, hit.all(-1).tolist()):
            verdicts[row] = ok
    model.train(was_training)
    return verdicts


@torch.no_grad()
def greedy_exact_match(model, tokenizer, samples: list[Sample]) -> list[bool]:
    """Per-sample verdicts from ``generate`` with greedy decoding (prompts of equal length batched)."""
    device = next(model.parameters()).device
    groups = defaultdict(list)
    for i, s in enumerate(samples):
        prompt = tokenizer(s.prompt, add_special_tokens=False)["input_ids"]
        answer = tokenizer(ANSWER_SEPARATOR + s.answer, add_special_tokens=False)["input_ids"]
        groups[(len(prompt), len(answer))].append((i, prompt, answer))
    verdicts = [False] * len(samples)
    was_training = model.training
    model.eval()
    for (_, n_new), items in groups.items():
        x = torch.tensor([p for _, p, _ in items], device=device)
        out = model.generate(input_ids=x, attention_mask=torch.ones_like(x), max_new_tokens=n_new,
                             do_sample=False, pad_token_id=_pad_id(tokenizer))
        for (i, _, answer), row in zip(items, out[:, x.shape[1]:].tolist()):
            verdicts[i] = row == answer
    model.train(was_training)
    return verdicts


def accuracy_table(samples: list[Sample], verdicts: list[bool], key: str) -> list[dict]:
    """Accuracy with a Wilson interval for each value of ``sample.meta[key]`` (e.g. hops, shortest)."""
    groups = defaultdict(list)
    for s, ok in zip(samples, verdicts):
        groups[s.meta[key]].append(ok)
    rows = []
    for value in sorted(groups):
        hits, n = sum(groups[value]), len(groups[value])
        lo, hi = wilson_interval(hits, n)
        rows.append({key: value, "n": n, "correct": hits, "accuracy": hits / n, "ci_low": lo, "ci_high": hi})
    return rows


def point_config(task, point: int):
    """The task with the hop count (HashHop) or the shortest length (HashChain) fixed to ``point``;
    the chain or the allowed lengths grow when ``point`` lies beyond the training range."""
    if isinstance(task, HashHopConfig):
        return HashHopConfig(max(task.chain_length, point + 1), point, point, task.hash_length, task.alphabet)
    lengths = tuple(sorted(set(task.chain_lengths) | {point, point + 1}))
    return HashChainConfig(lengths, task.num_chains, point, task.hash_length, task.alphabet)


def point_samples(task, points: list[int], n: int, seed: int = 0) -> dict[int, list[Sample]]:
    """``n`` held-out prompts per point. Training draws from string seeds (``"seed-step"``) or
    ``generate`` seeds below 7,000,000 + ..., so these never coincide with training batches."""
    offset, per_seed = SEED_OFFSETS["heldout"], SEED_OFFSETS["heldout_per_seed"]
    return {p: generate(point_config(task, p), n, seed=offset + per_seed * seed + p) for p in points}


def point_key(task) -> str:
    """The sample-meta key a task's evaluation points are: ``hops`` (HashHop) or ``shortest`` (HashChain)."""
    return "hops" if isinstance(task, HashHopConfig) else "shortest"


def points_table(task, samples: list[Sample], verdicts: list[bool]) -> list[dict]:
    """Accuracy with 95% intervals and the chance level (a uniform guess among the map's hashes
    other than the start) per hop count (HashHop) or shortest length (HashChain)."""
    key = point_key(task)
    table = accuracy_table(samples, verdicts, key)
    for row in table:
        group = [chance_level(s) for s in samples if s.meta[key] == row[key]]
        row["chance"] = sum(group) / len(group)
    return table


def answers_table(task, got: dict) -> list[dict]:
    """``points_table`` of greedy answers already computed per point (``diagnostics.answer_points``'
    ``{point: {"samples", "answers", "correct"}}``): no second forward pass over the same prompts."""
    return points_table(task, [s for g in got.values() for s in g["samples"]],
                        [c for g in got.values() for c in g["correct"]])


def evaluate_points(model, tokenizer, task, points: list[int], n: int, seed: int = 0) -> list[dict]:
    """``points_table`` of ``n`` held-out prompts per point, scored by ``exact_match``."""
    samples = [s for group in point_samples(task, points, n, seed).values() for s in group]
    return points_table(task, samples, exact_match(model, tokenizer, samples))
