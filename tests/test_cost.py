"""The cost estimate follows its stated formula from the profile's shapes and step counts."""
from helpers.cost import _lora_params, cost_table, stage_costs
from helpers.model import build_model, count_parameters
from helpers.profiles import get_profile
from helpers.tokenizer import tokenizer_from_profile


def test_flops_follow_the_formula():
    profile = get_profile("smoke")
    params = count_parameters(build_model(profile["model"], tokenizer_from_profile(profile["tokenizer"]), seed=0))
    rows = {r["stage"]: r for r in stage_costs(profile)}
    base = rows["base hashhop"]
    assert base["steps"] == profile["base"]["recipe"]["steps"] and base["runs"] == 1
    assert base["flops"] == 6 * params * base["tokens_per_step"] * base["steps"]
    lora = rows["LoRA planning r=4"]
    assert lora["runs"] == len(profile["lora"]["seeds"]) and lora["steps"] == profile["lora"]["steps"]
    assert lora["flops"] == (4 * params + 6 * _lora_params(profile["model"], 4, profile["model"]["n_layer"])) \
        * lora["tokens_per_step"] * lora["steps"] * lora["runs"]
    assert rows["LoRA planning r=4"]["flops"] < rows["LoRA planning r=2"]["flops"] * 2  # the adapter is a small part


def test_paper_profile_table_has_a_total_and_the_reference_step_count():
    rows = stage_costs(get_profile("paper"))
    assert {r["steps"] for r in rows if r["stage"].startswith("LoRA")} == {40 * 15000 // 16}  # the reference's 37,500
    table = cost_table(rows, peak_tflops=100.0, mfu=0.5)
    total = sum(r["flops"] for r in rows)
    assert f"**{total:.2e}**" in table and table.count("\n") == len(rows) + 2
