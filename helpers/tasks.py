"""HashHop (planning) and HashChain (reasoning): seeded generators in the paper's text format.

A *hash* is a short random string (paper: 4 characters from ``a-z0-9``). Every hash in one
prompt is distinct (sampled without replacement), so every answer is unambiguous; the reference
code drew with replacement and never checked.

HashHop, ``chain_length=4``, ``hops=2``::

    Map:
    k3=>k4
    k1=>k2
    k2=>k3
    Start: k1
    Hops: 2
    Target:            <- prompt ends here; the answer is "k3"

HashChain, chains of lengths 2 and 3 from the start ``s`` (the shortest is unique)::

    Map:
    s=>b
    b=>c
    s=>a
    Start: s
    Task: shortest path
    Target:            <- answer "a", the last hash of the shortest chain

A model sees ``prompt + " " + answer``. Run ``python -m helpers.tasks --help`` to export JSONL.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import asdict, dataclass, field, fields

from .errors import Refused
from .io import atomic_write_text

PAPER_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
ANSWER_SEPARATOR = " "  # text = prompt + ANSWER_SEPARATOR + answer


MAX_SEED = 2**32 - 1  # the largest seed every generator accepts (numpy's limit; torch's is larger)


class TaskConfigError(Refused):
    """A task option is out of range; the message names the option and its allowed values."""


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise TaskConfigError(message)


def _check_hash_space(alphabet: str, hash_length: int, needed: int) -> None:
    _check(len(alphabet) >= 2, f"alphabet: needs at least 2 characters, got {alphabet!r}")
    _check(len(set(alphabet)) == len(alphabet), f"alphabet: characters must be distinct, got {alphabet!r}")
    _check(all(c in "abcdefghijklmnopqrstuvwxyz0123456789" for c in alphabet),
           f"alphabet: only lowercase letters and digits are allowed, got {alphabet!r}")
    _check(isinstance(hash_length, int) and hash_length >= 1, f"hash_length: must be an integer >= 1, got {hash_length!r}")
    space = len(alphabet) ** hash_length
    _check(space >= needed, f"hash_length: {len(alphabet)}^{hash_length} = {space} distinct hashes, but a prompt "
                            f"needs {needed} unique hashes; use a longer hash_length or a larger alphabet")


@dataclass(frozen=True)
class HashHopConfig:
    """One chain of ``chain_length`` hashes (``chain_length-1`` shuffled links); the query starts at
    the chain's head and asks for the hash ``hops`` links further, ``hops`` uniform in
    ``[min_hops, max_hops]``."""
    chain_length: int = 20
    min_hops: int = 1
    max_hops: int = 10
    hash_length: int = 4
    alphabet: str = PAPER_ALPHABET
    task: str = field(default="hashhop", init=False)

    def __post_init__(self):
        _check(isinstance(self.chain_length, int) and self.chain_length >= 2,
               f"chain_length: must be an integer >= 2, got {self.chain_length!r}")
        _check(isinstance(self.min_hops, int) and self.min_hops >= 1, f"min_hops: must be an integer >= 1, got {self.min_hops!r}")
        _check(isinstance(self.max_hops, int) and self.max_hops >= 1, f"max_hops: must be an integer >= 1, got {self.max_hops!r}")
        _check(self.min_hops <= self.max_hops, f"min_hops: must be <= max_hops ({self.max_hops}), got {self.min_hops}")
        _check(self.max_hops <= self.chain_length - 1,
               f"max_hops: a chain of {self.chain_length} hashes has {self.chain_length - 1} links, so hops must be in "
               f"1..{self.chain_length - 1}, got {self.max_hops}")
        _check_hash_space(self.alphabet, self.hash_length, self.chain_length)

    def with_hops(self, hops: int) -> "HashHopConfig":
        return HashHopConfig(self.chain_length, hops, hops, self.hash_length, self.alphabet)


@dataclass(frozen=True)
class HashChainConfig:
    """``num_chains`` chains (a count drawn from ``num_chains``) branch out of one start hash. The
    shortest chain's length is drawn from ``chain_lengths`` without its largest value (or fixed
    by ``shortest``); every other chain is strictly longer. A chain of length L has L-1 links."""
    chain_lengths: tuple = (2, 3, 4, 5, 6)
    num_chains: tuple = (3, 4)
    shortest: int | None = None
    hash_length: int = 4
    alphabet: str = PAPER_ALPHABET
    task: str = field(default="hashchain", init=False)

    def __post_init__(self):
        given_lengths, given_counts = self.chain_lengths, self.num_chains  # as given, for the messages
        lengths = tuple(sorted(set(self.chain_lengths))) if isinstance(self.chain_lengths, (list, tuple)) else ()
        object.__setattr__(self, "chain_lengths", lengths)
        counts = tuple(sorted(set(self.num_chains))) if isinstance(self.num_chains, (list, tuple)) else ()
        object.__setattr__(self, "num_chains", counts)
        _check(len(lengths) >= 2 and all(isinstance(x, int) for x in lengths),
               f"chain_lengths: need at least 2 distinct integer lengths so the shortest chain is unique, got {given_lengths!r}")
        _check(lengths[0] >= 2, f"chain_lengths: every length must be >= 2 (a chain of 1 hash has no link), got {lengths}")
        _check(len(counts) >= 1 and all(isinstance(x, int) and x >= 2 for x in counts),
               f"num_chains: allowed values are integers >= 2, got {given_counts!r}")
        if self.shortest is not None:
            _check(self.shortest in lengths[:-1],
                   f"shortest: must be one of chain_lengths except the largest, i.e. {list(lengths[:-1])}, got {self.shortest!r}")
        _check_hash_space(self.alphabet, self.hash_length, 1 + max(counts) * (lengths[-1] - 1))

    def with_shortest(self, shortest: int) -> "HashChainConfig":
        return HashChainConfig(self.chain_lengths, self.num_chains, shortest, self.hash_length, self.alphabet)


TaskConfig = HashHopConfig | HashChainConfig


@dataclass
class Sample:
    prompt: str
    answer: str
    task: str
    meta: dict

    @property
    def text(self) -> str:
        return self.prompt + ANSWER_SEPARATOR + self.answer


def sample_hashes(rng: random.Random, alphabet: str, hash_length: int, k: int) -> list[str]:
    """``k`` distinct hashes: indices drawn without replacement from the whole hash space."""
    base = len(alphabet)
    out = []
    for index in rng.sample(range(base ** hash_length), k):
        chars = []
        for _ in range(hash_length):
            index, digit = divmod(index, base)
            chars.append(alphabet[digit])
        out.append("".join(chars))
    return out


def _format_map(links: list[tuple[str, str]]) -> str:
    return "Map:\n" + "".join(f"{k}=>{v}\n" for k, v in links)


def hashhop_sample(cfg: HashHopConfig, rng: random.Random) -> Sample:
    hashes = sample_hashes(rng, cfg.alphabet, cfg.hash_length, cfg.chain_length)
    hops = rng.randint(cfg.min_hops, cfg.max_hops)
    links = list(zip(hashes, hashes[1:]))
    rng.shuffle(links)
    prompt = _format_map(links) + f"Start: {hashes[0]}\nHops: {hops}\nTarget:"
    return Sample(prompt, hashes[hops], "hashhop", {"hops": hops, "chain_length": cfg.chain_length})


def hashchain_sample(cfg: HashChainConfig, rng: random.Random) -> Sample:
    lengths = cfg.chain_lengths
    n = rng.choice(cfg.num_chains)
    shortest = cfg.shortest if cfg.shortest is not None else rng.choice(lengths[:-1])
    longer = [x for x in lengths if x > shortest]
    chain_lens = [shortest] + [rng.choice(longer) for _ in range(n - 1)]
    hashes = sample_hashes(rng, cfg.alphabet, cfg.hash_length, 1 + sum(x - 1 for x in chain_lens))
    start, rest = hashes[0], iter(hashes[1:])
    links, ends = [], []
    for length in chain_lens:
        prev = start
        for _ in range(length - 1):
            nxt = next(rest)
            links.append((prev, nxt))
            prev = nxt
        ends.append(prev)
    rng.shuffle(links)
    prompt = _format_map(links) + f"Start: {start}\nTask: shortest path\nTarget:"
    return Sample(prompt, ends[0], "hashchain",
                  {"shortest": shortest, "chain_lengths": sorted(chain_lens), "num_chains": n})


def generate(cfg: TaskConfig, n: int, seed: int) -> list[Sample]:
    """``n`` samples; the same ``(cfg, n, seed)`` always gives the same samples, and a smaller ``n``
    gives a prefix of a larger one."""
    if not isinstance(n, int) or n < 0:
        raise TaskConfigError(f"n: must be an integer >= 0, got {n!r}")
    rng = random.Random(seed)
    make = hashhop_sample if isinstance(cfg, HashHopConfig) else hashchain_sample
    return [make(cfg, rng) for _ in range(n)]


def shuffled_targets(samples: list[Sample], seed: int) -> list[Sample]:
    """The same prompts with each answer replaced by a uniformly random hash of the sample's own map
    (the answer itself included): what training on the task's format, maps and hashes gives without
    the task. The true answer is kept in ``meta["true_answer"]``. Deterministic in ``seed``.

    >>> s = generate(HashHopConfig(chain_length=5, min_hops=1, max_hops=2), 1, seed=0)[0]
    >>> t = shuffled_targets([s], seed=1)[0]
    >>> t.prompt == s.prompt and t.meta["true_answer"] == s.answer and t.answer in s.prompt
    True
    """
    rng = random.Random(seed)
    out = []
    for s in samples:
        hashes = sorted({h for line in s.prompt.split("\n") if "=>" in line for h in line.split("=>")})
        out.append(Sample(s.prompt, rng.choice(hashes), s.task, dict(s.meta, true_answer=s.answer)))
    return out


def chance_level(sample: Sample) -> float:
    """Accuracy of guessing uniformly among the hashes that can be the answer: for HashHop any
    hash of the map but the start, for HashChain any hash but the start."""
    n_hashes = len({h for line in sample.prompt.splitlines() if "=>" in line for h in line.split("=>")})
    return 1.0 / (n_hashes - 1)


def config_to_dict(cfg: TaskConfig) -> dict:
    d = asdict(cfg)
    for key in ("chain_lengths", "num_chains"):
        if key in d:
            d[key] = list(d[key])
    return d


def config_from_dict(d: dict) -> TaskConfig:
    if not isinstance(d, dict):
        raise TaskConfigError(f"task: expected a dict like {{'task': 'hashhop', ...}}, got {d!r}")
    d = dict(d)
    task = d.pop("task", None)
    kinds = {"hashhop": HashHopConfig, "hashchain": HashChainConfig}
    if task not in kinds:
        raise TaskConfigError(f"task: allowed values are 'hashhop', 'hashchain', got {task!r}")
    allowed = [f.name for f in fields(kinds[task]) if f.init]
    unknown = sorted(set(d) - set(allowed))
    if unknown:
        raise TaskConfigError(f"{task}: unknown settings {unknown}; allowed keys are {allowed}")
    if task == "hashhop":
        return HashHopConfig(**d)
    return HashChainConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


# ----------------------------------------------------------------------------- command line
def _int_list(text: str) -> tuple:
    try:
        values = [int(x) for x in text.split(",")] if "," in text else _range(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers like '2,3,4' or '2-6', got {text!r}")
    return tuple(values)


def _range(text: str) -> list[int]:
    if "-" in text:
        lo, hi = (int(x) for x in text.split("-", 1))
        return list(range(lo, hi + 1))
    return [int(text)]


def build_parser() -> argparse.ArgumentParser:
    from .cli import Parser, output_file, whole
    parser = Parser(prog="python -m helpers.tasks",
                     description="Export seeded HashHop / HashChain samples as JSONL (one JSON object per line "
                                 "with prompt, answer, meta, config and seed).")
    sub = parser.add_subparsers(dest="task", required=True, parser_class=Parser)
    for name in ("hashhop", "hashchain"):
        p = sub.add_parser(name, help=f"{name} samples")
        p.add_argument("--n", type=whole(0), required=True, help="number of samples (>= 0)")
        p.add_argument("--seed", type=int, required=True, help="random seed: same seed and options, same bytes")
        p.add_argument("--out", type=output_file(), required=True, help="output .jsonl file (written atomically)")
        p.add_argument("--hash-length", type=whole(1), default=4, help="characters per hash (default 4)")
        p.add_argument("--alphabet", default=PAPER_ALPHABET, help="hash characters (default a-z0-9)")
        if name == "hashhop":
            p.add_argument("--chain-length", type=int, default=20, help="hashes in the chain (default 20)")
            p.add_argument("--min-hops", type=int, default=1, help="fewest hops (default 1)")
            p.add_argument("--max-hops", type=int, default=10, help="most hops, <= chain-length - 1 (default 10)")
        else:
            p.add_argument("--chain-lengths", type=_int_list, default=(2, 3, 4, 5, 6),
                           help="allowed chain lengths, '2-6' or '2,3,5' (default 2-6)")
            p.add_argument("--num-chains", type=_int_list, default=(3, 4),
                           help="allowed numbers of chains, '3,4' or '3-4' (default 3,4)")
            p.add_argument("--shortest", type=int, default=None,
                           help="fix the shortest chain's length (default: drawn)")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.task == "hashhop":
            cfg = HashHopConfig(args.chain_length, args.min_hops, args.max_hops, args.hash_length, args.alphabet)
        else:
            cfg = HashChainConfig(args.chain_lengths, args.num_chains, args.shortest, args.hash_length, args.alphabet)
        if args.n < 0:
            raise TaskConfigError(f"n: must be an integer >= 0, got {args.n}")
    except TaskConfigError as err:
        parser.exit(2, f"{parser.prog}: error: {err}\n")
    cfg_dict = config_to_dict(cfg)
    lines = (json.dumps({"prompt": s.prompt, "answer": s.answer, "task": s.task, "meta": s.meta,
                         "index": i, "seed": args.seed, "config": cfg_dict}, sort_keys=True) + "\n"
             for i, s in enumerate(generate(cfg, args.n, args.seed)))
    atomic_write_text(args.out, "".join(lines))
    print(f"wrote {args.n} {args.task} samples to {args.out}", file=sys.stderr)
    return 0


def read_jsonl(path) -> list[Sample]:
    """Samples from an exported file; a truncated or malformed line raises ``ValueError`` naming it."""
    samples = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            try:
                obj = json.loads(line)
                samples.append(Sample(obj["prompt"], obj["answer"], obj["task"], obj["meta"]))
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                raise ValueError(f"{path}: line {lineno} is not a complete sample ({err})") from None
    return samples


if __name__ == "__main__":
    sys.exit(main())
