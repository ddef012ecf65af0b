import random

from helpers.base_training import dense_sequence, training_batch
from helpers.training import schedule
from helpers.encoding import IGNORE
from helpers.oracle import solve
from helpers.tasks import HashChainConfig, HashHopConfig
from helpers.tokenizer import build_tokenizer

HOP = HashHopConfig(chain_length=5, max_hops=2, hash_length=2, alphabet="abcdefgh")
CHAIN = HashChainConfig(chain_lengths=(2, 3, 4), num_chains=(2, 3), hash_length=2, alphabet="abcdefgh")


def test_dense_sequence_starts_with_a_paper_format_prompt_and_every_label_is_right():
    for task in (HOP, CHAIN):
        rng = random.Random(0)
        for _ in range(50):
            segments = dense_sequence(task, rng, recall_lines=4, extra_queries=3)
            (prompt, sup0), (answer, sup1) = segments[:2]
            assert not sup0 and sup1 and solve(prompt) == answer.strip()
            links = dict(line.split("=>") for line in prompt.split("\n") if "=>" in line)
            text = ""
            for part, supervised in segments[2:]:
                if supervised and text.endswith("=>"):       # a recall line: the value of its key
                    assert links[text.rsplit("\n", 1)[1][:-2]] == part
                elif supervised:                             # an extra query: walk the map's links
                    start_line, hops_line = text.split("\n")[-3:-1]
                    node = start_line.split(": ")[1]
                    for _ in range(int(hops_line.split(": ")[1])):
                        node = links[node]
                    assert node == part.strip()
                text += part


def test_end_queries_ask_the_shortest_path_from_inside_a_chain_and_leave_the_rest_unchanged():
    """Each end query's answer is what the oracle says for the same map asked from that hash (the end of
    its chain, the only path from it); the map's start is never asked again; 0 end queries draws nothing."""
    asked = 0
    for seed in range(40):
        segments = dense_sequence(CHAIN, random.Random(seed), recall_lines=1, extra_queries=1, end_queries=3)
        assert segments[:-6] == dense_sequence(CHAIN, random.Random(seed), recall_lines=1, extra_queries=1)
        map_text = segments[0][0].split("Start:")[0]
        start = segments[0][0].split("Start: ")[1].split("\n")[0]
        for (query, sup0), (answer, sup1) in zip(segments[-6::2], segments[-5::2]):
            node = query.split("Start: ")[1].split("\n")[0]
            assert not sup0 and sup1 and node != start and query.endswith("Task: shortest path\nTarget:")
            assert solve(map_text + query.lstrip("\n")) == answer.strip()
            asked += 1
    assert asked == 120
    assert dense_sequence(HOP, random.Random(0), 1, 1, end_queries=3) == dense_sequence(HOP, random.Random(0), 1, 1)


def test_depth_queries_ask_how_many_links_lead_from_the_start_and_leave_the_rest_unchanged():
    """Each depth query names the map's start and a hash of its chains; the answer is the number of hops that reach that
    hash from the start (a chain end's depth is its chain's length less one: the start is the chain's first hash); 0 draws nothing."""
    depths = set()
    for seed in range(40):
        segments = dense_sequence(CHAIN, random.Random(seed), recall_lines=1, extra_queries=1, depth_queries=3)
        assert segments[:-6] == dense_sequence(CHAIN, random.Random(seed), recall_lines=1, extra_queries=1)
        prompt, sample_answer = segments[0][0], segments[1][0].strip()
        start = prompt.split("Start: ")[1].split("\n")[0]
        links = [tuple(line.split("=>")) for line in prompt.split("\n") if "=>" in line]
        parent = {v: k for k, v in links}
        for (query, sup0), (answer, sup1) in zip(segments[-6::2], segments[-5::2]):
            _, start_line, target_line, hops_line = query.split("\n")
            target = target_line.split(": ")[1]
            assert not sup0 and sup1 and start_line == f"Start: {start}" and hops_line == "Hops:"
            depth = int(answer.strip())
            node = target
            for _ in range(depth):  # depth links back from the target lead to the start, and no fewer do
                assert node != start
                node = parent[node]
            assert node == start
            depths.add(depth)
        # the shortest chain's end has the least depth of all chain ends (hashes that lead nowhere)
        ends = {v for _, v in links} - {k for k, _ in links}
        depth_of = lambda h: 1 + depth_of(parent[h]) if parent[h] != start else 1
        assert min(ends, key=depth_of) == sample_answer
    assert depths == {1, 2, 3}
    assert dense_sequence(HOP, random.Random(0), 1, 1, depth_queries=3) == dense_sequence(HOP, random.Random(0), 1, 1)


def test_start_hop_queries_ask_for_a_hash_that_many_links_from_the_start_and_leave_the_rest_unchanged():
    """Each start hop query names the map's start and a number of hops; its answer lies exactly that many links from the
    start (an independent parent walk), every depth the map has is asked, and every hash of a depth can be the answer
    (the draw is over the whole set, not one chain); 0 draws nothing, HashHop ignores them."""
    depths = set()
    for seed in range(60):
        segments = dense_sequence(CHAIN, random.Random(seed), recall_lines=1, extra_queries=1, start_queries=3)
        assert segments[:-6] == dense_sequence(CHAIN, random.Random(seed), recall_lines=1, extra_queries=1)
        prompt = segments[0][0]
        start = prompt.split("Start: ")[1].split("\n")[0]
        links = [tuple(line.split("=>")) for line in prompt.split("\n") if "=>" in line]
        parent = {v: k for k, v in links}
        for (query, sup0), (answer, sup1) in zip(segments[-6::2], segments[-5::2]):
            _, start_line, hops_line, target_line = query.split("\n")
            assert not sup0 and sup1 and start_line == f"Start: {start}" and target_line == "Target:"
            hops, node = int(hops_line.split(": ")[1]), answer.strip()
            assert answer.startswith(" ") and node in parent
            for _ in range(hops):
                assert node != start
                node = parent[node]
            assert node == start
            depths.add(hops)
    assert depths == {1, 2, 3}
    # one map asked many times: its several hashes at depth 1 (one per chain) all come up
    many = dense_sequence(CHAIN, random.Random(0), recall_lines=0, extra_queries=0, start_queries=200)
    start = many[0][0].split("Start: ")[1].split("\n")[0]
    children = {v for k, v in (tuple(line.split("=>")) for line in many[0][0].split("\n") if "=>" in line) if k == start}
    asked = {a.strip() for (q, _), (a, _) in zip(many[2::2], many[3::2]) if q.endswith("Hops: 1\nTarget:")}
    assert len(children) >= 2 and asked == children
    assert dense_sequence(HOP, random.Random(0), 1, 1, start_queries=3) == dense_sequence(HOP, random.Random(0), 1, 1)


def test_training_batches_are_seeded_per_step_and_pad_is_never_a_label():
    tok = build_tokenizer("abcdefgh", 2, "whole")
    x1, y1 = training_batch(HOP, tok, seed=3, step=7, batch_size=8, recall_lines=2, extra_queries=1)
    x2, y2 = training_batch(HOP, tok, seed=3, step=7, batch_size=8, recall_lines=2, extra_queries=1)
    x3, _ = training_batch(HOP, tok, seed=3, step=8, batch_size=8, recall_lines=2, extra_queries=1)
    assert x1.equal(x2) and y1.equal(y2) and not x1.equal(x3)
    assert not ((x1 == tok.pad_token_id) & (y1 != IGNORE)).any()


def test_lr_schedule_warms_up_then_decays_to_a_tenth():
    lr_at = lambda step: schedule("cosine", step, 1.0, warmup=10, total=110)
    assert lr_at(0) == 0.1 and lr_at(9) == 1.0
    assert abs(lr_at(110) - 0.1) < 1e-9 and lr_at(60) < lr_at(20)


def test_lora_schedule_decays_linearly_to_zero_and_the_stand_in_stays_constant():
    assert [schedule("linear", s, 2.0, warmup=4, total=12) for s in (0, 3, 4, 8, 12)] == [0.5, 2.0, 2.0, 1.0, 0.0]
    assert schedule("constant", 10_000, 2.0, warmup=4, total=0) == 2.0
