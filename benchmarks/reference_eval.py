"""Independent NumPy reference for RecKit's gen-rs evaluation.

Reads a split written by `reckit data split` (NAME.train/valid/test.inter), fits Pop, ItemKNN
(RecBole's ComputeSimilarity semantics) and EASE with NumPy/SciPy, and prints full-ranking
metrics with the tie rule of docs/protocols.md. Used by benchmarks/ease_ml1m.sh and to
cross-check RecKit's numbers on exactly the same split.

usage: python3 reference_eval.py DIR NAME [pop|itemknn|ease ...]
"""
import sys
import time

import numpy as np
import scipy.sparse as sp


def read(path):
    with open(path, encoding="utf-8") as f:
        next(f)
        rows = [line.rstrip("\n").split("\t")[:2] for line in f if line.strip()]
    return rows


def main():
    folder, name = sys.argv[1], sys.argv[2]
    models = sys.argv[3:] or ["pop", "itemknn", "ease"]
    t0 = time.perf_counter()
    parts = {p: read(f"{folder}/{name}.{p}.inter") for p in ("train", "valid", "test")}
    users = {u: i for i, u in enumerate(sorted({u for rows in parts.values() for u, _ in rows}))}
    items = {v: i for i, v in enumerate(sorted({v for rows in parts.values() for _, v in rows}))}
    U, I = len(users), len(items)

    def matrix(rows):
        r = np.array([users[u] for u, _ in rows])
        c = np.array([items[v] for _, v in rows])
        return sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (r, c)), shape=(U, I))

    train, valid, test = matrix(parts["train"]), matrix(parts["valid"]), matrix(parts["test"])
    load_s = time.perf_counter() - t0
    mask = (train + valid).tocsr()
    for model in models:
        t1 = time.perf_counter()
        if model == "pop":
            pop = np.asarray(train.sum(axis=0)).ravel()
            score_fn = lambda rows: np.tile(pop, (len(rows), 1))
        elif model == "ease":
            G = (train.T @ train).toarray().astype(np.float64)
            G[np.diag_indices(I)] += 250.0
            P = np.linalg.inv(G)
            B = P / (-np.diag(P))
            B[np.diag_indices(I)] = 0.0
            B = B.astype(np.float32)
            score_fn = lambda rows: train[rows].toarray() @ B
        elif model == "itemknn":
            k = 100
            G = (train.T @ train).toarray()
            norms = np.sqrt(np.asarray(train.power(2).sum(axis=0)).ravel())
            np.fill_diagonal(G, 0.0)
            S = G / (norms[:, None] * norms[None, :] + 1e-6)
            W = np.zeros_like(S)
            top = np.argpartition(-S, k - 1, axis=1)[:, :k]
            for i in range(I):
                W[top[i], i] = S[i, top[i]]  # W[j, i] = sim(i, j) for j among i's neighbours
            score_fn = lambda rows: train[rows].toarray() @ W
        fit_s = time.perf_counter() - t1
        t2 = time.perf_counter()
        evaluated = np.flatnonzero(np.diff(test.indptr) > 0)
        sums = {}
        for start in range(0, len(evaluated), 512):
            rows = evaluated[start:start + 512]
            scores = score_fn(rows).astype(np.float32)
            m = mask[rows].toarray() > 0
            scores[m] = -np.inf
            for r, u in enumerate(rows):
                targets = test.indices[test.indptr[u]:test.indptr[u + 1]]
                s = scores[r]
                # rank = number of candidates scoring >= the target (ties count against it)
                ranks = np.array([(s >= s[t]).sum() for t in targets])
                for K in (10, 20):
                    hits = ranks <= K
                    idcg = (1 / np.log2(np.arange(2, min(len(targets), K) + 2))).sum()
                    sums.setdefault(f"ndcg@{K}", 0.0)
                    sums[f"ndcg@{K}"] += (1 / np.log2(ranks[hits] + 1)).sum() / idcg
                    sums.setdefault(f"recall@{K}", 0.0)
                    sums[f"recall@{K}"] += hits.sum() / len(targets)
        eval_s = time.perf_counter() - t2
        metrics = {k: v / len(evaluated) for k, v in sorted(sums.items())}
        print(model, " ".join(f"{k}={v:.4f}" for k, v in metrics.items()),
              f"load={load_s:.2f}s fit={fit_s:.2f}s eval={eval_s:.2f}s users={len(evaluated)}")


if __name__ == "__main__":
    main()
