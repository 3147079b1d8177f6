"""FAISS (PyPI's faiss-cpu) on the item vectors of a saved RecKit factor model, for choosing the
ANN library: recall@10 against exact inner-product ranking and latency, one query at a time on
one thread, with each user's training items filtered out as `reckit bench ann` filters them
(fetch k + |seen| candidates, drop the seen ones). Builds use both cores.

usage: python benchmarks/faiss_compare.py MODEL_DIR [users] [seed]
(needs numpy, safetensors and faiss-cpu; `benchmarks/faiss_compare.sh` makes the venv and runs it
beside `reckit bench ann`.)
"""
import sys
import time

import faiss
import numpy as np
from safetensors.numpy import load_file


def quantile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round((len(values) - 1) * q)))]


def main():
    model = sys.argv[1]
    users = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    weights = load_file(f"{model}/weights.safetensors")
    items = np.ascontiguousarray(weights["model.item_factors"], dtype=np.float32)
    user_factors = weights["model.user_factors"]
    indptr, indices = weights["history.indptr"], weights["history.indices"]
    rng = np.random.default_rng(seed)
    sample = rng.integers(0, user_factors.shape[0], size=users)
    queries = np.ascontiguousarray(user_factors[sample], dtype=np.float32)
    seen = [set(indices[indptr[u]:indptr[u + 1]].tolist()) for u in sample]
    k = 10
    faiss.omp_set_num_threads(1)
    exact, exact_times = [], []
    for q, s in zip(queries, seen):
        start = time.perf_counter()
        scores = items @ q
        if s:
            scores[list(s)] = -np.inf
        top = np.argpartition(-scores, k)[:k]
        exact_times.append((time.perf_counter() - start) * 1e3)
        exact.append(set(top.tolist()))
    print(f"{items.shape[0]} items x {items.shape[1]}, {users} users, top {k}, one query at a time")
    print(f"exact (NumPy matvec + argpartition): p50 {quantile(exact_times, 0.5):.3f} ms, "
          f"p99 {quantile(exact_times, 0.99):.3f} ms")

    def measure(name, index, settings, set_width):
        print(f"{name}\twidth\trecall@{k}\tp50 ms\tp99 ms")
        for width in settings:
            set_width(width)
            hits, times = 0, []
            for q, s, truth in zip(queries, seen, exact):
                start = time.perf_counter()
                fetch = k + len(s)
                _, labels = index.search(q[None, :], fetch)
                kept = [label for label in labels[0] if label >= 0 and label not in s][:k]
                times.append((time.perf_counter() - start) * 1e3)
                hits += len(truth.intersection(kept))
            print(f"\t{width}\t{hits / (k * users):.4f}\t{quantile(times, 0.5):.3f}\t{quantile(times, 0.99):.3f}")

    faiss.omp_set_num_threads(2)
    start = time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(items.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 200
    hnsw.add(items)
    print(f"FAISS IndexHNSWFlat (inner product, M 32, efConstruction 200): built in {time.perf_counter() - start:.1f} s")
    faiss.omp_set_num_threads(1)
    measure("HNSW", hnsw, [64, 128, 256, 384, 512, 1024], lambda w: setattr(hnsw.hnsw, "efSearch", w))
    del hnsw

    faiss.omp_set_num_threads(2)
    start = time.perf_counter()
    nlist = 4096
    quantizer = faiss.IndexFlatIP(items.shape[1])
    ivf = faiss.IndexIVFFlat(quantizer, items.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.train(items[rng.choice(items.shape[0], size=min(items.shape[0], 200_000), replace=False)])
    ivf.add(items)
    print(f"FAISS IndexIVFFlat (inner product, {nlist} lists): trained and built in {time.perf_counter() - start:.1f} s")
    faiss.omp_set_num_threads(1)
    measure("IVF", ivf, [8, 16, 32, 64, 128], lambda w: setattr(ivf, "nprobe", w))


if __name__ == "__main__":
    main()
