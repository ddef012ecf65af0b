"""Notebook 03's LoRA runs on a base variant instead of the committed base: would its experiments still test
what they claim if that variant became the committed base? The runs of notebook 03's largest rank at every
seed, with the variant as their base, each checked against the ability criteria on the same held-out
prompts against that variant (and the committed base's accuracy beside it)::

    python -m tools.variant_lora --variant "hashchain: ..."     # writes results/small/03_variant_lora.json

``--variant`` names a ``tools.base_variants`` variant whose model is trained (``runs/base-variants/``), or a
committed model folder under ``models/`` (e.g. ``models/hashchain-small-stage1``, the 9,000-step first stage of
the committed HashChain base); a HashChain base gets the reasoning runs, a HashHop one the planning runs. Runs go
to the run cache (``runs/lora/``) like every LoRA run; nothing here is part of ``make figures``.
"""
from __future__ import annotations

import sys

from helpers.experiments import KINDS

KIND_OF_TASK = {task: kind for kind, task in KINDS.items()}  # the LoRA kind whose base does each base task


def committed_model(name: str) -> tuple[str, "Path"]:
    """``(kind, folder)`` of a committed base model named by its repo-relative folder (``models/<name>``), its task
    read from its ``base_info.json``; anything else is refused naming ``--variant``."""
    from helpers.bases import verify_base
    from helpers.errors import MissingFileError
    from helpers.paths import BASES, REPO_ROOT
    folder = (REPO_ROOT / name).resolve()
    if folder.parent != BASES.resolve() or not (folder / "base_info.json").is_file():
        raise MissingFileError(f"--variant: {name!r} is neither a tools.base_variants variant nor a committed base "
                               f"folder (models/<name> with a base_info.json)")
    task = verify_base(folder)["config"].get("task")
    if task not in KIND_OF_TASK:
        raise MissingFileError(f"--variant: {name} is not a base of {sorted(KIND_OF_TASK)} (its task: {task!r})")
    return KIND_OF_TASK[task], folder


def variant_configs(profile: dict, name: str) -> tuple[str, list[dict]]:
    """``(kind, configs)``: notebook 03's largest-rank runs of the variant's task at every seed, on the variant's
    model (repo-relative path and checksum in place of the committed base's; no snapshots)."""
    from helpers.experiments import base_fingerprint, run_configs, sweep_steps
    from helpers.lora import _portable
    from helpers.paths import RUNS
    from helpers.errors import MissingFileError
    from tools.base_variants import ROOT_NAME, VARIANTS, slug
    if name in VARIANTS:
        kind = KIND_OF_TASK[VARIANTS[name]["task"]]
        model = RUNS / ROOT_NAME / slug(name) / "model"
        if not (model / "model.safetensors").is_file():
            raise MissingFileError(f"--variant: {model} is not trained; run `python -m tools.base_variants --variant {name!r} --train-only`")
    else:
        kind, model = committed_model(name)
    lp = profile["lora"]
    configs = []
    for c in run_configs(profile, kind, [max(lp["ranks"])], lp["seeds"], steps=sweep_steps(profile, kind)):
        c = {k: v for k, v in c.items() if k != "snapshots"}
        configs.append(dict(c, base=_portable(model), base_checksum=base_fingerprint(model)))
    return kind, configs


def probe(profile: dict, name: str, progress: bool = True) -> dict:
    from helpers.diagnostics import answer_points
    from helpers.experiments import diagnose, eval_points, model_answers, task_dict, trained_points
    from helpers.lora import _resolve
    from helpers.model import load_pretrained
    from helpers.sweep import run_all
    from helpers.tasks import config_from_dict
    kind, configs = variant_configs(profile, name)
    results = run_all(profile, configs, progress=progress)
    model, tokenizer = load_pretrained(_resolve(configs[0]["base"]))
    task = config_from_dict(task_dict(profile, kind))
    base = answer_points(model, tokenizer, task, eval_points(profile, kind), profile["eval"]["n_per_point"])
    committed = model_answers(profile, kind)
    points = trained_points(profile, kind)
    acc = lambda answers: {p: sum(g["correct"]) / len(g["correct"]) for p, g in answers.items()}
    runs = {f"r{c['rank']}-s{c['seed']}": diagnose(kind, model_answers(profile, kind, r["adapter_dir"]), base, points)
            for c, r in zip(configs, results)}
    return {"variant": name, "kind": kind, "trained_points": points, "rank": configs[0]["rank"],
            "base": configs[0]["base"], "variant_base_accuracy": acc(base), "committed_base_accuracy": acc(committed),
            "runs": {k: {"rows": [{x: row[x] for x in ("point", "accuracy", "ci_low", "ci_high", "vs_base", "random_chain_end",
                                                      "categories", "modal_position") if x in row} for row in d["rows"]],
                         "criteria": d["criteria"]} for k, d in runs.items()}}


def main(argv=None) -> int:
    from helpers.cli import Parser
    from helpers.profiles import get_profile
    from helpers.runs import save_results
    from helpers.tables import variant_lora_lines
    from tools.base_variants import VARIANTS
    parser = Parser(prog="python -m tools.variant_lora", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="small", help="profile name (default: small)")
    parser.add_argument("--variant", required=True, metavar="NAME",
                        help="a tools.base_variants variant (" + "; ".join(VARIANTS) + ") or a committed base folder, "
                             "e.g. models/hashchain-small-stage1")
    args = parser.parse_args(argv)
    profile = parser.run(get_profile, args.profile)
    got = parser.run(probe, profile, args.variant)
    path = save_results(profile, "03_variant_lora.json", {"profile": args.profile, **got})
    print("\n".join(variant_lora_lines(got)))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
