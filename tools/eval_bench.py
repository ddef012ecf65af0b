"""A LoRA run's evaluation before and after it was made one pass, side by side in one process on one
thread, on the committed small bases and the small profile's LoRA tasks (500 prompts per point):

- before: the accuracy table by teacher-forced exact match, then the greedy answers for the notebooks,
  decoded by recomputing the whole prefix for every new token (batches of 512 equal-length prompts);
- after: the greedy answers with the KV cache (batches of 64), the table scored from them
  (``helpers.evaluation.answers_table``).

Both give the same table (checked). Alternating, the fastest of ``REPS`` per arm::

    OMP_NUM_THREADS=1 python -m tools.eval_bench [REPS]      # default 3
"""
from __future__ import annotations

import sys
import time

import torch

from helpers.diagnostics import answer_points, decoding_batches
from helpers.evaluation import answers_table, evaluate_points, point_samples
from helpers.experiments import base_for, eval_points, task_dict
from helpers.model import load_pretrained
from helpers.profiles import get_profile
from helpers.tasks import config_from_dict


@torch.no_grad()
def uncached_greedy(model, tokenizer, samples, batch_size: int = 512) -> list[str]:
    """The greedy decoding a run used before: no cache, the whole prefix recomputed per new token."""
    answers = [""] * len(samples)
    model.eval()
    for n_new, chunk in decoding_batches(tokenizer, samples, batch_size):
        x = torch.tensor([p for _, p in chunk])
        n_prompt = x.shape[1]
        for _ in range(n_new):
            x = torch.cat([x, model(input_ids=x).logits[:, -1].argmax(-1, keepdim=True)], dim=1)
        for (i, _), row in zip(chunk, x[:, n_prompt:].tolist()):
            answers[i] = tokenizer.decode(row).strip()
    return answers


def before(model, tokenizer, task, points, n):
    table = evaluate_points(model, tokenizer, task, points, n)
    for samples in point_samples(task, points, n).values():
        uncached_greedy(model, tokenizer, samples)
    return table


def after(model, tokenizer, task, points, n):
    return answers_table(task, answer_points(model, tokenizer, task, points, n))


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    reps = int(argv[0]) if argv else 3
    torch.set_num_threads(1)
    profile = get_profile("small")
    n = profile["eval"]["n_per_point"]
    for kind in ("reasoning", "planning"):
        model, tokenizer = load_pretrained(base_for(profile, kind))
        task, points = config_from_dict(task_dict(profile, kind)), eval_points(profile, kind)
        seconds = {"before": [], "after": []}
        tables = {}
        for _ in range(reps):
            for arm, work in (("before", before), ("after", after)):
                start = time.perf_counter()
                tables[arm] = work(model, tokenizer, task, points, n)
                seconds[arm].append(time.perf_counter() - start)
        assert tables["before"] == tables["after"], "the two evaluations disagree"
        b, a = min(seconds["before"]), min(seconds["after"])
        print(f"{kind}: before {b:.1f} s, after {a:.1f} s per run's evaluation ({b / a:.2f}x); "
              f"every repeat: before {[round(s, 1) for s in seconds['before']]}, after {[round(s, 1) for s in seconds['after']]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
