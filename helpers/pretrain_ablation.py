"""What each part of the pretraining stand-in buys (notebook 02): a small ablation.

Each *arm* pretrains a fresh model on a subset of the stand-in's parts (``"none"``: no pretraining at
all), then fine-tunes it on the HashHop base task for the same number of steps. Per arm it records
the held-out accuracy curve of the base task, and how distinct the digit embeddings are (mean cosine
of consecutive digits 1-9 in the token embedding: near 1 means ``Hops: 3`` and ``Hops: 4`` look the
same to a LoRA that cannot touch the embeddings).

    python -m helpers.pretrain_ablation --profile small    # writes results/small/02_pretrain_ablation.json

The arms run one after another (one torch thread each); ``--arms`` picks a subset and ``--update`` adds
them to the stored file, so two processes can share the arms (``--arms none copy`` and
``--arms copy+recall copy+recall+index+count --update``).
"""
from __future__ import annotations

import sys

import torch

from .base_training import Recipe, hash_token_ids, train_base
from .cli import Parser
from .training import torch_threads, training_device
from .io import atomic_write_json
from .model import build_model
from .paths import RUNS, results_path
from .pretraining import PretrainConfig, Vocab, pretrain
from .profiles import get_profile
from .runs import provenance
from .tokenizer import tokenizer_from_profile

ARMS = {"none": [], "copy": ["copy"], "copy+recall": ["copy", "recall"],
        "copy+recall+index+count": ["copy", "recall", "index", "count"]}


def digit_similarity(model, tokenizer) -> float:
    """Mean cosine similarity of the embeddings of consecutive digits 1-9."""
    wte = model.get_input_embeddings().weight.detach()
    ids = tokenizer.convert_tokens_to_ids([str(d) for d in range(1, 10)])
    vectors = torch.nn.functional.normalize(wte[ids], dim=-1)
    return float((vectors[:-1] * vectors[1:]).sum(-1).mean())


def run_arm(profile: dict, parts: list[str], task: str = "hashhop", progress: bool = False) -> dict:
    from .bases import base_task, curriculum, eval_points
    tokenizer = tokenizer_from_profile(profile["tokenizer"])
    spec = dict(profile["pretrain"], **profile["pretrain_ablation"]["pretrain"])
    model = build_model(profile["model"], tokenizer, seed=spec["seed"]).to(training_device())
    vocab = Vocab.from_tokenizer(tokenizer, hash_token_ids(tokenizer, **profile["tokenizer"]))
    pre_log = []
    if list(parts) == list(profile["pretrain"]["parts"]) and not profile["pretrain_ablation"]["pretrain"]:
        # the whole mixture with the profile's own settings *is* the committed stand-in: reuse it
        from transformers import GPT2LMHeadModel
        from .bases import get_pretrained
        path = get_pretrained(profile, progress)
        model = GPT2LMHeadModel.from_pretrained(path, use_safetensors=True).to(training_device())
        model.config._attn_implementation = "eager"
        from .io import read_json
        info = path / "base_info.json"
        pre_log = read_json(info if info.exists() else path.parent / "result.json")["curve"]
    elif parts:
        spec.update(parts=parts, first="copy")
        pre_log = pretrain(model, vocab, PretrainConfig(**spec), progress)
    digits_after_pretraining = digit_similarity(model, tokenizer)
    recipe = Recipe(**dict(profile["base"]["recipe"], **profile["pretrain_ablation"]["base"]))
    replay = (vocab, tuple(parts), profile["base"]["replay_every"]) if parts and profile["base"]["replay_every"] else None
    log, _ = train_base(model, tokenizer, base_task(task, profile), recipe, eval_points(task, profile), progress=progress,
                        curriculum=curriculum(task, profile), replay=replay)
    return {"parts": parts, "pretrain_curve": pre_log, "pretrain_steps": pre_log[-1]["step"] if pre_log else 0,
            "base_curve": log, "digit_cosine_after_pretraining": digits_after_pretraining,
            "digit_cosine_after_base": digit_similarity(model, tokenizer)}


def main(argv=None) -> int:
    parser = Parser(prog="python -m helpers.pretrain_ablation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="small")
    parser.add_argument("--arms", nargs="+", choices=list(ARMS), default=list(ARMS))
    parser.add_argument("--update", action="store_true",
                        help="add these arms to the profile's results file (arms run in separate processes, one core "
                             "each); without it a subset of the arms is written under runs/pretrain_ablation/")
    args = parser.parse_args(argv)
    profile = parser.run(get_profile, args.profile)
    out = {"profile": args.profile, "task": "hashhop", "settings": profile["pretrain_ablation"], "arms": {}}
    with torch_threads(1):  # one core per arm; restored after, since notebook 02 calls this in its kernel
        for arm in args.arms:
            out["arms"][arm] = parser.run(run_arm, profile, ARMS[arm], progress=True)
            print(f"{arm}: final {out['arms'][arm]['base_curve'][-1]['accuracy']}", flush=True)
    path = results_path(args.profile, "02_pretrain_ablation.json")
    if set(args.arms) != set(ARMS) and not args.update:  # a partial run never replaces the whole table
        path = RUNS / "pretrain_ablation" / f"{args.profile}-{'_'.join(a.replace('+', '-') for a in args.arms)}.json"
    if args.update and path.exists():
        from .io import read_json
        out["arms"] = {**read_json(path)["arms"], **out["arms"]}
        out["arms"] = {name: out["arms"][name] for name in ARMS if name in out["arms"]}  # the table's order
    atomic_write_json(path, dict(out, provenance=provenance()))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
