"""tools.base_variants and what it rests on: each variant changes what its name says from the committed
recipe; ``bases.base_scores`` scores a base as notebook 02 does; ``train_base_dir(start=...)`` starts from
the given model instead of the stand-in."""
import json
import re

from helpers.base_training import Recipe
from helpers.bases import base_config, base_scores, stage_profiles, train_base_dir
from helpers.io import read_json
from helpers.paths import BASES, RESULTS
from helpers.profiles import get_profile
from tools.base_variants import STEP_ARMS, VARIANTS, slug, step_times, variant_profile


def test_each_variant_changes_what_its_name_says_and_nothing_else():
    profile = get_profile("small")
    assert len({slug(n) for n in VARIANTS}) == len(VARIANTS)
    for name, spec in VARIANTS.items():
        task = spec["task"]
        assert name.startswith(task)
        # a variant is one stage: it changes the committed recipe's first stage (no warm restarts)
        committed = base_config(task, stage_profiles(task, profile)[0])
        variant = base_config(task, variant_profile(profile, spec))
        assert "restarts" not in variant
        Recipe(**variant["recipe"])  # a valid recipe: refused before any training otherwise
        # a key the committed recipe lacks (depth_queries) trained as its Recipe default
        value = lambda config, k: config["recipe"].get(k, Recipe.__dataclass_fields__[k].default)
        changed = {k for k in {*committed["recipe"], *variant["recipe"]} if value(committed, k) != value(variant, k)}
        assert changed == set(spec["recipe"])
        model = spec.get("model", {})
        assert {k for k in committed["model"] if committed["model"][k] != variant["model"][k]} == set(model)
        rest = ("recipe", "model", "kernels", "curriculum")
        assert {k: v for k, v in committed.items() if k not in rest} == {k: v for k, v in variant.items() if k not in rest}
        # the training kernels: the committed recipe's config names none (eager); a "fast kernels" variant's names them
        assert "kernels" not in committed and variant.get("kernels") == ("fast" if "fast kernels" in name else None)
        # the curriculum: the committed recipe's easier variants, unless the name drops them
        assert committed["curriculum"] and variant.get("curriculum") == (None if "no curriculum" in name else committed["curriculum"])
        if "heads" in name:
            assert model == {"n_head": int(re.search(r"(\d+) attention heads", name).group(1))} and not changed
        if "seed" in name:
            assert changed == {"seed"} and variant["recipe"]["seed"] == int(name.split()[-1])
        end = re.search(r"(\d+) end-of-chain queries", name)
        assert bool(end) == ("end_queries" in changed)
        if end:
            assert variant["recipe"]["end_queries"] == int(end.group(1)) > 0
        start = re.search(r"(\d+) start hop queries", name)
        assert bool(start) == ("start_queries" in changed)
        if start:
            assert variant["recipe"]["start_queries"] == int(start.group(1)) > 0
        depth = re.search(r"(\d+) depth queries", name)
        assert bool(depth) == ("depth_queries" in changed)
        if depth:
            assert variant["recipe"]["depth_queries"] == int(depth.group(1)) > 0
        if "instead of recall lines and hop queries" in name:
            assert variant["recipe"]["recall_lines"] == variant["recipe"]["extra_queries"] == 0
        if "from the committed HashHop base" in name:  # another task's committed base as the start, its recipe as is
            assert spec["from"] == "models/hashhop-small" and changed == {"steps"}
            assert (BASES / "hashhop-small" / "base_info.json").exists()
        shorter = re.search(r"lr (\S+) on shorter sequences \((\d+) recall lines, (\d+) hop query\)", name)
        if shorter:
            assert changed == {"lr", "recall_lines", "extra_queries", "steps"}
            assert (variant["recipe"]["lr"], variant["recipe"]["recall_lines"], variant["recipe"]["extra_queries"]) == \
                (float(shorter.group(1)), int(shorter.group(2)), int(shorter.group(3)))
            assert variant["recipe"]["recall_lines"] < committed["recipe"]["recall_lines"]
        if "shorter sequences" in name:  # fewer of the recall lines and hop queries the stand-in already answers
            assert variant["recipe"]["recall_lines"] < committed["recipe"]["recall_lines"]
            assert variant["recipe"]["extra_queries"] < committed["recipe"]["extra_queries"]
            lr = re.search(r"lr (\S+) on shorter", name)
            assert variant["recipe"]["lr"] == (float(lr.group(1)) if lr else committed["recipe"]["lr"])
        steps = re.search(r"([\d,]+) steps", name)
        if steps:
            assert variant["recipe"]["steps"] == int(steps.group(1).replace(",", ""))
        if "more" in name:
            source = spec["from"]
            before = set()
            if source in VARIANTS:  # trained further from another variant's model, of the same task, with its recipe
                origin = VARIANTS[source]
                assert source != name and origin["task"] == task and origin.get("kernels") == spec.get("kernels")
                assert {k: v for k, v in origin["recipe"].items() if k != "steps"} == \
                    {k: v for k, v in spec["recipe"].items() if k != "steps"}
                before = set(origin["recipe"]) - {"steps"}
            else:
                assert (BASES / source.split("/", 1)[1] / "base_info.json").exists()
            lr = re.search(r"at lr (\S+)$", name)
            assert changed == ({"steps", "lr"} if lr else {"steps"}) | before
            if lr:
                assert variant["recipe"]["lr"] == float(lr.group(1))


def test_base_scores_reproduce_notebook_02s_committed_hashchain_numbers():
    """Same prompts (seeded per point), same greedy answers: the stored table's rows, baselines and criteria."""
    profile = get_profile("small", {"base": {"hashchain": {"eval_shortest": [2, 3]}}})
    got = base_scores("hashchain", BASES / "hashchain-small", profile)
    stored = read_json(RESULTS / "small" / "02_base.json")
    assert got["accuracy"] == [r for r in stored["accuracy"]["hashchain"] if r["shortest"] in (2, 3)]
    assert got["random_chain_end"] == {p: stored["random_chain_end"][str(p)] for p in (2, 3)}
    assert json.loads(json.dumps(got["criteria"])) == stored["criteria"]["hashchain"]
    assert got["targets"] == {k: v for k, v in stored["targets"].items() if k.startswith("hashchain")}
    assert got["categories"] == {p: stored["categories"][str(p)] for p in (2, 3)}


def test_a_base_can_start_from_a_given_model_instead_of_the_stand_in(tiny_base, tmp_path):
    profile = get_profile("smoke")
    a = train_base_dir("hashhop", profile, tmp_path / "a", progress=False, runs_root=tmp_path / "runs", start=tiny_base)
    assert a["start"] == str(tiny_base) and not (tmp_path / "runs").exists()  # no stand-in was trained or read
    b = train_base_dir("hashhop", profile, tmp_path / "b", progress=False, runs_root=tmp_path / "runs")
    assert "start" not in b and (tmp_path / "runs" / "pretrain").is_dir()
    assert a["sha256"] != b["sha256"]


def test_fast_kernels_train_with_sdpa_attention_and_the_erf_gelu_and_the_model_keeps_the_gelu(tiny_base, tmp_path, monkeypatch):
    import helpers.bases
    seen, train = [], helpers.bases.train_base

    def spy(model, *args, **kwargs):
        seen.append((model.config._attn_implementation, type(model.transformer.h[0].mlp.act).__name__))
        return train(model, *args, **kwargs)
    monkeypatch.setattr(helpers.bases, "train_base", spy)
    fast = train_base_dir("hashhop", get_profile("smoke", {"base": {"hashhop": {"kernels": "fast"}}}), tmp_path / "fast",
                          progress=False, runs_root=tmp_path / "runs", start=tiny_base)
    eager = train_base_dir("hashhop", get_profile("smoke"), tmp_path / "eager", progress=False,
                           runs_root=tmp_path / "runs", start=tiny_base)
    assert seen == [("sdpa", "GELUActivation"), ("eager", "NewGELUActivation")]
    assert fast["config"]["kernels"] == "fast" and "kernels" not in eager["config"]  # committed configs unchanged
    assert read_json(tmp_path / "fast" / "config.json")["activation_function"] == "gelu"
    assert read_json(tmp_path / "eager" / "config.json")["activation_function"] == "gelu_new"
    assert fast["sha256"] != eager["sha256"]


def test_a_time_limit_before_the_first_evaluation_keeps_no_model_and_a_later_run_trains_it(tiny_base, tmp_path):
    profile = get_profile("smoke")  # evaluates every 20 steps; the limit stops it after its first step
    out = tmp_path / "model"
    assert train_base_dir("hashhop", profile, out, progress=False, checkpoint_dir=tmp_path / "checkpoint",
                          time_limit_s=1e-9, keep_at_limit=True, start=tiny_base) is None
    assert not out.exists()  # no model a later run could mistake for one trained to its limit
    info = train_base_dir("hashhop", profile, out, progress=False, checkpoint_dir=tmp_path / "checkpoint", start=tiny_base)
    assert info["curve"][-1]["step"] == Recipe(**base_config("hashhop", profile)["recipe"]).steps and not info["stopped_at_time_limit"]


def test_a_variant_trained_with_another_recipe_is_refused_not_reused(tmp_path, monkeypatch):
    import pytest
    from helpers import paths
    from helpers.errors import Refused
    from tools.base_variants import train_variant
    monkeypatch.setattr(paths, "RUNS", tmp_path)
    name = "hashchain seed 1"
    folder = tmp_path / "base-variants" / slug(name) / "model"
    folder.mkdir(parents=True)
    profile = get_profile("small")
    config = base_config("hashchain", stage_profiles("hashchain", profile)[0])  # the committed recipe: seed 0, not 1
    (folder / "base_info.json").write_text(json.dumps({"config": config}))
    with pytest.raises(Refused, match="delete it to retrain"):
        train_variant(name, profile, 1.0)
    config["recipe"]["seed"] = 1
    (folder / "base_info.json").write_text(json.dumps({"config": config}))
    assert train_variant(name, profile, 1.0) == folder


def test_a_variant_from_another_variant_trains_that_one_first_and_starts_from_its_model(tmp_path, monkeypatch):
    from helpers import bases, paths
    from helpers.paths import REPO_ROOT
    from tools.base_variants import train_variant
    monkeypatch.setattr(paths, "RUNS", tmp_path)
    calls = []
    monkeypatch.setattr(bases, "train_base_dir", lambda task, profile, out, start=None, **kw: calls.append((out, start)) or {})
    name = next(n for n, spec in VARIANTS.items() if spec.get("from") in VARIANTS)
    source = VARIANTS[name]["from"]
    got = train_variant(name, get_profile("small"), 1.0, progress=False)
    assert got == tmp_path / "base-variants" / slug(name) / "model"
    assert calls == [(tmp_path / "base-variants" / slug(source) / "model", REPO_ROOT / VARIANTS[source]["from"]),
                     (got, tmp_path / "base-variants" / slug(source) / "model")]


def test_training_total_follows_the_models_a_variant_started_from(tmp_path, monkeypatch):
    from helpers import paths
    from helpers.paths import REPO_ROOT
    from tools.base_variants import training_total
    monkeypatch.setattr(paths, "RUNS", tmp_path)
    name = next(n for n, spec in VARIANTS.items() if spec.get("from") in VARIANTS)
    source = VARIANTS[name]["from"]
    for variant, steps, seconds in ((name, 100, 600.0), (source, 40, 120.0)):
        folder = tmp_path / "base-variants" / slug(variant) / "model"
        folder.mkdir(parents=True)
        (folder / "base_info.json").write_text(json.dumps({"curve": [{"step": steps, "seconds": seconds}], "train_seconds": seconds}))
    committed = read_json(REPO_ROOT / VARIANTS[source]["from"] / "base_info.json")
    steps, minutes = training_total(name)
    assert steps == 140 + committed["curve"][-1]["step"]
    assert abs(minutes - (12.0 + committed["train_seconds"] / 60)) < 1e-9


def test_variants_are_measured_against_the_committed_recipes_first_stage():
    """FIRST_STAGE: the committed model of each task's first stage (its recipe before any warm restart), trained with
    the config every variant changes; the committed HashChain base is that model after its restarts."""
    from helpers.bases import verify_base
    from helpers.paths import REPO_ROOT
    from tools.base_variants import FIRST_STAGE
    profile = get_profile("small")
    for task, model in FIRST_STAGE.items():
        config = json.loads(json.dumps(verify_base(REPO_ROOT / model)["config"]))
        config["recipe"].setdefault("end_queries", 0)  # trained before the key existed; 0 is how it trained
        assert config == json.loads(json.dumps(base_config(task, stage_profiles(task, profile)[0])))
    staged = read_json(BASES / "hashchain-small" / "base_info.json")
    assert staged["config"] == json.loads(json.dumps(base_config("hashchain", profile)))
    assert staged["stages"][0]["sha256"] == read_json(REPO_ROOT / FIRST_STAGE["hashchain"] / "base_info.json")["sha256"]
    assert [s["steps"] for s in staged["stages"][1:]] == [r["steps"] for r in profile["base"]["hashchain"]["restarts"]]


def test_step_times_time_each_arm_with_its_own_batches_and_kernels_against_the_committed_recipe():
    import pytest
    arms = step_times(get_profile("smoke"), reps=1, steps=3)["arms"]
    assert [a["variant"] for a in arms] == list(STEP_ARMS) and STEP_ARMS[0] is None  # the committed recipe first
    assert arms[0]["speedup"] == 1.0 and all(a["s_per_step"] > 0 and a["s_per_batch_drawn"] > 0 for a in arms)
    assert [a["kernels"] for a in arms] == ["eager", "eager", "fast"]
    assert arms[1]["batch_width"] < arms[0]["batch_width"]  # 2 recall lines and 1 hop query in place of 8 and 3
    with pytest.raises(ValueError, match="names: .* starts from another model"):
        step_times(get_profile("smoke"), names=(None, "hashchain: from the committed HashHop base, 4,500 steps"))


def test_depth_scores_ask_each_chain_end_in_the_training_layout_and_score_the_answers(monkeypatch):
    """The depth probe asks every chain end of every held-out prompt after the recipe's recall lines and hop queries, in
    the depth queries' training format; answers that are the true depths score 1 on both measures, a constant depth
    scores the share of ends at that depth and never puts the shortest chain's end alone lowest."""
    import helpers.diagnostics
    from helpers.base_training import link_depths, map_links
    from tools.base_variants import depth_scores
    profile = get_profile("small", {"eval": {"n_per_point": 12}, "base": {"hashchain": {"eval_shortest": [2, 3]}}})
    recipe = {"recall_lines": 2, "extra_queries": 1}
    seen = []

    def truth(model, tokenizer, samples):
        seen.extend(samples)
        return [s.answer for s in samples]
    monkeypatch.setattr(helpers.diagnostics, "greedy_answers", truth)
    got = depth_scores(BASES / "hashchain-small", profile, recipe)
    assert got == {2: {"ends": 1.0, "shortest_least": 1.0, "n": 12}, 3: {"ends": 1.0, "shortest_least": 1.0, "n": 12}}
    for query in seen:
        context, asked = query.prompt.rsplit("\nStart: ", 1)
        assert context.count("=>") == context.split("Start:")[0].count("=>") + recipe["recall_lines"]
        assert context.count("\nHops: ") == recipe["extra_queries"]
        start, target = asked.split("\nTarget: ")[0], asked.split("\nTarget: ")[1].split("\n")[0]
        map_text = context.split("Start:")[0]
        assert asked.endswith("\nHops:") and (start, int(query.answer)) == (link_depths(map_links(map_text))[0],
                                                                           link_depths(map_links(map_text))[1][target])
    monkeypatch.setattr(helpers.diagnostics, "greedy_answers", lambda m, t, samples: ["1"] * len(samples))
    ones = depth_scores(BASES / "hashchain-small", profile, recipe)
    share = lambda point: sum(q.answer == "1" for q in seen if q.meta["shortest"] == point) / sum(q.meta["shortest"] == point for q in seen)
    assert ones[2]["shortest_least"] == ones[3]["shortest_least"] == 0.0
    assert 0 < ones[2]["ends"] == share(2) and ones[3]["ends"] == share(3) == 0.0
