#!/usr/bin/env python3
"""TF-IDF content kNN for new items, outside RecKit (NumPy only), with and without exact years.

For the `cold-item` split written by `reckit data split --data ml-1m --protocol cold-item --out
DIR` and the item file of the data set, scores every new item for a user as the sum of its TF-IDF
cosine to the user's items (genres weight 1, title words 0.3, decade 0.5, and optionally the exact
release year 0.5) and prints NDCG@20 and Recall@20 over the new items.

    python3 benchmarks/cold_item_tfidf.py DIR ~/.cache/reckit/ml-1m/ml-1m.item
"""
import collections
import re
import sys

import numpy as np


def read(path):
    with open(path) as f:
        next(f)
        return [line.rstrip("\n").split("\t") for line in f]


folder, item_file = sys.argv[1], sys.argv[2]
train, valid, test = (read(f"{folder}/ml-1m.{part}.inter") for part in ("train", "valid", "test"))
meta = {row[0]: row[1:4] for row in read(item_file)}
items = sorted({row[1] for row in train + valid + test})
index = {item: k for k, item in enumerate(items)}
new = sorted({index[row[1]] for row in test})
is_new = np.zeros(len(items), bool)
is_new[new] = True
history = collections.defaultdict(list)
for row in train + valid:
    history[row[0]].append(index[row[1]])
held_out = collections.defaultdict(set)
for row in test:
    held_out[row[0]].add(index[row[1]])


def tokens(item):
    title, year, genres = meta.get(item, ("", "", ""))
    result = [("genre", g) for g in genres.split()]
    result += [("word", w) for w in re.findall(r"[a-z0-9']+", title.lower()) if len(w) > 1]
    if year:
        result += [("decade", int(float(year)) // 10), ("year", int(float(year)))]
    return result


def evaluate(weights, k=20):
    vocabulary = {}
    rows = [[vocabulary.setdefault(t, len(vocabulary)) for t in tokens(item)] for item in items]
    kinds = [kind for kind, _ in sorted(vocabulary, key=vocabulary.get)]
    x = np.zeros((len(items), len(vocabulary)))
    for r, columns in enumerate(rows):
        x[r, columns] = 1
    idf = np.log((~is_new).sum() / (x[~is_new].sum(0) + 1)) + 1
    w = x * idf * np.array([weights[kind] for kind in kinds])
    w /= np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-9)
    similarity = w @ w[new].T  # (items, new items)
    ndcg, recall = [], []
    for user, targets in held_out.items():
        top = np.argsort(-similarity[history[user]].sum(0), kind="stable")[:k]
        hits = [new[t] in targets for t in top]
        ndcg.append(sum(h / np.log2(r + 2) for r, h in enumerate(hits))
                    / sum(1 / np.log2(r + 2) for r in range(min(k, len(targets)))))
        recall.append(sum(hits) / len(targets))
    return np.mean(ndcg), np.mean(recall)


for name, year in (("decades only", 0.0), ("decades and exact years", 0.5)):
    ndcg, recall = evaluate({"genre": 1.0, "word": 0.3, "decade": 0.5, "year": year})
    print(f"TF-IDF kNN, {name}: NDCG@20 {ndcg:.4f}, Recall@20 {recall:.4f}")
