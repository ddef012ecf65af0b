"""The oracle on hand-written prompts: known answers, and every ambiguous or malformed prompt raises."""
from __future__ import annotations

import pytest

from helpers.oracle import UnsolvablePrompt, parse, shortest_chain, solve


def hop(links: str, start: str, hops, extra: str = "") -> str:
    return f"Map:\n{links}{extra}Start: {start}\nHops: {hops}\nTarget:"


def chain(links: str, start: str) -> str:
    return f"Map:\n{links}Start: {start}\nTask: shortest path\nTarget:"


# ----------------------------------------------------------------------------- known answers
def test_module_docstring_examples():
    assert solve("Map:\nb=>c\na=>b\nStart: a\nHops: 2\nTarget:") == "c"
    # the examples of helpers/tasks.py's docstring
    assert solve("Map:\nk3=>k4\nk1=>k2\nk2=>k3\nStart: k1\nHops: 2\nTarget:") == "k3"
    assert solve("Map:\ns=>b\nb=>c\ns=>a\nStart: s\nTask: shortest path\nTarget:") == "a"


@pytest.mark.parametrize("hops,answer", [(1, "bbbb"), (2, "cccc"), (3, "dddd"), (4, "eeee")])
def test_hashhop_every_hop_count(hops, answer):
    links = "dddd=>eeee\nbbbb=>cccc\naaaa=>bbbb\ncccc=>dddd\n"
    assert solve(hop(links, "aaaa", hops)) == answer


def test_hashhop_start_mid_chain():
    links = "b=>c\na=>b\nc=>d\n"
    assert solve(hop(links, "b", 2)) == "d"


def test_hashhop_two_hashes():
    assert solve(hop("x1=>y2\n", "x1", 1)) == "y2"


def test_hashchain_known_answers():
    # chains from s: s-a (2), s-b-c (3), s-d-e-f (4): shortest ends in a
    links = "d=>e\ns=>b\ne=>f\ns=>d\nb=>c\ns=>a\n"
    assert solve(chain(links, "s")) == "a"
    # shortest is in the middle of the listing and not of length 2
    links = "s1=>p1\np1=>p2\np2=>p3\ns1=>q1\nq1=>q2\ns1=>r1\nr1=>r2\nr2=>r3\nr3=>r4\n"
    assert solve(chain(links, "s1")) == "q2"
    assert shortest_chain([("s1", "p1"), ("p1", "p2"), ("p2", "p3"), ("s1", "q1"), ("q1", "q2")], "s1") == ("q2", 3)


def test_hashchain_single_chain():
    assert solve(chain("s=>a\na=>b\n", "s")) == "b"


def test_parse_fields():
    links, query = parse(hop("a=>b\nb=>c\n", "a", 2))
    assert links == [("a", "b"), ("b", "c")]
    assert query == {"Start": "a", "Hops": "2"}
    links, query = parse(chain("s=>a\n", "s"))
    assert links == [("s", "a")]
    assert query == {"Start": "s", "Task": "shortest path"}


# ----------------------------------------------------------------------------- unsolvable prompts
UNSOLVABLE = {
    # HashChain ambiguities
    "tie for shortest (length 2)": chain("s=>a\ns=>b\ns=>c\nc=>d\n", "s"),
    "tie for shortest (length 3)": chain("s=>a\na=>b\ns=>c\nc=>d\ns=>e\ne=>f\nf=>g\n", "s"),
    "hash reached twice (two chains merge)": chain("s=>a\ns=>b\na=>c\nb=>c\nc=>d\n", "s"),
    "hash reached twice (cycle back to start)": chain("s=>a\na=>s\ns=>b\nb=>c\n", "s"),
    "chain cycles without an end": chain("s=>a\na=>b\nb=>a\n", "s"),
    "start has no outgoing link": chain("a=>b\n", "s"),
    # HashHop ambiguities
    "hop count past the chain end": hop("a=>b\nb=>c\n", "a", 3),
    "hop count far past the chain end": hop("a=>b\nb=>c\n", "a", 30),
    "start not in map": hop("a=>b\nb=>c\n", "z", 1),
    "hash with two outgoing links": hop("a=>b\na=>c\n", "a", 1),
    "hash reached twice": hop("a=>b\nb=>c\nd=>c\n", "a", 1),
    "two separate chains": hop("a=>b\nc=>d\n", "a", 1),
    "cycle": hop("a=>b\nb=>c\nc=>a\n", "a", 2),
    "a cycle plus a separate link (hash count looks like one chain)": hop("a=>b\nb=>a\nc=>d\n", "a", 3),
    "two chains merging (hash count looks like one chain)": hop("a=>c\nb=>c\n", "a", 1),
    "empty map": hop("", "a", 1),
    "non-integer hops": hop("a=>b\n", "a", "x"),
    "zero hops": hop("a=>b\n", "a", 0),
    "negative hops": hop("a=>b\n", "a", -1),
    "empty hops": "Map:\na=>b\nStart: a\nHops: \nTarget:",
    # malformed
    "missing Start": "Map:\na=>b\nHops: 1\nTarget:",
    "missing Start (chain)": "Map:\ns=>a\nTask: shortest path\nTarget:",
    "no query": "Map:\na=>b\nStart: a\nTarget:",
    "unknown task": "Map:\ns=>a\nStart: s\nTask: longest path\nTarget:",
    "bad first line": "map:\na=>b\nStart: a\nHops: 1\nTarget:",
    "no Map line": "a=>b\nStart: a\nHops: 1\nTarget:",
    "leading newline": "\nMap:\na=>b\nStart: a\nHops: 1\nTarget:",
    "bad last line": "Map:\na=>b\nStart: a\nHops: 1\nTarget: b",
    "trailing newline": "Map:\na=>b\nStart: a\nHops: 1\nTarget:\n",
    "missing Target": "Map:\na=>b\nStart: a\nHops: 1",
    "garbage line": "Map:\na=>b\nhello\nStart: a\nHops: 1\nTarget:",
    "empty prompt": "",
}


@pytest.mark.parametrize("prompt", list(UNSOLVABLE.values()), ids=list(UNSOLVABLE))
def test_unsolvable(prompt):
    with pytest.raises(UnsolvablePrompt):
        solve(prompt)


def test_unsolvable_is_value_error():
    assert issubclass(UnsolvablePrompt, ValueError)


def test_error_messages_say_why():
    with pytest.raises(UnsolvablePrompt, match="tie"):
        solve(UNSOLVABLE["tie for shortest (length 2)"])
    with pytest.raises(UnsolvablePrompt, match="reached twice"):
        solve(UNSOLVABLE["hash reached twice (two chains merge)"])
    with pytest.raises(UnsolvablePrompt, match="Start"):
        solve(UNSOLVABLE["missing Start"])
    with pytest.raises(UnsolvablePrompt, match="ends after 2 hops, 3 asked"):
        solve(UNSOLVABLE["hop count past the chain end"])
    with pytest.raises(UnsolvablePrompt, match="Map:"):
        solve(UNSOLVABLE["bad first line"])
