#!/usr/bin/env python3
"""What a new user's first events predict, outside RecKit (NumPy only).

For the `cold-user` split written by `reckit data split --data ml-100k --protocol cold-user
--seed S --out DIR`, fits a ridge regression from five events of each training user to the rest
of their events, once with each user's *first* five (as the held-out users are served) and once
with five drawn at random, and prints each one's NDCG@10 on the held-out users over popularity's.
With `--variants` it also tries what might lift the first-five regression: ridge strengths 10 and
100, training users weighted by (mean later events / their later events)^beta, and a one-hot
token of the month (30-day period) the user signed up in.

    python3 benchmarks/cold_user_ridge.py DIR [lambda] [--variants]
"""
import collections
import sys

import numpy as np


def read(path):
    with open(path) as f:
        next(f)
        return [(u, i, float(t)) for u, i, _, t in (line.rstrip("\n").split("\t")[:4] for line in f)]


arguments = [a for a in sys.argv[1:] if a != "--variants"]
folder = arguments[0]
lam = float(arguments[1]) if len(arguments) > 1 else 30.0
train, visible, test = (read(f"{folder}/ml-100k.{part}.inter") for part in ("train", "valid", "test"))
items = sorted({i for _, i, _ in train + visible + test}, key=int)
index = {item: k for k, item in enumerate(items)}
n_items = len(items)

by_user = collections.defaultdict(list)
for u, i, t in train:
    by_user[u].append((t, index[i]))
shown = collections.defaultdict(list)
signup = {}
for u, i, t in visible:
    shown[u].append(index[i])
    signup[u] = min(signup.get(u, t), t)
start = min(t for _, _, t in train + visible + test)
months = int((max(t for _, _, t in train + visible + test) - start) // (30 * 86400)) + 1


def month(t):
    return int((t - start) // (30 * 86400))
later = collections.defaultdict(set)
for u, i, _ in test:
    later[u].add(index[i])

popularity = np.zeros(n_items)
for events in by_user.values():
    for _, i in events:
        popularity[i] += 1


def ndcg(scores, user, k=10):
    scores = scores.copy()
    scores[shown[user]] = -np.inf
    targets = later[user] - set(shown[user])
    top = np.argsort(-scores, kind="stable")[:k]
    dcg = sum(1 / np.log2(r + 2) for r, i in enumerate(top) if i in targets)
    return dcg / sum(1 / np.log2(r + 2) for r in range(min(k, len(targets))))


def evaluate(score):
    users = [u for u in shown if later[u] - set(shown[u])]
    return np.mean([ndcg(score(u), u) for u in users])


def ridge(first_five, strength=lam, beta=0.0, by_month=False):
    rng = np.random.default_rng(0)
    width = n_items + (months if by_month else 0)
    inputs, targets = [], []
    for events in by_user.values():
        events = sorted(events, key=lambda e: e[0])  # stable: file order on ties
        ordered = [i for _, i in events]
        if len(ordered) <= 5:
            continue
        chosen = ordered[:5] if first_five else [ordered[k] for k in rng.choice(len(ordered), 5, replace=False)]
        x = np.zeros(width)
        x[chosen] = 1
        if by_month:
            x[n_items + month(events[0][0])] = 1
        y = np.zeros(n_items)
        y[[i for i in ordered if i not in chosen]] = 1
        inputs.append(x)
        targets.append(y)
    x, y = np.array(inputs), np.array(targets)
    later_counts = y.sum(1)
    y = y * ((later_counts.mean() / later_counts) ** beta)[:, None]
    mean = y.mean(0)
    weights = x.T @ np.linalg.solve(x @ x.T + strength * np.eye(len(x)), y - mean)  # dual form

    def score(user):
        features = np.zeros(width)
        features[shown[user]] = 1
        if by_month:
            features[n_items + month(signup[user])] = 1
        return mean + features @ weights

    return score


base = evaluate(lambda user: popularity)
print(f"popularity NDCG@10 {base:.4f}")
for name, first in (("first five", True), ("random five", False)):
    value = evaluate(ridge(first))
    print(f"ridge from {name}: NDCG@10 {value:.4f} ({value / base:.3f}x popularity)")
if "--variants" in sys.argv:
    for name, options in (
        ("lambda 10", {"strength": 10.0}),
        ("lambda 100", {"strength": 100.0}),
        ("users weighted, beta 0.25", {"beta": 0.25}),
        ("users weighted, beta 0.5", {"beta": 0.5}),
        ("sign-up month token", {"by_month": True}),
    ):
        value = evaluate(ridge(True, **options))
        print(f"ridge from first five, {name}: NDCG@10 {value:.4f} ({value / base:.3f}x popularity)")
