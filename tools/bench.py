"""Speed measurements behind the engineering choices, taken in one run on one model and one set of
prompts, and stated as ratios so they carry over between machines better than absolute times::

    python -m tools.bench [--quick] [--out FILE] [--device cpu|cuda] [--threads N] [--profile small|paper]

(a) Evaluation: ``evaluation.exact_match`` (one batched teacher-forced pass) against the reference
    way: one prompt at a time through ``model.generate(do_sample=True, temperature=0.7, top_k=50,
    top_p=0.95, no_repeat_ngram_size=2, max_new_tokens=20)``, as the paper's code does. Prompts/s.
(b) Training: our step (right padding, no attention mask, fp32, eager attention: what
    ``base_training`` and ``lora`` do) against a plain loop that pads every sequence to
    ``n_positions`` and passes an attention mask to the default (SDPA) attention; also against the
    reference's own collate (pad to the batch's longest, with a mask). Real (non-pad) tokens/s. The
    two give the same loss on the same batch (reported as the largest absolute difference); bf16
    autocast and the thread count are measured for our step too.
(c) Model FLOP utilisation of our step: useful FLOPs / step time / the machine's measured fp32
    matmul peak (see ``train_flops``).

Results go to ``results/bench.json`` for the full CPU run (``--quick`` and other runs write under
``runs/bench/`` unless ``--out`` is given). They hold provenance, nproc, threads and the load average:
a busy machine slows everything, so compare the ratios, not the absolute numbers.
"""
from __future__ import annotations

import copy
import os
import platform
import statistics
import sys
import time

import torch
from tqdm import tqdm

from helpers.encoding import IGNORE, collate, encode
from helpers.evaluation import exact_match, greedy_exact_match
from helpers.io import atomic_write_json
from helpers.model import build_model, count_parameters, load_pretrained
from helpers.cli import Parser, output_file, whole
from helpers.training import adamw, train_step
from helpers.paths import BASES, RESULTS, RUNS
from helpers.profiles import get_profile
from helpers.runs import provenance
from helpers.tasks import HashChainConfig, HashHopConfig, config_to_dict, generate
from helpers.tokenizer import tokenizer_from_profile

# The paper code's evaluation call (one prompt at a time, sampled).
REFERENCE_GENERATE = {"do_sample": True, "temperature": 0.7, "top_k": 50, "top_p": 0.95,
                      "no_repeat_ngram_size": 2, "max_new_tokens": 20}

SIZES = {  # full run: about 2 minutes on a busy 2-core CPU; --quick: well under a minute
    False: {"eval_ours": 200, "eval_reference": 50, "eval_reps": 5, "batch": 32, "reps": 7,
            "reps_slow": 3, "matmul_n": 2048, "matmul_reps": 5},
    True: {"eval_ours": 64, "eval_reference": 8, "eval_reps": 2, "batch": 8, "reps": 2,
           "reps_slow": 1, "matmul_n": 512, "matmul_reps": 3},
}


# ----------------------------------------------------------------------------- FLOPs
def train_flops(n_params: int, n_layer: int, d_model: int, lengths: list[int]) -> int:
    """Useful FLOPs of one training step (forward + backward) over sequences of the given real
    lengths: ``6 * n_params`` per token for the weight matmuls (2 forward, 4 backward), plus
    ``12 * n_layer * seq * d_model`` per token for attention scores and their weighted sum (the
    PaLM appendix formula, non-causal). ``n_params`` should exclude the position embeddings (a
    lookup, not a matmul); the tied token embedding counts once, as the output projection.

    >>> train_flops(100, n_layer=2, d_model=4, lengths=[3, 1])
    3360
    """
    tokens = sum(lengths)
    return 6 * n_params * tokens + 12 * n_layer * d_model * sum(n * n for n in lengths)


def matmul_peak(device: torch.device, n: int, reps: int) -> float:
    """Best fp32 FLOP/s of an ``n x n`` matmul (``2 n^3`` FLOPs) over ``reps`` timed runs."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    a @ b
    _sync(device)
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        a @ b
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best


# ----------------------------------------------------------------------------- helpers
def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _median_time(fn, reps: int, device: torch.device, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _with_attention(model, implementation: str):
    out = copy.deepcopy(model)
    out.set_attn_implementation(implementation)
    return out


def load_bench_model(device: torch.device, profile_name: str = "small"):
    """``(model, tokenizer, profile, source)``: the profile's committed HashHop base if there is one, else
    a fresh model of the profile's shape (speed does not depend on the weights)."""
    profile = get_profile(profile_name)
    base_dir = BASES / f"hashhop-{profile_name}"
    if (base_dir / "config.json").exists():
        model, tokenizer = load_pretrained(base_dir, device=str(device))
        source = f"committed base {base_dir.relative_to(BASES.parent)}"
    else:
        tokenizer = tokenizer_from_profile(profile["tokenizer"])
        model = build_model(profile["model"], tokenizer, seed=0).to(device)
        source = f"fresh {profile_name}-profile model (no committed base found)"
    model.set_attn_implementation("eager")
    return model, tokenizer, profile, source


def _padded(encoded, pad_id: int, width: int):
    """Pad to ``width`` with an attention mask (the plain loop's batch)."""
    x = torch.full((len(encoded), width), pad_id, dtype=torch.long)
    y = torch.full((len(encoded), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, (ids, labels) in enumerate(encoded):
        x[row, :len(ids)] = torch.tensor(ids)
        y[row, :len(labels)] = torch.tensor(labels)
        mask[row, :len(ids)] = 1
    return x, y, mask


class _Trainer:
    """One training step as ``base_training``/``lora`` take it: forward, backward, clipping, AdamW."""

    def __init__(self, model, device, bf16: bool = False):
        self.model = model.train()
        self.device = device
        self.bf16 = bf16
        self.optimizer = adamw(model.parameters(), 1e-5, weight_decay=0.01)

    def step(self, x, y, mask=None) -> float:
        return train_step(self.model, self.optimizer, x, y, 1e-5, mask=mask, bf16=self.bf16).detach()


@torch.no_grad()
def _loss_and_logits(model, x, y, mask=None):
    out = model(input_ids=x, attention_mask=mask, labels=y)
    return out.loss.item(), out.logits


def loss_agreement(model, tokenizer, samples, width: int, device) -> dict:
    """Our mask-free right-padded eager forward against the padded-to-``width``, masked SDPA forward on
    the same batch: loss difference and largest logit difference over the real positions."""
    encoded = [encode(tokenizer, s) for s in samples]
    x, y = collate(encoded, tokenizer.pad_token_id)
    xp, yp, mask = _padded(encoded, tokenizer.pad_token_id, width)
    ours = model.eval()
    plain = _with_attention(model, "sdpa").eval()
    loss_a, logits_a = _loss_and_logits(ours, x.to(device), y.to(device))
    loss_b, logits_b = _loss_and_logits(plain, xp.to(device), yp.to(device), mask.to(device))
    real = mask[:, :x.shape[1]].bool().to(device)
    logit_diff = (logits_a - logits_b[:, :x.shape[1]]).abs()[real].max().item()
    lengths = [len(ids) for ids, _ in encoded]
    model.train()
    return {"loss_ours": loss_a, "loss_plain": loss_b, "loss_abs_diff": abs(loss_a - loss_b),
            "max_logit_abs_diff_real_positions": logit_diff, "lengths_min_max": [min(lengths), max(lengths)]}


# ----------------------------------------------------------------------------- the benchmark
def bench_evaluation(model, tokenizer, samples, sizes, device, batch_size: int) -> dict:
    ours_samples = samples[:sizes["eval_ours"]]
    ref_samples = samples[:sizes["eval_reference"]]
    verdicts = exact_match(model, tokenizer, ours_samples, batch_size=batch_size)
    t_ours = _median_time(lambda: exact_match(model, tokenizer, ours_samples, batch_size=batch_size),
                          sizes["eval_reps"], device)
    t_greedy = _median_time(lambda: greedy_exact_match(model, tokenizer, ours_samples),
                            max(1, sizes["eval_reps"] // 2), device)

    def reference(max_new_tokens: int | None, desc: str):
        model.eval()
        torch.manual_seed(0)
        hash_length = len(ref_samples[0].answer)
        hits = 0
        settings = dict(REFERENCE_GENERATE)
        start = time.perf_counter()
        for s in tqdm(ref_samples, desc=desc, leave=False):
            ids = tokenizer(s.prompt, return_tensors="pt", add_special_tokens=False)["input_ids"].to(device)
            n_new = max_new_tokens or settings["max_new_tokens"]
            out = model.generate(ids, attention_mask=torch.ones_like(ids), num_return_sequences=1,
                                 pad_token_id=tokenizer.eos_token_id,
                                 **dict(settings, max_new_tokens=n_new))
            text = tokenizer.decode(out[0], skip_special_tokens=True)
            hits += text.split("Target:")[-1].strip()[:hash_length] == s.answer
        _sync(device)
        seconds = time.perf_counter() - start
        model.train()
        return {"prompts_per_s": len(ref_samples) / seconds, "n_prompts": len(ref_samples),
                "seconds": seconds, "accuracy": hits / len(ref_samples)}

    ref = reference(None, "reference generate")
    answer_tokens = sum(t != IGNORE for t in encode(tokenizer, ref_samples[0])[1])
    ref_short = reference(answer_tokens, "reference, answer-length")
    ours = {"prompts_per_s": len(ours_samples) / t_ours, "n_prompts": len(ours_samples), "seconds": t_ours,
            "batch_size": batch_size, "accuracy": sum(verdicts) / len(verdicts)}
    return {
        "ours_teacher_forced": ours,
        "greedy_generate_batched": {"prompts_per_s": len(ours_samples) / t_greedy, "seconds": t_greedy,
                                    "n_prompts": len(ours_samples)},
        "reference_sampled_generate": dict(ref, settings=REFERENCE_GENERATE),
        "reference_sampled_generate_answer_length": dict(ref_short, max_new_tokens=answer_tokens),
        "ratio_ours_over_reference": ours["prompts_per_s"] / ref["prompts_per_s"],
        "ratio_ours_over_reference_answer_length": ours["prompts_per_s"] / ref_short["prompts_per_s"],
    }


def bench_training(model, tokenizer, samples, varied, sizes, device, threads: int) -> dict:
    width = model.config.n_positions
    encoded = [encode(tokenizer, s) for s in samples]
    real_tokens = sum(len(ids) for ids, _ in encoded)
    x, y = (t.to(device) for t in collate(encoded, tokenizer.pad_token_id))
    xb, yb, mb = (t.to(device) for t in _padded(encoded, tokenizer.pad_token_id, x.shape[1]))
    xp, yp, mp = (t.to(device) for t in _padded(encoded, tokenizer.pad_token_id, width))

    agreement = {"planning_batch": loss_agreement(model, tokenizer, samples, width, device),
                 "varied_length_batch": loss_agreement(model, tokenizer, varied, width, device)}
    max_loss_diff = max(a["loss_abs_diff"] for a in agreement.values())

    ours = _Trainer(copy.deepcopy(model), device)
    plain = _Trainer(_with_attention(model, "sdpa"), device)
    plain_b = _Trainer(_with_attention(model, "sdpa"), device)
    variants = {  # name: (step, reps)
        "ours": (lambda: ours.step(x, y), sizes["reps"]),
        "plain_batch_max_mask_sdpa": (lambda: plain_b.step(xb, yb, mb), sizes["reps"]),
        "plain_n_positions_mask_sdpa": (lambda: plain.step(xp, yp, mp), sizes["reps_slow"]),
    }
    for step, _ in variants.values():  # warm-up (AdamW state, allocator)
        step()
    _sync(device)
    times = {name: [] for name in variants}
    rounds = max(reps for _, reps in variants.values())
    for r in tqdm(range(rounds), desc="train steps", leave=False):  # interleaved: drift hits all alike
        for name, (step, reps) in variants.items():
            if r < reps:
                start = time.perf_counter()
                step()
                _sync(device)
                times[name].append(time.perf_counter() - start)
    step_s = {name: statistics.median(t) for name, t in times.items()}
    out = {name: {"step_s": s, "tokens_per_s": real_tokens / s} for name, s in step_s.items()}
    out["ours"].update(width=x.shape[1], attention="eager", mask=False)
    out["plain_batch_max_mask_sdpa"].update(width=xb.shape[1], attention="sdpa", mask=True)
    out["plain_n_positions_mask_sdpa"].update(width=width, attention="sdpa", mask=True)

    # bf16 autocast vs fp32, our step
    bf16 = _Trainer(copy.deepcopy(model), device, bf16=True)
    t_bf16 = _median_time(lambda: bf16.step(x, y), sizes["reps_slow"], device)
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16):
        loss_bf16 = model.eval()(input_ids=x, labels=y).loss.item()
    model.train()
    out["ours_bf16_autocast"] = {"step_s": t_bf16, "tokens_per_s": real_tokens / t_bf16,
                                 "loss_abs_diff_vs_fp32": abs(loss_bf16 - agreement["planning_batch"]["loss_ours"])}

    # thread count, our step
    by_threads = {}
    counts = sorted({1, 2, os.cpu_count() or 1})
    for n in tqdm(counts, desc="threads", leave=False):
        torch.set_num_threads(n)
        trainer = _Trainer(copy.deepcopy(model), device)
        t = _median_time(lambda: trainer.step(x, y), sizes["reps_slow"] if n > 1 else sizes["reps"], device)
        by_threads[str(n)] = {"step_s": t, "tokens_per_s": real_tokens / t}
    torch.set_num_threads(threads)
    best_threads = max(by_threads, key=lambda k: by_threads[k]["tokens_per_s"])

    tps = {name: v["tokens_per_s"] for name, v in out.items()}
    return {
        "batch": {"size": len(samples), "real_tokens": real_tokens, "width_ours": x.shape[1], "width_plain": width},
        "variants": out,
        "threads": dict(by_threads, best=int(best_threads)),
        "loss_agreement": dict(agreement, max_loss_abs_diff=max_loss_diff),
        "ratio_ours_over_plain_n_positions": tps["ours"] / tps["plain_n_positions_mask_sdpa"],
        "ratio_ours_over_plain_batch_max": tps["ours"] / tps["plain_batch_max_mask_sdpa"],
        "ratio_fp32_over_bf16": tps["ours"] / tps["ours_bf16_autocast"],
        "ratio_threads_1_over_2": by_threads["1"]["tokens_per_s"] / by_threads["2"]["tokens_per_s"],
        "_lengths": [len(ids) for ids, _ in encoded],
    }


def run(quick: bool = False, device: str | None = None, threads: int | None = None, progress: bool = True,
        profile: str = "small") -> dict:
    began = time.time()
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    threads = threads or (1 if dev.type == "cpu" else torch.get_num_threads())
    torch.set_num_threads(threads)
    sizes = SIZES[quick]
    load_start = os.getloadavg()
    model, tokenizer, profile, source = load_bench_model(dev, profile)
    hashes = {k: profile["tokenizer"][k] for k in ("alphabet", "hash_length")}
    task = HashHopConfig(**profile["lora"]["planning"], **hashes)
    reasoning = HashChainConfig(**{k: tuple(v) for k, v in profile["lora"]["reasoning"].items()}, **hashes)
    samples = generate(task, max(sizes["eval_ours"], sizes["batch"]), seed=12345)
    varied = generate(reasoning, sizes["batch"], seed=12346)

    evaluation = bench_evaluation(model, tokenizer, samples, sizes, dev, profile["eval"]["batch_size"])
    training = bench_training(model, tokenizer, samples[:sizes["batch"]], varied, sizes, dev, threads)
    lengths = training.pop("_lengths")

    pos_params = model.transformer.wpe.weight.numel()
    n_matmul = count_parameters(model) - pos_params
    flops = train_flops(n_matmul, model.config.n_layer, model.config.n_embd, lengths)
    peak = matmul_peak(dev, sizes["matmul_n"], sizes["matmul_reps"])
    variants = training["variants"]
    achieved = flops / variants["ours"]["step_s"]
    mfu = {"formula": "FLOPs/step = 6*N*tokens + 12*n_layer*d_model*sum(len_i^2) over the batch's real "
                      "tokens, N = parameters without position embeddings; MFU = FLOPs/step / step time / "
                      "fp32 matmul peak",
           "n_params_matmul": n_matmul, "flops_per_step": flops,
           "peak_flops": peak, "peak_matmul_n": sizes["matmul_n"], "peak_threads": threads,
           "achieved_flops_ours": achieved, "mfu_ours": achieved / peak,
           "mfu_plain_n_positions": flops / variants["plain_n_positions_mask_sdpa"]["step_s"] / peak,
           "mfu_ours_bf16": flops / variants["ours_bf16_autocast"]["step_s"] / peak}

    ratios = {"eval_ours_over_reference": evaluation["ratio_ours_over_reference"],
              "eval_ours_over_reference_answer_length": evaluation["ratio_ours_over_reference_answer_length"],
              "train_ours_over_plain_n_positions": training["ratio_ours_over_plain_n_positions"],
              "train_ours_over_plain_batch_max": training["ratio_ours_over_plain_batch_max"],
              "train_fp32_over_bf16": training["ratio_fp32_over_bf16"],
              "train_threads_1_over_2": training["ratio_threads_1_over_2"],
              "mfu": mfu["mfu_ours"]}
    return {
        "quick": quick,
        "profile": profile["name"],
        "ratios": ratios,
        "evaluation": evaluation,
        "training": training,
        "mfu": mfu,
        "model": {"source": source, "config": {k: getattr(model.config, k) for k in ("n_layer", "n_embd", "n_head",
                                                                                        "n_positions", "vocab_size")},
                  "parameters": count_parameters(model)},
        "prompts": {"task": config_to_dict(task), "varied_length_task": config_to_dict(reasoning),
                    "seed": 12345},
        "machine": {"device": str(dev), "nproc": os.cpu_count(), "torch_threads": threads,
                    "cpu": platform.processor() or platform.machine(),
                    "gpu": torch.cuda.get_device_name(dev) if dev.type == "cuda" else None,
                    "loadavg_start": [round(x, 2) for x in load_start],
                    "loadavg_end": [round(x, 2) for x in os.getloadavg()]},
        "provenance": provenance(),
        "sizes": sizes,
        "seconds": round(time.time() - began, 1),
    }


def format_table(r: dict) -> str:
    ev, tr, m = r["evaluation"], r["training"], r["mfu"]
    v = tr["variants"]
    rows = [
        ("evaluation", "ours: batched teacher-forced exact_match", f"{ev['ours_teacher_forced']['prompts_per_s']:,.0f} prompts/s", "1"),
        ("", "greedy generate, batched by length", f"{ev['greedy_generate_batched']['prompts_per_s']:,.0f} prompts/s",
         f"{ev['ours_teacher_forced']['prompts_per_s'] / ev['greedy_generate_batched']['prompts_per_s']:.1f}x"),
        ("", "reference: sampled generate, 1 prompt, 20 new tokens", f"{ev['reference_sampled_generate']['prompts_per_s']:,.1f} prompts/s",
         f"{ev['ratio_ours_over_reference']:.0f}x"),
        ("", "reference, answer-length new tokens", f"{ev['reference_sampled_generate_answer_length']['prompts_per_s']:,.1f} prompts/s",
         f"{ev['ratio_ours_over_reference_answer_length']:.0f}x"),
        ("training", f"ours: right-pad (w={v['ours']['width']}), no mask, eager, fp32", f"{v['ours']['tokens_per_s']:,.0f} tok/s", "1"),
        ("", f"plain: pad to batch max (w={v['plain_batch_max_mask_sdpa']['width']}), mask, sdpa",
         f"{v['plain_batch_max_mask_sdpa']['tokens_per_s']:,.0f} tok/s", f"{tr['ratio_ours_over_plain_batch_max']:.2f}x"),
        ("", f"plain: pad to n_positions (w={v['plain_n_positions_mask_sdpa']['width']}), mask, sdpa",
         f"{v['plain_n_positions_mask_sdpa']['tokens_per_s']:,.0f} tok/s", f"{tr['ratio_ours_over_plain_n_positions']:.1f}x"),
        ("", "ours with bf16 autocast", f"{v['ours_bf16_autocast']['tokens_per_s']:,.0f} tok/s", f"{tr['ratio_fp32_over_bf16']:.2f}x"),
    ]
    for n, t in tr["threads"].items():
        if n != "best":
            rows.append(("", f"ours, {n} thread(s)", f"{t['tokens_per_s']:,.0f} tok/s",
                         f"1 thread: {tr['threads']['1']['tokens_per_s'] / t['tokens_per_s']:.2f}x"))
    rows.append(("MFU", f"ours: {m['achieved_flops_ours'] / 1e9:.1f} GFLOP/s of {m['peak_flops'] / 1e9:.1f} peak "
                        f"({m['peak_matmul_n']}^2 matmul)", f"{100 * m['mfu_ours']:.1f}%", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(("", "what", "speed", "ours is"), widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    la = tr["loss_agreement"]
    mach = r["machine"]
    lines.append(f"loss agreement (no-mask right-pad eager vs masked sdpa padded to n_positions): max |dloss| = "
                 f"{la['max_loss_abs_diff']:.1e}; bf16 |dloss| = {v['ours_bf16_autocast']['loss_abs_diff_vs_fp32']:.1e}")
    lines.append(f"machine: {mach['device']}, nproc={mach['nproc']}, torch threads={mach['torch_threads']}, "
                 f"load average {mach['loadavg_start'][0]} -> {mach['loadavg_end'][0]}; model: {r['model']['source']}; "
                 f"{r['seconds']} s")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = Parser(prog="python -m tools.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, well under a minute (for tests)")
    parser.add_argument("--out", type=output_file(), default=None,
                        help="results JSON (default: results/bench.json for the full CPU run the README reports; "
                             "runs/bench/bench-quick.json with --quick, runs/bench/bench-<device>.json otherwise)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default=None, help="cpu or cuda (default: cuda if available)")
    parser.add_argument("--profile", default="small",
                        help="whose model shape and planning prompts to time (default small; paper: GPT-2 124M, for a GPU)")
    parser.add_argument("--threads", type=whole(1), default=None,
                        help="torch threads for the main measurements (default 1 on CPU; the thread sweep tries 1, 2, nproc)")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device: cuda was asked for, but torch sees no CUDA GPU here; allowed values here are ['cpu']")
    if args.out is None:  # only the full default run owns the committed results/bench.json
        device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
        owner = not args.quick and device == "cpu" and args.threads is None and args.profile == "small"
        name = "quick" if args.quick else f"{args.profile}-{device}"
        args.out = RESULTS / "bench.json" if owner else RUNS / "bench" / f"bench-{name}.json"
    from transformers.utils import logging as hf_logging
    hf_logging.set_verbosity_error()
    parser.run(get_profile, args.profile)  # an unknown profile: one line, before anything is timed
    result = parser.run(run, quick=args.quick, device=args.device, threads=args.threads, profile=args.profile)
    atomic_write_json(args.out, result)
    print(format_table(result))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
