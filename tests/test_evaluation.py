"""Evaluation: the batched teacher-forced ``exact_match`` gives exactly greedy decoding's verdicts on
a trained model (one- and multi-token answers), whatever the batch size; Wilson intervals and the
accuracy table on known values."""
from __future__ import annotations

import math

import pytest
import torch

from helpers.base_training import training_batch
from helpers.encoding import IGNORE, collate, encode
from helpers.evaluation import accuracy_table, exact_match, greedy_exact_match
from helpers.stats import wilson_interval
from helpers.model import build_model
from helpers.tasks import HashHopConfig, Sample, generate
from helpers.tokenizer import build_tokenizer

torch.set_num_threads(1)  # the machine is shared with training runs

TINY = {"n_layer": 2, "n_embd": 32, "n_head": 2, "n_positions": 128}
# name: (hash_tokens, hash_length, training steps). With char tokens and 2-character hashes the
# answer " xy" is 3 tokens, so the argument over several answer positions is exercised.
SETTINGS = {"whole": ("whole", 1, 250), "char": ("char", 2, 300)}


def _train(hash_tokens: str, hash_length: int, steps: int):
    tokenizer = build_tokenizer(alphabet="abcd", hash_length=hash_length, hash_tokens=hash_tokens)
    task = HashHopConfig(chain_length=3, max_hops=1, hash_length=hash_length, alphabet="abcd")
    model = build_model(TINY, tokenizer, seed=0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for step in range(steps):
        x, y = training_batch(task, tokenizer, seed=0, step=step, batch_size=32, recall_lines=2, extra_queries=1)
        loss = model(input_ids=x, labels=y).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    model.eval()
    # In-distribution prompts (mostly right) and longer maps / more hops (mostly wrong), so the
    # verdicts are mixed and the prompts have different lengths (batches are padded).
    samples = (generate(task, 50, seed=1)
               + generate(HashHopConfig(chain_length=4, min_hops=1, max_hops=3, hash_length=hash_length,
                                        alphabet="abcd"), 50, seed=2))
    return model, tokenizer, samples


@pytest.fixture(scope="module", params=sorted(SETTINGS))
def trained(request):
    return request.param, *_train(*SETTINGS[request.param])


@torch.no_grad()
def per_position_hits(model, tokenizer, sample: Sample) -> tuple[bool, ...]:
    """Teacher-forced argmax == true token at each answer position, one sample alone (no padding)."""
    ids, labels = encode(tokenizer, sample)
    logits = model(input_ids=torch.tensor([ids])).logits[0, :-1]
    target = torch.tensor(labels[1:])
    supervised = target != IGNORE
    return tuple((logits.argmax(-1)[supervised] == target[supervised]).tolist())


# ----------------------------------------------------------------------------- (a) teacher forcing == greedy
def test_teacher_forced_verdicts_equal_greedy_generate(trained):
    name, model, tokenizer, samples = trained
    fast = exact_match(model, tokenizer, samples)
    slow = greedy_exact_match(model, tokenizer, samples)
    assert any(fast) and not all(fast), f"{name}: need both right and wrong verdicts, got {sum(fast)}/{len(fast)}"
    assert fast == slow
    # and both equal "every answer position right under teacher forcing", computed one by one
    assert fast == [all(per_position_hits(model, tokenizer, s)) for s in samples]


def test_multi_token_answers_exercise_later_positions(trained):
    """With 3-token answers, some samples are right at the first hash character and wrong at the
    second, and some are wrong at the first but right at the second given the true prefix: a
    per-token score would count the latter, greedy (and ``exact_match``) must not."""
    name, model, tokenizer, samples = trained
    if name != "char":
        pytest.skip("single-token hashes")
    patterns = [per_position_hits(model, tokenizer, s) for s in samples]
    assert all(len(p) == 3 for p in patterns)
    first_right_then_wrong = sum(p[1] and not p[2] for p in patterns)
    first_wrong_then_right = sum(not p[1] and p[2] for p in patterns)
    assert first_right_then_wrong > 0 and first_wrong_then_right > 0, patterns
    verdicts = exact_match(model, tokenizer, samples)
    assert all(not v for v, p in zip(verdicts, patterns) if not p[1] and p[2])


# ----------------------------------------------------------------------------- (c) batching / padding
def test_verdicts_do_not_depend_on_batch_size(trained):
    name, model, tokenizer, samples = trained
    lengths = {len(encode(tokenizer, s)[0]) for s in samples}
    assert len(lengths) > 1, "need prompts of different lengths so batches are padded"
    one = exact_match(model, tokenizer, samples, batch_size=1)
    assert one == exact_match(model, tokenizer, samples, batch_size=64)
    assert one == exact_match(model, tokenizer, samples, batch_size=256)


@torch.no_grad()
def test_right_padding_needs_no_mask(trained):
    """Logits at real positions are the same alone and in a right-padded batch without a mask."""
    name, model, tokenizer, samples = trained
    encoded = [encode(tokenizer, s) for s in samples]
    x, _ = collate(encoded, tokenizer.pad_token_id)
    batched = model(input_ids=x).logits
    assert len(encoded[0][0]) < x.shape[1]  # the first samples (shorter maps) are padded
    for row in (0, 1, len(samples) - 1):
        ids = encoded[row][0]
        alone = model(input_ids=torch.tensor([ids])).logits[0]
        torch.testing.assert_close(batched[row, :len(ids)], alone, atol=1e-5, rtol=1e-5)


# ----------------------------------------------------------------------------- (b) Wilson, accuracy table
def _closed_form(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n), (centre + spread) / (1 + z * z / n)


def test_wilson_known_values():
    z2 = 1.96 ** 2
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(z2 / (10 + z2), abs=1e-12)          # 0.2775
    lo, hi = wilson_interval(10, 10)
    assert hi == 1.0 and lo == pytest.approx(10 / (10 + z2), abs=1e-12)         # 0.7225
    lo, hi = wilson_interval(5, 10)
    assert (lo, hi) == pytest.approx((0.2366, 0.7634), abs=1e-4)                # textbook value
    assert (lo, hi) == pytest.approx(_closed_form(5, 10), abs=1e-12)
    assert wilson_interval(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize("k,n", [(1, 10), (3, 7), (37, 100), (499, 500)])
def test_wilson_closed_form_and_symmetry(k, n):
    lo, hi = wilson_interval(k, n)
    assert (lo, hi) == pytest.approx(_closed_form(k, n), abs=1e-12)
    assert lo < k / n < hi
    mirror = wilson_interval(n - k, n)
    assert (lo, hi) == pytest.approx((1 - mirror[1], 1 - mirror[0]), abs=1e-12)
    narrower = wilson_interval(10 * k, 10 * n)
    assert narrower[1] - narrower[0] < hi - lo


def test_accuracy_table_groups_by_meta_key():
    def s(hops):
        return Sample("p", "a", "hashhop", {"hops": hops, "chain_length": 5})
    samples = [s(2), s(1), s(2), s(3), s(1), s(2)]
    verdicts = [True, False, True, False, True, False]
    rows = accuracy_table(samples, verdicts, "hops")
    assert [r["hops"] for r in rows] == [1, 2, 3]
    assert [(r["n"], r["correct"]) for r in rows] == [(2, 1), (3, 2), (1, 0)]
    assert [r["accuracy"] for r in rows] == pytest.approx([0.5, 2 / 3, 0.0])
    for r in rows:
        assert (r["ci_low"], r["ci_high"]) == wilson_interval(r["correct"], r["n"])
    assert accuracy_table([], [], "hops") == []
