"""Solve a HashHop or HashChain prompt from its text alone, to check every label.

>>> solve("Map:\\nb=>c\\na=>b\\nStart: a\\nHops: 2\\nTarget:")
'c'
"""
from __future__ import annotations

from collections import deque


class UnsolvablePrompt(ValueError):
    """The prompt is malformed or its answer is not unique."""


def parse(prompt: str) -> tuple[list[tuple[str, str]], dict]:
    """The links of the map and the query fields (``Start``, ``Hops`` or ``Task``)."""
    lines = prompt.split("\n")
    if not lines or lines[0] != "Map:" or lines[-1] != "Target:":
        raise UnsolvablePrompt("a prompt starts with 'Map:' and ends with 'Target:'")
    links, query = [], {}
    for line in lines[1:-1]:
        if "=>" in line:
            key, _, value = line.partition("=>")
            links.append((key, value))
        elif ": " in line:
            name, _, value = line.partition(": ")
            query[name] = value
        else:
            raise UnsolvablePrompt(f"unexpected line {line!r}")
    if "Start" not in query:
        raise UnsolvablePrompt("no 'Start:' line")
    return links, query


def solve_hashhop(links, start: str, hops: int) -> str:
    nxt = {}
    for key, value in links:
        if key in nxt:
            raise UnsolvablePrompt(f"hash {key!r} has two outgoing links")
        nxt[key] = value
    node = start
    for hop in range(hops):
        if node not in nxt:
            raise UnsolvablePrompt(f"the chain ends after {hop} hops, {hops} asked")
        node = nxt[node]
    return node


def shortest_chain(links, start: str) -> tuple[str, int]:
    """End and length (in hashes) of the shortest chain from ``start`` to a hash with no outgoing
    link, by breadth-first search; raises if two chains tie."""
    children: dict[str, list[str]] = {}
    for key, value in links:
        children.setdefault(key, []).append(value)
    if start not in children:
        raise UnsolvablePrompt(f"start {start!r} has no outgoing link")
    frontier, seen, depth = deque([start]), {start}, 1
    while frontier:
        ends = []
        for _ in range(len(frontier)):
            node = frontier.popleft()
            if node not in children:
                ends.append(node)
                continue
            for child in children[node]:
                if child in seen:
                    raise UnsolvablePrompt(f"hash {child!r} is reached twice")
                seen.add(child)
                frontier.append(child)
        if len(ends) > 1:
            raise UnsolvablePrompt(f"{len(ends)} chains of length {depth} tie for the shortest")
        if ends:
            return ends[0], depth
        depth += 1
    raise UnsolvablePrompt("no chain ends")


def _is_one_chain(links) -> bool:
    """Every hash has at most one outgoing and one incoming link, and walking from the only hash
    without an incoming link visits every link (so no merge, no second chain, no cycle)."""
    nxt = dict(links)
    if len(nxt) != len(links) or len(set(nxt.values())) != len(links):
        return False
    heads = set(nxt) - set(nxt.values())
    if len(heads) != 1:
        return False
    node, steps = heads.pop(), 0
    while node in nxt:
        node, steps = nxt[node], steps + 1
    return steps == len(links)


def solve(prompt: str) -> str:
    links, query = parse(prompt)
    hashes = [h for link in links for h in link]
    if "Hops" in query:
        if len(set(hashes)) != len(links) + 1 or not _is_one_chain(links):
            raise UnsolvablePrompt("a HashHop map must be one chain of distinct hashes")
        value = query["Hops"]
        if not (value.isascii() and value.isdigit()) or int(value) < 1:
            raise UnsolvablePrompt(f"'Hops:' must be a whole number >= 1, got {value!r}")
        return solve_hashhop(links, query["Start"], int(value))
    if query.get("Task") == "shortest path":
        return shortest_chain(links, query["Start"])[0]
    raise UnsolvablePrompt("the query has neither 'Hops:' nor 'Task: shortest path'")
