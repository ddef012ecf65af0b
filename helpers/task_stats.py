"""Statistics of the generated tasks (notebook 01): oracle agreement, prompt lengths, chance levels."""
from __future__ import annotations

import time

from tqdm import tqdm

from .oracle import parse, solve
from .tasks import TaskConfig, chance_level, generate


def oracle_check(cfg: TaskConfig, n: int, seed: int, progress: bool = False) -> dict:
    """Generate ``n`` samples and check each label with the oracle and each prompt for repeated hashes."""
    start = time.perf_counter()
    samples = generate(cfg, n, seed)
    agree = duplicate_free = 0
    for s in tqdm(samples, desc=cfg.task, disable=not progress, leave=False):
        agree += solve(s.prompt) == s.answer
        links, query = parse(s.prompt)
        # a hash appears once as a value and at most once per outgoing link as a key
        values = [v for _, v in links]
        duplicate_free += len(set(values)) == len(values) and query["Start"] not in values
    return {"task": cfg.task, "n": n, "seed": seed, "oracle_agrees": agree, "duplicate_free": duplicate_free,
            "distinct_hashes_mean": sum(len(set(h for link in parse(s.prompt)[0] for h in link)) for s in samples[:200])
            / min(n, 200) if n else 0, "seconds": round(time.perf_counter() - start, 2)}


def prompt_lengths(cfg: TaskConfig, tokenizer, n: int, seed: int, key: str) -> list[dict]:
    """Token count of ``prompt + " " + answer`` for ``n`` samples, with the metadata field ``key``."""
    rows = []
    for s in generate(cfg, n, seed):
        value = s.meta[key]
        rows.append({key: tuple(value) if isinstance(value, list) else value,
                     "tokens": len(tokenizer(s.text, add_special_tokens=False)["input_ids"]),
                     "chance": chance_level(s)})
    return rows
