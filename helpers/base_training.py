"""The from-scratch base model: a GPT-2 trained on one task until it does the task, standing in for
the paper's fully fine-tuned pretrained GPT-2 (no hub weights here).

The recipe (notebook 02 shows the curves behind each choice):
- one token per hash, from a small hash vocabulary (see ``profiles.SMALL_HASHES``);
- dense supervision: each training sequence is one map followed by the paper-format query and its
  answer, then *recall lines* (``k=>`` -> ``v`` for links of the map: the plain key->value lookup,
  the induction-style circuit every later step relies on) and a few extra queries;
- AdamW at lr 1e-3 (at 2e-3 and above a small GPT-2 never forms the lookup), linear warm-up, cosine
  decay, gradient clipping, no dropout, fresh samples every step.

The batch at step ``t`` is drawn from ``Random(f"{seed}-{t}")``, so a run resumed from a checkpoint
sees exactly the batches it would have seen, and on CPU reproduces the same weights.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from .encoding import IGNORE, collate, encode, encode_segments
from .evaluation import exact_match, point_samples
from .profiles import SEED_OFFSETS
from .training import adamw, check_fits, resume, save_checkpoint, schedule, train_step
from .tasks import (MAX_SEED, ANSWER_SEPARATOR, HashHopConfig, TaskConfig, TaskConfigError, hashchain_sample, hashhop_sample,
                    sample_hashes)


# ----------------------------------------------------------------------------- training sequences
def map_links(prompt: str) -> list[tuple[str, str]]:
    return [tuple(line.split("=>")) for line in prompt.split("\n") if "=>" in line]


def link_depths(links: list[tuple[str, str]]) -> tuple[str, dict[str, int]]:
    """HashChain: the map's start (the one key that is no link's value) and the depth of every other hash (how many links
    lead to it from the start; a chain end's is its chain's length less one).

    >>> link_depths([("s", "a"), ("a", "b"), ("s", "c")])
    ('s', {'a': 1, 'b': 2, 'c': 1})
    """
    parent = {v: k for k, v in links}
    start = next(k for k, _ in links if k not in parent)
    depth = {}
    for node in parent:
        walk, d = node, 0
        while walk != start:
            walk, d = parent[walk], d + 1
        depth[node] = d
    return start, dict(sorted(depth.items()))


def dense_sequence(task: TaskConfig, rng: random.Random, recall_lines: int, extra_queries: int,
                   end_queries: int = 0, depth_queries: int = 0, start_queries: int = 0) -> list[tuple[str, bool]]:
    """Segments ``(text, supervised)`` of one training sequence: the paper-format prompt and its
    answer first (so evaluation prompts are exactly a training prefix), then recall lines and extra
    hop queries about the same map, then (HashChain only) ``end_queries`` shortest-path queries from a
    hash inside one chain, whose only path is the rest of that chain: its answer is the chain's end, and
    (HashChain only) ``depth_queries`` depth queries ``Start: <start> / Target: <hash> / Hops: <d>``: how many
    links lead from the map's start to a hash of one of its chains (the quantity the shortest chain's end
    has least of among the chain ends), and (HashChain only) ``start_queries`` hop queries from the map's start
    ``Start: <start> / Hops: <k> / Target:``, whose answer is drawn uniformly from the hashes ``k`` links away (``k`` drawn
    uniformly from the depths the map has): the set of hashes at each depth, which a one-pass shortest-path answer compares.

    >>> cfg = HashHopConfig(chain_length=3, max_hops=1, hash_length=2, alphabet="abcd")
    >>> "".join(t for t, _ in dense_sequence(cfg, random.Random(0), 1, 1))
    'Map:\\nad=>dd\\ndd=>cb\\nStart: ad\\nHops: 1\\nTarget: dd\\ndd=>cb\\nStart: dd\\nHops: 1\\nTarget: cb'
    """
    make = hashhop_sample if isinstance(task, HashHopConfig) else hashchain_sample
    return sample_segments(task, make(task, rng), rng, recall_lines, extra_queries, end_queries, depth_queries,
                           start_queries)


def sample_segments(task: TaskConfig, sample, rng: random.Random, recall_lines: int, extra_queries: int,
                    end_queries: int = 0, depth_queries: int = 0, start_queries: int = 0) -> list[tuple[str, bool]]:
    """``dense_sequence``'s segments for a given ``sample`` of ``task`` (its queries drawn from ``rng``): e.g. a
    held-out prompt followed by the queries a recipe trains with."""
    segments = [(sample.prompt, False), (ANSWER_SEPARATOR + sample.answer, True)]
    links = map_links(sample.prompt)
    nxt = dict(links)  # HashChain's start has several links; recall lines only ask unique keys
    keys = [k for k, _ in links if sum(1 for kk, _ in links if kk == k) == 1]
    for _ in range(recall_lines):
        key = rng.choice(keys)
        segments += [(f"\n{key}=>", False), (nxt[key], True)]
    max_hops = task.max_hops if isinstance(task, HashHopConfig) else 2
    for _ in range(extra_queries):
        key = rng.choice(keys)
        path = [key]
        while path[-1] in nxt and len(path) <= max_hops and path[-1] in keys:
            path.append(nxt[path[-1]])
        if len(path) < 2:
            continue
        hops = rng.randint(1, len(path) - 1)
        segments += [(f"\nStart: {key}\nHops: {hops}\nTarget:", False), (ANSWER_SEPARATOR + path[hops], True)]
    if end_queries and not isinstance(task, HashHopConfig):
        for _ in range(end_queries):  # ``keys`` leaves out the start: its several links make it non-unique
            key = end = rng.choice(keys)
            while end in nxt:
                end = nxt[end]
            segments += [(f"\nStart: {key}\nTask: shortest path\nTarget:", False), (ANSWER_SEPARATOR + end, True)]
    if (depth_queries or start_queries) and not isinstance(task, HashHopConfig):
        start, depth = link_depths(links)  # one walk for both kinds of query
    if depth_queries and not isinstance(task, HashHopConfig):
        for _ in range(depth_queries):
            target = rng.choice(list(depth))
            segments += [(f"\nStart: {start}\nTarget: {target}\nHops:", False), (f"{ANSWER_SEPARATOR}{depth[target]}", True)]
    if start_queries and not isinstance(task, HashHopConfig):
        at_depth = {}
        for node, d in depth.items():
            at_depth.setdefault(d, []).append(node)
        for _ in range(start_queries):
            hops = rng.choice(sorted(at_depth))
            segments += [(f"\nStart: {start}\nHops: {hops}\nTarget:", False),
                         (ANSWER_SEPARATOR + rng.choice(at_depth[hops]), True)]
    return segments


def training_batch(task: TaskConfig, tokenizer, seed: int, step: int, batch_size: int,
                   recall_lines: int, extra_queries: int, curriculum: tuple = (), replay=None, end_queries: int = 0,
                   depth_queries: int = 0, start_queries: int = 0):
    """One seeded batch of dense sequences. ``curriculum``: easier variants of ``task`` (e.g. shorter
    chains); each sequence draws its task uniformly from ``(task, *curriculum)``. ``replay``:
    ``(vocab, parts, every)`` puts one pretraining-stand-in sequence in every ``every`` rows, so the
    priors the stand-in gave (digits that mean numbers) are not forgotten on the base task."""
    rng = random.Random(f"{seed}-{step}")
    tasks = (task, *curriculum)
    n_replay = batch_size // replay[2] if replay else 0
    sequences = [dense_sequence(rng.choice(tasks) if curriculum else task, rng, recall_lines, extra_queries, end_queries,
                                depth_queries, start_queries)
                 for _ in range(batch_size - n_replay)]
    encoded = encode_segments(tokenizer, sequences)
    if n_replay:
        from .pretraining import pretraining_sequence
        vocab, parts, _ = replay
        encoded += [pretraining_sequence(rng.choice(parts), vocab, rng) for _ in range(n_replay)]
    return collate(encoded, tokenizer.pad_token_id)


# ----------------------------------------------------------------------------- induction warm-up
COPY_MAX_LENGTH = 20 + 16 + 15 + 16  # longest prefix + segment + gap + segment of copy_batch


def copy_batch(vocab: list[int], seed: int, step: int, batch_size: int, pad_id: int):
    """The induction warm-up task: a random prefix, a segment of 8-16 distinct hash tokens, a random
    gap of 0-15 tokens, the segment again. Labels are the repeated tokens after the first, which only
    an induction head (find the earlier occurrence of the current token, copy what followed) predicts;
    the random gap keeps a fixed offset from solving it.
    """
    rng = random.Random(f"copy-{seed}-{step}")
    encoded = []
    for _ in range(batch_size):
        segment = rng.sample(vocab, rng.randint(8, 16))
        prefix = [rng.choice(vocab) for _ in range(rng.randint(0, 20))]
        gap = [rng.choice(vocab) for _ in range(rng.randint(0, 15))]
        ids = prefix + segment + gap + segment
        first = len(prefix) + len(segment) + len(gap) + 1
        encoded.append((ids, [IGNORE] * first + ids[first:]))
    return collate(encoded, pad_id)


def hash_token_ids(tokenizer, alphabet: str, hash_length: int, hash_tokens: str) -> list[int]:
    """The token ids a hash is made of: every whole hash, or every hash character."""
    pieces = list(alphabet) if hash_tokens == "char" else sample_hashes(random.Random(0), alphabet, hash_length,
                                                                        len(alphabet) ** hash_length)
    return sorted(set(tokenizer.convert_tokens_to_ids(pieces)))


@torch.no_grad()
def copy_accuracy(model, vocab: list[int], seed: int, pad_id: int, n: int = 256) -> float:
    was_training = model.training
    model.eval()
    x, y = copy_batch(vocab, 10_000 + seed, 0, n, pad_id)
    pred = model(input_ids=x.to(next(model.parameters()).device)).logits[:, :-1].argmax(-1)
    target = y[:, 1:].to(pred.device)
    mask = target != IGNORE
    model.train(was_training)
    return ((pred == target) & mask).sum().item() / mask.sum().item()


def train_copy(model, vocab: list[int], recipe: "Recipe", pad_id: int, checkpoint_dir: Path | None = None,
               progress: bool = True) -> list[dict]:
    """Stage 1: train on the copy task until held-out copy accuracy reaches ``recipe.copy_target`` or
    ``recipe.copy_steps`` pass (constant lr after warm-up). Resumable; a finished stage is skipped."""
    optimizer = adamw(model.parameters(), recipe.lr, recipe.weight_decay)
    step, log = resume(checkpoint_dir, model, optimizer)
    if log and log[-1].get("finished"):
        return log
    start, elapsed0 = time.time(), (log[-1]["seconds"] if log else 0.0)
    model.train()
    bar = tqdm(total=recipe.copy_steps, initial=step, desc="copy warm-up", disable=not progress)
    try:
        while step < recipe.copy_steps:
            x, y = copy_batch(vocab, recipe.seed, step, recipe.batch_size, pad_id)
            loss = train_step(model, optimizer, x, y, schedule("constant", step, recipe.lr, recipe.warmup_steps, recipe.copy_steps))
            step += 1
            bar.update(1)
            if step % 100 == 0 or step == recipe.copy_steps:
                acc = copy_accuracy(model, vocab, recipe.seed, pad_id)
                finished = acc >= recipe.copy_target or step == recipe.copy_steps
                log.append({"step": step, "seconds": round(elapsed0 + time.time() - start, 1), "loss": round(loss.item(), 4),
                            "copy_accuracy": acc, "finished": finished})
                bar.set_postfix(loss=f"{loss.item():.3f}", copy=f"{acc:.2f}")
                if checkpoint_dir is not None:
                    save_checkpoint(Path(checkpoint_dir), model, optimizer, step, log)
                if finished:
                    break
    finally:  # closed before any error is printed
        bar.close()
    return log


# ----------------------------------------------------------------------------- training
@dataclass
class Recipe:
    """The base fine-tune's settings; every value comes from a profile's ``base.recipe`` (with the
    task's own overrides), never from defaults here."""
    lr: float
    batch_size: int
    warmup_steps: int
    steps: int
    recall_lines: int
    extra_queries: int
    end_queries: int      # HashChain: shortest-path queries from inside a chain (its end) per sequence
    weight_decay: float
    eval_every: int
    eval_n: int
    checkpoint_every: int
    seed: int
    copy_steps: int       # induction warm-up (stage 1) budget; 0 skips the stage
    copy_target: float    # stage 1 ends once held-out copy accuracy reaches this
    # HashChain: depth queries (links from the start to a hash) per sequence; absent from the committed bases' recipes,
    # which trained without them (0)
    depth_queries: int = 0
    # HashChain: hop queries from the map's start (a random hash that many links away) per sequence; absent likewise
    start_queries: int = 0

    def __post_init__(self):  # refused here, before a model is built, rather than by a crash mid-run
        for name, low in (("batch_size", 1), ("warmup_steps", 0), ("steps", 1), ("recall_lines", 0), ("copy_steps", 0),
                          ("extra_queries", 0), ("end_queries", 0), ("depth_queries", 0), ("start_queries", 0),
                          ("eval_every", 1), ("eval_n", 1), ("checkpoint_every", 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise TaskConfigError(f"recipe.{name}: must be an integer >= {low}, got {value!r}")
        for name in ("lr", "weight_decay"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < float("inf") \
                    or (name == "lr" and value == 0):
                raise TaskConfigError(f"recipe.{name}: must be a number {'> 0' if name == 'lr' else '>= 0'}, got {value!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed <= MAX_SEED:
            raise TaskConfigError(f"recipe.seed: must be an integer in 0..{MAX_SEED}, got {self.seed!r}")


def check_training(model, tokenizer, task: TaskConfig, recipe: Recipe, eval_points: list[int],
                   stop_when: dict | None, step: int = 0, curriculum: tuple = ()) -> dict:
    """Everything that would otherwise fail mid-run, checked before any training (the copy warm-up
    included): early-stop points that are never evaluated, and sequences longer than the model's
    positions. Returns the held-out evaluation prompts."""
    unknown = sorted(str(k) for k in (stop_when or {}) if str(k) not in {str(p) for p in eval_points})
    if unknown:
        raise TaskConfigError(f"stop_when: points {unknown} are not evaluated (eval points: {list(eval_points)}), "
                              f"so training could never stop early on them")
    evals = point_samples(task, eval_points, recipe.eval_n, seed=SEED_OFFSETS["base_eval"] + recipe.seed)
    check_fits(model, max(len(encode(tokenizer, s)[0]) for group in evals.values() for s in group), "the evaluation prompts")
    longest = max(recipe_batch(t, tokenizer, recipe, step)[0].shape[1] for t in (task, *curriculum))
    check_fits(model, longest, "the training sequences")
    if recipe.copy_steps:
        check_fits(model, COPY_MAX_LENGTH, "the copy warm-up sequences")
    return evals


def recipe_batch(task: TaskConfig, tokenizer, recipe: Recipe, step: int, curriculum: tuple = (), replay=None):
    """The ``step``-th batch ``train_base`` trains on with ``recipe`` (``training_batch`` with the recipe's seed, batch
    size and per-sequence queries)."""
    return training_batch(task, tokenizer, recipe.seed, step, recipe.batch_size, recipe.recall_lines,
                          recipe.extra_queries, curriculum, replay, recipe.end_queries, recipe.depth_queries,
                          recipe.start_queries)


def train_base(model, tokenizer, task: TaskConfig, recipe: Recipe, eval_points: list[int],
               checkpoint_dir: Path | None = None, progress: bool = True, time_limit_s: float | None = None,
               stop_when: dict | None = None, curriculum: tuple = (), replay=None) -> tuple[list[dict], bool]:
    """Train ``model`` in place; return the learning curve (held-out exact match per eval point vs
    step and wall time) and whether training finished. Resumes from ``checkpoint_dir`` if it holds
    a checkpoint. ``stop_when`` (e.g. ``{1: 0.95, 2: 0.8}``) finishes training early once every listed
    point reaches its accuracy; ``time_limit_s`` pauses it (resumable, not finished)."""
    optimizer = adamw(model.parameters(), recipe.lr, recipe.weight_decay)
    step, log = resume(checkpoint_dir, model, optimizer)
    reached = lambda acc: bool(stop_when) and all(acc.get(str(k), 0) >= v for k, v in stop_when.items())
    if log and (log[-1]["step"] >= recipe.steps or reached(log[-1]["accuracy"])):
        return log, True
    evals = check_training(model, tokenizer, task, recipe, eval_points, stop_when, step, curriculum)
    elapsed0 = log[-1]["seconds"] if log else 0.0
    start = time.time()
    model.train()
    bar = tqdm(total=recipe.steps, initial=step, desc="base", disable=not progress)
    try:
        while step < recipe.steps:
            x, y = recipe_batch(task, tokenizer, recipe, step, curriculum, replay)
            loss = train_step(model, optimizer, x, y, schedule("cosine", step, recipe.lr, recipe.warmup_steps, recipe.steps))
            step += 1
            bar.update(1)
            done = step == recipe.steps
            if step % recipe.eval_every == 0 or done:
                accuracy = {p: sum(exact_match(model, tokenizer, s)) / len(s) for p, s in evals.items()}
                log.append({"step": step, "seconds": round(elapsed0 + time.time() - start, 1),
                            "loss": round(loss.item(), 4), "accuracy": {str(k): v for k, v in accuracy.items()}})
                bar.set_postfix(loss=f"{loss.item():.3f}", **{f"acc{k}": f"{v:.2f}" for k, v in accuracy.items()})
                if reached(log[-1]["accuracy"]):
                    done = True
            if checkpoint_dir is not None and (step % recipe.checkpoint_every == 0 or done):
                save_checkpoint(Path(checkpoint_dir), model, optimizer, step, log)
            if done:
                bar.close()
                return log, True
            if time_limit_s is not None and time.time() - start > time_limit_s:
                break
    finally:  # closed before any error is printed
        bar.close()
    return log, step >= recipe.steps
