"""The shuffled-target control (issue 11): a LoRA run trained on the task's prompts with every answer
replaced by a random hash of the same map, so that what training without the task gives can sit beside
every adapter. A default run's config never carries the key, so its identity (and cache) is unchanged."""
import pytest

from helpers.errors import Refused
from helpers.io import config_hash
from helpers.lora import _epoch_samples, train_lora_run
from helpers.oracle import parse
from helpers.tasks import HashChainConfig, HashHopConfig, generate, shuffled_targets


@pytest.mark.parametrize("task", [HashHopConfig(chain_length=10, min_hops=1, max_hops=3),
                                  HashChainConfig(chain_lengths=(2, 3, 4), num_chains=(3,))])
def test_shuffled_answers_are_hashes_of_the_same_map(task):
    samples = generate(task, 400, seed=0)
    shuffled = shuffled_targets(samples, seed=5)
    assert shuffled == shuffled_targets(samples, seed=5) and shuffled != shuffled_targets(samples, seed=6)
    for s, t in zip(samples, shuffled):
        links, _ = parse(s.prompt)
        assert t.prompt == s.prompt and t.meta["true_answer"] == s.answer
        assert t.answer in {h for link in links for h in link}
    kept = sum(s.answer == t.answer for s, t in zip(samples, shuffled)) / len(samples)
    assert kept < 0.3  # a random hash of the map, not the answer (1 / 9 for 10-hash chains)


def test_a_default_run_keeps_its_identity_and_the_control_is_another_run(lora_config):
    plain = lora_config()
    control = lora_config(targets="shuffled")
    assert "targets" not in plain and lora_config(targets="task") == plain
    assert control["targets"] == "shuffled" and config_hash(control) != config_hash(plain)
    a = _epoch_samples(_task(plain), 16, seed=0, epoch=0)
    b = _epoch_samples(_task(plain), 16, seed=0, epoch=0, targets="shuffled")
    assert [s.prompt for s in a] == [s.prompt for s in b] and [s.answer for s in a] != [s.answer for s in b]


def test_bad_targets_are_refused_before_training(lora_config):
    with pytest.raises(Refused, match=r"targets: allowed values are \('task', 'shuffled'\)"):
        lora_config(targets="random")
    config = dict(lora_config(), targets="task")  # "task" is the default and never written into a config
    with pytest.raises(Refused, match="targets: allowed values"):
        train_lora_run(config, progress=False)


def test_the_control_trains_and_is_cached_apart(lora_config, tmp_path):
    plain = train_lora_run(lora_config(), root=tmp_path, progress=False)
    control = train_lora_run(lora_config(targets="shuffled"), root=tmp_path, progress=False)
    assert plain["run_dir"] != control["run_dir"] and control["adapter_dir"]
    assert control["config"]["targets"] == "shuffled" and "targets" not in plain["config"]


def _task(config):
    from helpers.tasks import config_from_dict
    return config_from_dict(config["task"])
