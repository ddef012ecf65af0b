"""The pretraining stand-in: what pretrained GPT-2 brings to the paper's fine-tuning, made synthetic.

Pretrained GPT-2 arrives with induction/copy circuits, key->value recall from its context, and
digits that mean numbers. A from-scratch model has none of these, so a LoRA on top of it has
nothing to build on (a LoRA on ``mlp.c_proj`` with frozen embeddings cannot tell ``Hops: 3`` from
``Hops: 4`` when the digits 3 and 4 are the same vector; see ``shared/EVIDENCE.md``). This stage
gives them, *task-agnostically*: sequences are raw token ids over the hash tokens, the digits,
space and newline, and never use the tasks' ``Map:`` / ``=>`` / ``Start:`` format.

The mixture (one component per sequence, drawn uniformly from ``parts``; ``first`` alone until it is
learned)::

    copy     p p p [a b c d] g g [a b c d]        loss on the repeated segment (induction)
    recall   k1 v1 \\n k2 v2 \\n ... \\n k2 -> v2  loss on the recalled values; 2-12 pairs, 8 queries
    index    a b c d e \\n 3 -> c \\n 1 -> a      loss on the picked items: digit n means "n-th"
    count    a b c d e \\n -> 5 \\n 2 3 4 5 6      loss on the count and on counting on: digits
                                                   ordered, n+1 follows n

Every batch is drawn from ``Random(f"pretrain-{seed}-{step}")``: resuming a run sees the same
batches. ``python -m helpers.bases --retrain`` trains it first; notebook 02 ablates the parts.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from .encoding import IGNORE, collate
from .tasks import MAX_SEED, TaskConfigError
from .training import adamw, resume, save_checkpoint, schedule, train_step

PARTS = ("copy", "recall", "index", "count")
MAX_LENGTH = 80  # the longest sequence any part makes (checked against n_positions before training)


@dataclass(frozen=True)
class Vocab:
    """The token ids the stand-in is made of."""
    hashes: list
    digits: list  # ids of "0".."9"
    space: int
    newline: int
    pad: int

    @classmethod
    def from_tokenizer(cls, tokenizer, hash_ids: list[int]) -> "Vocab":
        ids = tokenizer.convert_tokens_to_ids
        return cls(list(hash_ids), [ids(str(d)) for d in range(10)], ids(" "), ids("\n"), tokenizer.pad_token_id)


def _copy(v: Vocab, rng: random.Random):
    segment = rng.sample(v.hashes, rng.randint(8, 16))
    prefix = [rng.choice(v.hashes) for _ in range(rng.randint(0, 20))]
    gap = [rng.choice(v.hashes) for _ in range(rng.randint(0, 15))]
    ids = prefix + segment + gap + segment
    first = len(prefix) + len(segment) + len(gap) + 1
    return ids, [IGNORE] * first + ids[first:]


def _recall(v: Vocab, rng: random.Random):
    n = rng.randint(2, 12)
    keys = rng.sample(v.hashes, n)
    values = [rng.choice(v.hashes) for _ in keys]
    ids, labels = [], []
    for k, val in zip(keys, values):
        ids += [k, v.space, val, v.newline]
    labels = [IGNORE] * len(ids)
    for i in [rng.randrange(n) for _ in range(8)]:
        ids += [keys[i], v.space, values[i], v.newline]
        labels += [IGNORE, IGNORE, values[i], IGNORE]
    return ids, labels


def _index(v: Vocab, rng: random.Random):
    n = rng.randint(2, 9)
    items = rng.sample(v.hashes, n)
    ids = []
    for item in items:
        ids += [item, v.space]
    ids[-1] = v.newline
    labels = [IGNORE] * len(ids)
    for _ in range(4):
        pick = rng.randint(1, n)
        ids += [v.digits[pick], v.space, items[pick - 1], v.newline]
        labels += [IGNORE, IGNORE, items[pick - 1], IGNORE]
    return ids, labels


def _count(v: Vocab, rng: random.Random):
    n = rng.randint(1, 9)
    ids = []
    for item in rng.sample(v.hashes, n):
        ids += [item, v.space]
    ids[-1] = v.newline
    labels = [IGNORE] * len(ids)
    ids += [v.digits[n], v.newline]
    labels += [v.digits[n], IGNORE]
    start = rng.randint(0, 8)
    run = list(range(start, rng.randint(start + 1, 9) + 1))
    for i, d in enumerate(run):
        ids += [v.digits[d], v.space]
        labels += [IGNORE if i == 0 else v.digits[d], IGNORE]
    return ids, labels


MAKERS = {"copy": _copy, "recall": _recall, "index": _index, "count": _count}


def pretraining_sequence(part: str, vocab: Vocab, rng: random.Random) -> tuple[list[int], list[int]]:
    """``(input_ids, labels)`` of one sequence of ``part``; labels are ``-100`` where not scored."""
    return MAKERS[part](vocab, rng)


def pretraining_batch(parts: tuple, vocab: Vocab, seed: int, step: int, batch_size: int):
    rng = random.Random(f"pretrain-{seed}-{step}")
    return collate([pretraining_sequence(rng.choice(parts), vocab, rng) for _ in range(batch_size)], vocab.pad)


@dataclass
class PretrainConfig:
    """The stand-in's settings; every value comes from a profile's ``pretrain`` dict (no defaults here,
    so sizes live in ``helpers.profiles`` only)."""
    parts: tuple
    steps: int
    lr: float
    batch_size: int
    warmup_steps: int
    weight_decay: float
    target: float          # stop once every part's held-out accuracy reaches this
    first: str | None      # trained alone until it reaches ``target``: the induction head forms in
    #                        ~2,000 steps alone, and not within 2,500 when mixed with the rest
    eval_every: int
    seed: int

    def __post_init__(self):
        self.parts = tuple(self.parts)
        bad = [p for p in self.parts if p not in PARTS]
        if not self.parts or bad:
            raise TaskConfigError(f"pretrain.parts: allowed values are subsets of {list(PARTS)}, got {list(self.parts)!r}")
        for name, low in (("steps", 0), ("batch_size", 1), ("warmup_steps", 0), ("eval_every", 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise TaskConfigError(f"pretrain.{name}: must be an integer >= {low}, got {value!r}")
        if not isinstance(self.lr, (int, float)) or not 0 < self.lr < float("inf"):
            raise TaskConfigError(f"pretrain.lr: must be a number > 0, got {self.lr!r}")
        if self.first is not None and self.first not in self.parts:
            raise TaskConfigError(f"pretrain.first: allowed values are None or one of {list(self.parts)}, got {self.first!r}")
        if not isinstance(self.target, (int, float)) or not 0 < self.target <= 1:
            raise TaskConfigError(f"pretrain.target: must be a number in (0, 1], got {self.target!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed <= MAX_SEED:
            raise TaskConfigError(f"pretrain.seed: must be an integer in 0..{MAX_SEED}, got {self.seed!r}")


@torch.no_grad()
def part_accuracy(model, vocab: Vocab, parts: tuple, seed: int, n: int = 256) -> dict[str, float]:
    """Held-out per-token accuracy on the scored tokens of each part (batches no step draws)."""
    was_training = model.training
    model.eval()
    out = {}
    for part in dict.fromkeys(parts):  # a part listed twice has twice the weight in training, one score
        rng = random.Random(f"pretrain-eval-{seed}-{part}")
        x, y = collate([pretraining_sequence(part, vocab, rng) for _ in range(n)], vocab.pad)
        pred = model(input_ids=x.to(next(model.parameters()).device)).logits[:, :-1].argmax(-1)
        target = y[:, 1:].to(pred.device)
        mask = target != IGNORE
        out[part] = round(((pred == target) & mask).sum().item() / mask.sum().item(), 4)
    model.train(was_training)
    return out


def pretrain(model, vocab: Vocab, cfg: PretrainConfig, progress: bool = True,
             time_limit_s: float | None = None, checkpoint_dir: Path | None = None) -> list[dict]:
    """Train ``model`` in place on the mixture until every part reaches ``cfg.target`` or
    ``cfg.steps`` pass; returns the curve (step, seconds, loss, accuracy per part). With
    ``checkpoint_dir`` it saves at every evaluation and resumes from there, so ``time_limit_s`` pauses
    it (``finished(log, cfg)`` tells whether it is done)."""
    limit = getattr(model.config, "n_positions", None)
    if limit is not None and limit < MAX_LENGTH:
        raise TaskConfigError(f"model.n_positions: the pretraining stand-in needs {MAX_LENGTH} positions, got {limit}")
    optimizer = adamw(model.parameters(), cfg.lr, cfg.weight_decay)
    first, log = resume(checkpoint_dir, model, optimizer)
    if log and finished(log, cfg):
        return log
    parts = (cfg.first,) if cfg.first else cfg.parts
    if log and log[-1]["stage"] != cfg.first or (log and log[-1]["accuracy"][cfg.first] >= cfg.target):
        parts = cfg.parts  # the first part was learned before the pause
    elapsed0, start = (log[-1]["seconds"] if log else 0.0), time.time()
    model.train()
    bar = tqdm(total=cfg.steps, initial=first, desc="pretrain", disable=not progress)
    try:
        for step in range(first, cfg.steps):
            x, y = pretraining_batch(parts, vocab, cfg.seed, step, cfg.batch_size)
            loss = train_step(model, optimizer, x, y, schedule("constant", step, cfg.lr, cfg.warmup_steps, cfg.steps))
            bar.update(1)
            if (step + 1) % cfg.eval_every == 0 or step + 1 == cfg.steps:
                acc = part_accuracy(model, vocab, cfg.parts, cfg.seed)
                log.append({"step": step + 1, "seconds": round(elapsed0 + time.time() - start, 1), "loss": round(loss.item(), 4),
                            "stage": "+".join(dict.fromkeys(parts)), "accuracy": acc})
                if len(parts) == 1 and parts != cfg.parts and acc[parts[0]] >= cfg.target:
                    parts = cfg.parts  # the first part is learned: the whole mixture from here on
                bar.set_postfix(loss=f"{loss.item():.3f}", **{p[:3]: f"{a:.2f}" for p, a in acc.items()})
                if checkpoint_dir is not None:
                    save_checkpoint(Path(checkpoint_dir), model, optimizer, step + 1, log)
                if min(acc.values()) >= cfg.target:
                    break
                if time_limit_s is not None and time.time() - start > time_limit_s:
                    break
    finally:  # closed before any error is printed
        bar.close()
    return log


def finished(log: list[dict], cfg: PretrainConfig) -> bool:
    """Whether a pretraining curve is complete: every part at ``cfg.target``, or all steps taken."""
    return bool(log) and (log[-1]["step"] >= cfg.steps or min(log[-1]["accuracy"].values()) >= cfg.target)
