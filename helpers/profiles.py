"""The three profiles, in one place. A notebook names one in its ``parameters`` cell and overrides
only what it must: ``get_profile("small", {"lora": {"ranks": [4, 8]}})``. Overriding a key that
does not exist is an error, not a silent no-op.

- ``smoke``: CI. Tiny models and few steps; every notebook in seconds to a couple of minutes.
- ``small``: the default, the real reproduction on a 2-core CPU, starting from the committed bases.
- ``paper``: the paper's sizes (GPT-2 124M shape, ranks up to 256, 15,000 samples per epoch,
  batch 16, lr 3e-5), for a GPU.
"""
from __future__ import annotations

import copy

from .tasks import PAPER_ALPHABET, TaskConfigError

# Hashes for the from-scratch profiles: 2 characters from 8 letters = 64 possible hashes, each one
# token. A from-scratch GPT-2 forms its lookup circuit far faster with one token per hash and a
# small hash vocabulary (see notebook 02); the prompt text keeps the paper's format.
SMALL_HASHES = {"alphabet": "abcdefgh", "hash_length": 2, "hash_tokens": "whole"}

_SMALL = {
    "tokenizer": dict(SMALL_HASHES),
    # initializer_range 0.1 instead of GPT-2's 0.02: the lever that ends the induction plateau (notebook 02).
    "model": {"n_layer": 4, "n_embd": 64, "n_head": 2, "n_positions": 256, "initializer_range": 0.1},
    # Where the notebooks' base models come from: "committed" loads models/<task>-<profile>,
    # "train" trains them with the recipe below, anything else is a from_pretrained id or directory.
    "base_source": "committed",
    "base": {
        "hashhop": {"task": {"chain_length": 5, "min_hops": 1, "max_hops": 2},
                    "eval_hops": [1, 2, 3, 4], "stop_when": {"1": 0.97, "2": 0.9}},
        "hashchain": {"task": {"chain_lengths": [2, 3, 4], "num_chains": [2, 3]},
                      "eval_shortest": [2, 3, 4], "stop_when": {"2": 0.95, "3": 0.9}},
        "recipe": {"lr": 1e-3, "batch_size": 32, "warmup_steps": 100, "steps": 9000, "copy_steps": 4000, "copy_target": 0.9,
                   "recall_lines": 8, "extra_queries": 3, "weight_decay": 0.01,
                   "eval_every": 250, "eval_n": 200, "checkpoint_every": 250, "seed": 0},
    },
    "lora": {
        # More hops than the base saw (it trained on 1-2), on the base's chain length: the from-scratch
        # base does not carry its lookup to longer maps (1-hop accuracy 0.26 on 6-hash chains, notebook 03).
        "planning": {"chain_length": 5, "min_hops": 1, "max_hops": 4},
        "reasoning": {"chain_lengths": [2, 3, 4, 5], "num_chains": [2, 3]},
        "eval_hops": [1, 2, 3, 4],
        "eval_shortest": [2, 3, 4],
        "target_modules": ["mlp.c_proj"], "last_n_blocks": None,
        "ranks": [2, 4, 8, 16], "alpha_ratio": 0.5, "dropout": 0.0,
        "lr": 1e-3, "batch_size": 32, "steps": 400, "warmup_steps": 30, "seeds": [0, 1, 2],
    },
    "eval": {"n_per_point": 500, "batch_size": 256},
    # Every ablation cell trains as long as notebook 03's runs (lora.steps), so cells shared with
    # notebook 03 (alpha = rank/2 on mlp.c_proj of every block) come from the run cache.
    "ablations": {"ranks": [2, 4, 8, 16], "fixed_alpha": 8, "seeds": [0, 1, 2], "module_rank": 8,
                  "target_modules": {"mlp.c_proj": ["mlp.c_proj"], "attn.c_proj": ["attn.c_proj"],
                                     "both": ["mlp.c_proj", "attn.c_proj"]},
                  "last_n_blocks": [1, 2], "full_lr": 3e-4},
    "workers": 2,
}

_SMOKE = copy.deepcopy(_SMALL)
_SMOKE.update({
    "model": {"n_layer": 2, "n_embd": 32, "n_head": 2, "n_positions": 256, "initializer_range": 0.1},
    "base_source": "train",
})
_SMOKE["base"]["recipe"].update({"steps": 40, "copy_steps": 20, "eval_every": 20, "eval_n": 20, "checkpoint_every": 20,
                                 "batch_size": 8, "warmup_steps": 5})
_SMOKE["lora"].update({"ranks": [2, 4], "steps": 10, "warmup_steps": 2, "seeds": [0], "batch_size": 8,
                       "eval_hops": [1, 2], "eval_shortest": [2, 3]})
_SMOKE["eval"].update({"n_per_point": 16})
_SMOKE["ablations"].update({"ranks": [2], "seeds": [0], "last_n_blocks": [1], "module_rank": 2})
_SMOKE["workers"] = 1

_PAPER = copy.deepcopy(_SMALL)
_PAPER.update({
    "tokenizer": {"alphabet": PAPER_ALPHABET, "hash_length": 4, "hash_tokens": "char"},
    "model": {"n_layer": 12, "n_embd": 768, "n_head": 12, "n_positions": 1024, "initializer_range": 0.02},
    "base_source": "train",
})
_PAPER["base"]["hashhop"] = {"task": {"chain_length": 10, "min_hops": 1, "max_hops": 2},
                             "eval_hops": list(range(1, 10)), "stop_when": {}}
_PAPER["base"]["hashchain"] = {"task": {"chain_lengths": [2, 3, 4, 5, 6], "num_chains": [3, 4]},
                               "eval_shortest": [2, 3, 4, 5], "stop_when": {}}
_PAPER["base"]["recipe"].update({"lr": 3e-5, "batch_size": 16, "steps": 37500})  # 40 epochs x 15,000 / 16
_PAPER["lora"].update({
    "planning": {"chain_length": 20, "min_hops": 1, "max_hops": 10},
    "reasoning": {"chain_lengths": [2, 3, 4, 5, 6], "num_chains": [4]},
    "eval_hops": list(range(1, 16)), "eval_shortest": [2, 3, 4, 5, 6, 7],
    "ranks": [8, 16, 32, 64, 128, 256], "lr": 3e-5, "batch_size": 16,
    "steps": 15000 // 16 * 3, "warmup_steps": 100,
})
_PAPER["eval"].update({"n_per_point": 1000})
_PAPER["ablations"].update({"ranks": [8, 16, 32, 64, 128, 256], "fixed_alpha": 64, "module_rank": 64,
                            "last_n_blocks": [3, 6], "full_lr": 3e-5})

PROFILES = {"smoke": _SMOKE, "small": _SMALL, "paper": _PAPER}


def _merge(base: dict, overrides: dict, where: str) -> dict:
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if key not in out:
            raise TaskConfigError(f"{where}{key}: unknown setting; allowed keys here are {sorted(out)}")
        if isinstance(out[key], dict) and isinstance(value, dict) and key != "target_modules":
            out[key] = _merge(out[key], value, f"{where}{key}.")
        else:
            out[key] = copy.deepcopy(value)
    return out


def get_profile(name: str, overrides: dict | None = None) -> dict:
    if name not in PROFILES:
        raise TaskConfigError(f"PROFILE: unknown profile {name!r}; allowed values are {sorted(PROFILES)}")
    profile = _merge(PROFILES[name], overrides or {}, "")
    profile["name"] = name
    return profile
