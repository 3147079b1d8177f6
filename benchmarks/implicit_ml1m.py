"""implicit 0.7 on a split written by `reckit data split`: fits ALS or BPR with the given
hyper-parameters on the training part and prints fit time and gen-rs test metrics (full ranking,
training and validation items masked, ties against the target) as one line of JSON.

usage: implicit_ml1m.py SPLIT_DIR NAME als|bpr FACTORS ITERATIONS REGULARIZATION ALPHA_OR_LR THREADS
"""
import json
import sys
import time

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits


def read(path):
    with open(path, encoding="utf-8") as f:
        next(f)
        return [line.rstrip("\n").split("\t")[:2] for line in f if line.strip()]


def main():
    folder, name, model = sys.argv[1], sys.argv[2], sys.argv[3]
    factors, iterations = int(sys.argv[4]), int(sys.argv[5])
    regularization, rate, threads = float(sys.argv[6]), float(sys.argv[7]), int(sys.argv[8])
    parts = {p: read(f"{folder}/{name}.{p}.inter") for p in ("train", "valid", "test")}
    users, items = {}, {}
    for rows in parts.values():
        for u, i in rows:
            users.setdefault(u, len(users))
            items.setdefault(i, len(items))
    U, I = len(users), len(items)

    def matrix(rows):
        r = np.array([users[u] for u, _ in rows])
        c = np.array([items[i] for _, i in rows])
        m = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (r, c)), shape=(U, I))
        m.sum_duplicates()
        return m

    train, valid, test = matrix(parts["train"]), matrix(parts["valid"]), matrix(parts["test"])
    import implicit

    with threadpool_limits(limits=1, user_api="blas"):
        if model == "als":
            m = implicit.cpu.als.AlternatingLeastSquares(
                factors=factors, regularization=regularization, alpha=rate, iterations=iterations,
                num_threads=threads, random_state=2020, calculate_training_loss=False)
        else:
            m = implicit.cpu.bpr.BayesianPersonalizedRanking(
                factors=factors, learning_rate=rate, regularization=regularization, iterations=iterations,
                num_threads=threads, random_state=2020)
        start = time.perf_counter()
        m.fit(train, show_progress=False)
        fit = time.perf_counter() - start
    U_f, I_f = np.asarray(m.user_factors), np.asarray(m.item_factors)
    mask = (train + valid).tocsr()
    sums = {}
    evaluated = np.flatnonzero(np.diff(test.indptr) > 0)
    for lo in range(0, len(evaluated), 1024):
        rows = evaluated[lo:lo + 1024]
        scores = (U_f[rows] @ I_f.T).astype(np.float32)
        scores[mask[rows].toarray() > 0] = -np.inf
        for r, u in enumerate(rows):
            targets = test.indices[test.indptr[u]:test.indptr[u + 1]]
            s = scores[r]
            ranks = np.array([(s >= s[t]).sum() for t in targets])
            for K in (10, 20):
                hits = ranks <= K
                idcg = (1 / np.log2(np.arange(2, min(len(targets), K) + 2))).sum()
                sums[f"ndcg@{K}"] = sums.get(f"ndcg@{K}", 0.0) + (1 / np.log2(ranks[hits] + 1)).sum() / idcg
                sums[f"recall@{K}"] = sums.get(f"recall@{K}", 0.0) + hits.sum() / len(targets)
    result = {k: round(v / len(evaluated), 4) for k, v in sorted(sums.items())}
    print(json.dumps({"library": f"implicit {implicit.__version__}", "model": model, "fit_seconds": round(fit, 3), **result}))


if __name__ == "__main__":
    main()
