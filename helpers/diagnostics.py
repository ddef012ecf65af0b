"""What a model's answers *are*, not only whether they are right.

An accuracy can rise for the wrong reason: a HashHop model that ignores the hop count and always
answers the same chain position is right at exactly one hop count; a HashChain model that names
*some* chain's end is right about ``1/num_chains`` of the time. So every answer is placed in the
prompt's structure:

- HashHop: its *position* along the chain (``k`` = the hash ``k`` links after Start), or
  ``"not in map"``;
- HashChain: ``"shortest end"`` (right), ``"other chain end"``, ``"other hash"`` (a hash of the
  map that ends no chain) or ``"not in map"``.

and two structural baselines sit beside the uniform guess: the best *hop-agnostic* policy (a model
that follows the chain perfectly but ignores ``Hops:`` is right ``1/H`` of the time over ``H``
trained hop counts) and the *random chain end* (``1/num_chains`` per prompt).

>>> from helpers.tasks import HashHopConfig, generate
>>> s = generate(HashHopConfig(chain_length=4, min_hops=2, max_hops=2, hash_length=2, alphabet="abcd"), 1, 0)[0]
>>> chain = hashhop_chain(s)
>>> chain.index(s.answer)
2
>>> hop_position(s, chain[3]), hop_position(s, "zz")
(3, 'not in map')
"""
from __future__ import annotations

from collections import Counter, defaultdict

import torch

from .evaluation import point_samples
from .tasks import ANSWER_SEPARATOR, Sample

NOT_IN_MAP = "not in map"
CHAIN_CATEGORIES = ("shortest end", "other chain end", "other hash", NOT_IN_MAP)


def _links(sample: Sample) -> list[tuple[str, str]]:
    return [tuple(line.split("=>")) for line in sample.prompt.splitlines() if "=>" in line]


def _start(sample: Sample) -> str:
    return next(line.split(": ", 1)[1] for line in sample.prompt.splitlines() if line.startswith("Start: "))


def hashhop_chain(sample: Sample) -> list[str]:
    """The chain in order, from Start."""
    nxt = dict(_links(sample))
    chain = [_start(sample)]
    while chain[-1] in nxt:
        chain.append(nxt[chain[-1]])
    return chain


def hop_position(sample: Sample, answer: str):
    """How many links after Start ``answer`` sits, or ``"not in map"``."""
    chain = hashhop_chain(sample)
    return chain.index(answer) if answer in chain else NOT_IN_MAP


def chain_ends(sample: Sample) -> list[str]:
    """The last hash of every chain that leaves Start."""
    links = _links(sample)
    nxt = {k: v for k, v in links if k != _start(sample)}
    ends = []
    for key, value in links:
        if key == _start(sample):
            while value in nxt:
                value = nxt[value]
            ends.append(value)
    return ends


def chain_category(sample: Sample, answer: str) -> str:
    if answer == sample.answer:
        return "shortest end"
    if answer in chain_ends(sample):
        return "other chain end"
    hashes = {h for link in _links(sample) for h in link}
    return "other hash" if answer in hashes else NOT_IN_MAP


def decoding_batches(tokenizer, samples: list[Sample], batch_size: int):
    """The prompts of ``samples`` tokenized and grouped for batched greedy decoding: yields
    ``(n_new, chunk)``, ``chunk`` a list of ``(index, prompt ids)`` of up to ``batch_size`` prompts of
    one length whose true answers take ``n_new`` tokens (no padding needed)."""
    groups = defaultdict(list)
    for i, s in enumerate(samples):
        prompt = tokenizer(s.prompt, add_special_tokens=False)["input_ids"]
        n_new = len(tokenizer(ANSWER_SEPARATOR + s.answer, add_special_tokens=False)["input_ids"])
        groups[(len(prompt), n_new)].append((i, prompt))
    for (_, n_new), items in groups.items():
        for start in range(0, len(items), batch_size):
            yield n_new, items[start:start + batch_size]


@torch.no_grad()
def greedy_answers(model, tokenizer, samples: list[Sample], batch_size: int = 64) -> list[str]:
    """The greedy continuation of each prompt, as many tokens as its true answer has, decoded
    (prompts of equal length are batched; no sampling, no ``no_repeat_ngram_size``)."""
    device = next(model.parameters()).device
    answers = [""] * len(samples)
    was_training = model.training
    model.eval()
    for n_new, chunk in decoding_batches(tokenizer, samples, batch_size):
        x = torch.tensor([p for _, p in chunk], device=device)
        new, past = [], None
        for _ in range(n_new):  # greedy, one token at a time; the cache keeps each step to the new token
            out = model(input_ids=x, past_key_values=past, use_cache=True, logits_to_keep=1)
            x, past = out.logits[:, -1].argmax(-1, keepdim=True), out.past_key_values
            new.append(x)
        for (i, _), row in zip(chunk, torch.cat(new, dim=1).tolist()):
            answers[i] = tokenizer.decode(row).strip()
    model.train(was_training)
    return answers


def answer_points(model, tokenizer, task, points: list[int], n: int, seed: int = 0) -> dict:
    """Held-out prompts per point (the same ones ``evaluation.evaluate_points`` scores) and the
    model's greedy answers: ``{point: {"samples": [...], "answers": [...], "correct": [...]}}``."""
    return {point: scored(samples, greedy_answers(model, tokenizer, samples))
            for point, samples in point_samples(task, points, n, seed).items()}


def scored(samples: list[Sample], answers: list[str]) -> dict:
    """One point's ``{"samples", "answers", "correct"}`` (exact match of each answer)."""
    return {"samples": samples, "answers": answers, "correct": [a == s.answer for a, s in zip(answers, samples)]}


def position_histogram(samples: list[Sample], answers: list[str]) -> dict:
    """HashHop: how often each chain position (or ``"not in map"``) was answered."""
    counts = Counter(hop_position(s, a) for s, a in zip(samples, answers))
    return {str(k): counts[k] for k in sorted(counts, key=lambda k: (isinstance(k, str), k))}


def category_shares(samples: list[Sample], answers: list[str]) -> dict:
    """HashChain: the share of answers in each of ``CHAIN_CATEGORIES``."""
    counts = Counter(chain_category(s, a) for s, a in zip(samples, answers))
    return {c: counts[c] / len(samples) for c in CHAIN_CATEGORIES}


def random_chain_end(samples: list[Sample]) -> float:
    """Accuracy of naming one chain's end uniformly at random: mean of ``1/num_chains``."""
    return sum(1 / s.meta["num_chains"] for s in samples) / len(samples)


def hop_agnostic(trained_hops: list[int]) -> float:
    """The best accuracy, averaged over the trained hop counts, of a model that follows the chain
    perfectly but ignores ``Hops:``: whatever positions it favours, their shares sum to 1 over
    ``H`` hop counts, so ``1/H``."""
    return 1 / len(set(trained_hops))


def modal_position(histogram: dict):
    """The most common answer position (ties: the smaller position)."""
    best = max(histogram.values())
    return next(k for k, v in histogram.items() if v == best)
