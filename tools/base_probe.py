"""Quick base-model probe (throwaway): token-level HashHop / HashChain with 1 token per hash."""
import argparse, json, time, random, math, os, sys
import numpy as np
import torch
from transformers import GPT2Config, GPT2LMHeadModel

p = argparse.ArgumentParser()
p.add_argument("--task", default="hashhop")
p.add_argument("--warmup", type=int, default=0, help="max copy-task steps")
p.add_argument("--steps", type=int, default=4000)
p.add_argument("--minutes", type=float, default=10)
p.add_argument("--lr", type=float, default=1e-3)
p.add_argument("--layers", type=int, default=4)
p.add_argument("--width", type=int, default=128)
p.add_argument("--heads", type=int, default=4)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--nhash", type=int, default=64)
p.add_argument("--chain", type=int, default=8)
p.add_argument("--max_hops", type=int, default=2)
p.add_argument("--queries", type=int, default=16)
p.add_argument("--recall", type=int, default=0)
p.add_argument("--keytok", type=int, default=0)
p.add_argument("--lengths", default="2,3,4,5,6")
p.add_argument("--nchains", default="3,4")
p.add_argument("--sinpos", type=int, default=0)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--bf16", type=int, default=0)
p.add_argument("--init", type=float, default=0.02)
p.add_argument("--gnoise", type=float, default=0.0)
p.add_argument("--copy_target", type=float, default=0.9)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--out", required=True)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)
rng = random.Random(a.seed)

H = a.nhash
MAP, NL, ARROW, START, SP, HOPS, TARGET, TASK, PAD = range(H, H + 9)
DIG = H + 9  # digits 0..9
KEY = DIG + 10
V = KEY + H

def hop_sample(r, nq, chain=a.chain, max_hops=a.max_hops, head_first=True):
    hs = r.sample(range(H), chain)
    links = [(hs[i], hs[i + 1]) for i in range(chain - 1)]
    r.shuffle(links)
    toks = [MAP, NL]
    for k, v in links:
        toks += ([KEY + k] if a.keytok else [k, ARROW]) + [v, NL]
    lab_pos = []
    meta = []
    for q in range(nq):
        if q == 0 and head_first:
            s = 0
            h = r.randint(1, max_hops)
        else:
            h = r.randint(1, max_hops)
            s = r.randint(0, chain - 1 - h)
        toks += [START, SP, hs[s], NL, HOPS, SP, DIG + h, NL, TARGET, SP]
        lab_pos.append(len(toks))
        toks += [hs[s + h], NL]
        meta.append(h)
        if q == 0 and nq > 1:
            for _ in range(a.recall):
                i = r.randrange(chain - 1)
                toks += [KEY + hs[i]] if a.keytok else [hs[i], ARROW]
                lab_pos.append(len(toks))
                toks += [hs[i + 1], NL]
    return toks, lab_pos, meta

def chain_sample(r, nq, lengths=None, nchains=None):
    lengths = lengths or [int(x) for x in a.lengths.split(',')]
    nchains = nchains or [int(x) for x in a.nchains.split(',')]
    n = r.choice(nchains)
    Ls = sorted(lengths)
    short = r.choice([l for l in Ls[:-1]])
    others = [r.choice([l for l in Ls if l > short]) for _ in range(n - 1)]
    alll = [short] + others
    need = 1 + sum(l - 1 for l in alll)
    hs = r.sample(range(H), need)
    s = hs[0]; idx = 1
    links = []; ends = []
    for l in alll:
        prev = s
        for j in range(l - 1):
            links.append((prev, hs[idx])); prev = hs[idx]; idx += 1
        ends.append(prev)
    r.shuffle(links)
    toks = [MAP, NL]
    for k, v in links:
        toks += [k, ARROW, v, NL]
    toks += [START, SP, s, NL, TASK, NL, TARGET, SP]
    lab = [len(toks)]
    toks += [ends[0], NL]
    return toks, lab, [short]

def copy_sample(r):
    seg = r.sample(range(H), r.randint(8, 16))
    pre = [r.randrange(H) for _ in range(r.randint(0, 20))]
    gap = [r.randrange(H) for _ in range(r.randint(0, 15))]
    toks = pre + seg + gap + seg
    lab = list(range(len(pre) + len(seg) + len(gap) + 1, len(toks)))
    return toks, lab, None

def batch(samples):
    L = max(len(t) for t, _, _ in samples)
    x = torch.full((len(samples), L), PAD, dtype=torch.long)
    y = torch.full((len(samples), L), -100, dtype=torch.long)
    for i, (t, lab, _) in enumerate(samples):
        x[i, :len(t)] = torch.tensor(t)
        for pidx in lab:
            y[i, pidx] = t[pidx]
    return x, y

cfg = GPT2Config(vocab_size=V, n_positions=512, n_embd=a.width, n_layer=a.layers, n_head=a.heads,
                 resid_pdrop=0, embd_pdrop=0, attn_pdrop=0, initializer_range=a.init, bos_token_id=PAD, eos_token_id=PAD)
cfg._attn_implementation = "eager"
model = GPT2LMHeadModel(cfg)
if a.sinpos:
    with torch.no_grad():
        pos = torch.arange(512)[:, None]; i = torch.arange(a.width // 2)[None]
        ang = pos / (10000 ** (2 * i / a.width))
        pe = torch.cat([ang.sin(), ang.cos()], 1) * 0.1
        model.transformer.wpe.weight.copy_(pe)
opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.98), weight_decay=0.01)

def loss_on(x, y):
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(a.bf16)):
        logits = model(x).logits
    return torch.nn.functional.cross_entropy(logits[:, :-1].float().reshape(-1, V), y[:, 1:].reshape(-1), ignore_index=-100), logits

erng = random.Random(12345)
if a.task == "hashhop":
    evalset = {h: [hop_sample(random.Random(1000 * h + i), 1, max_hops=h, head_first=True) for i in range(300)] for h in (1, 2, 3) if h < a.chain and h <= a.max_hops}
    for h in evalset:  # force exact hops
        evalset[h] = [(t, l, m) for t, l, m in evalset[h] if m[0] == h][:200] or evalset[h]
else:
    ev = [chain_sample(random.Random(5000 + i), 1) for i in range(1500)]
    evalset = {L: [e for e in ev if e[2][0] == L][:200] for L in (2, 3, 4) if any(e[2][0] == L for e in ev)}

if a.task == "hashhop":
    _r = random.Random(999)
    def _rec():
        t, l, m = hop_sample(_r, 2, max_hops=1)
        return t, l[1:], m
    evalset["recall"] = [_rec() for _ in range(200)]

@torch.no_grad()
def evaluate():
    model.eval(); res = {}
    for h, ss in evalset.items():
        x, y = batch(ss)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(a.bf16)):
            lg = model(x).logits
        pred = lg[:, :-1].argmax(-1); tgt = y[:, 1:]
        m = tgt != -100
        if h == "recall":
            res[h] = round(((pred == tgt) & m).sum().item() / m.sum().item(), 3)
        else:
            res[h] = round(((pred == tgt) | ~m).all(-1).float().mean().item(), 3)
    model.train(); return res

log = []
t0 = time.time(); step = 0
def logit(stage, extra):
    rec = dict(step=step, t=round(time.time() - t0, 1), stage=stage, **extra)
    log.append(rec); print(json.dumps(rec), flush=True)
    with open(a.out, "w") as f: json.dump(dict(args=vars(a), log=log), f)

# stage 1 copy warmup
if a.warmup:
    cev = [copy_sample(random.Random(777 + i)) for i in range(200)]
    sched_w = 100
    for ws in range(a.warmup):
        for g in opt.param_groups: g["lr"] = a.lr * min(1, (ws + 1) / sched_w)
        x, y = batch([copy_sample(rng) for _ in range(a.batch)])
        loss, _ = loss_on(x, y)
        opt.zero_grad(); loss.backward()
        if a.gnoise:
            sd = a.gnoise / (1 + ws) ** 0.55
            for prm in model.parameters(): prm.grad.add_(torch.randn_like(prm.grad) * sd)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step(); step += 1
        if ws % 100 == 99:
            with torch.no_grad():
                model.eval(); x, y = batch(cev)
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(a.bf16)): lg = model(x).logits
                m = y[:, 1:] != -100; acc = ((lg[:, :-1].argmax(-1) == y[:, 1:]) & m).sum().item() / m.sum().item(); model.train()
            logit("copy", dict(loss=round(loss.item(), 4), copy_acc=round(acc, 3)))
            if acc > a.copy_target: break

for ts in range(a.steps):
    for g in opt.param_groups: g["lr"] = a.lr * min(1, (ts + 1) / 100)
    if a.task == "hashhop":
        x, y = batch([hop_sample(rng, a.queries) for _ in range(a.batch)])
    else:
        x, y = batch([chain_sample(rng, 1) for _ in range(a.batch)])
    loss, _ = loss_on(x, y)
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step(); step += 1
    if ts % 100 == 99:
        logit("task", dict(loss=round(loss.item(), 4), acc=evaluate(), tokens=x.numel()))
    if time.time() - t0 > a.minutes * 60:
        break
logit("end", dict(acc=evaluate()))
