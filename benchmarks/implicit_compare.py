"""RecKit beside implicit 0.7 on the same ml-1m gen-rs split, same hyper-parameters, 2 threads
each; fit times alternate A/B for several rounds; prints medians, ratios and accuracy.

usage: implicit_compare.py RECKIT SPLIT_DIR NAME ROUNDS
"""
import json
import statistics
import subprocess
import sys

reckit, split, name, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
python = sys.executable
cases = [
    # label, reckit model + params, implicit model + (factors, iterations, regularization, alpha or lr)
    ("ALS alpha=1", ["als", "factors=64", "iterations=15", "regularization=0.01", "alpha=1"], ["als", "64", "15", "0.01", "1.0"]),
    ("ALS alpha=40", ["als", "factors=64", "iterations=15", "regularization=0.01", "alpha=40"], ["als", "64", "15", "0.01", "40.0"]),
    ("BPR popularity negatives (implicit's sampler)",
     ["bpr", "factors=64", "iterations=100", "regularization=0.01", "learning_rate=0.01", "negatives=popularity"],
     ["bpr", "64", "100", "0.01", "0.01"]),
    ("BPR uniform negatives (RecKit default)",
     ["bpr", "factors=64", "iterations=100", "regularization=0.01", "learning_rate=0.01"], None),
]


def run_reckit(model):
    args = [reckit, "evaluate", "--data", split, "--model", model[0], "--json"]
    for p in model[1:]:
        args += ["--param", p]
    r = json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout)
    m = r["metrics"]
    return r["trainingSeconds"], m["ndcg@20"], m["recall@20"]


def run_implicit(model):
    out = subprocess.run([python, "benchmarks/implicit_ml1m.py", split, name, *model, "2"],
                         capture_output=True, text=True, check=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    return r["fit_seconds"], r["ndcg@20"], r["recall@20"]


print(f"{'case':48} {'RecKit s':>9} {'implicit s':>10} {'ratio':>6}  {'RecKit NDCG@20/Recall@20':>25}  {'implicit':>15}")
for label, ours, theirs in cases:
    a, b = [], []
    for _ in range(rounds):
        a.append(run_reckit(ours))
        if theirs:
            b.append(run_implicit(theirs))
    ta = statistics.median(x[0] for x in a)
    line = f"{label:48} {ta:9.2f} "
    if b:
        tb = statistics.median(x[0] for x in b)
        line += f"{tb:10.2f} {ta / tb:6.2f}  {a[-1][1]:.4f} / {a[-1][2]:.4f}{'':9}  {b[-1][1]:.4f} / {b[-1][2]:.4f}"
    else:
        line += f"{'':10} {'':6}  {a[-1][1]:.4f} / {a[-1][2]:.4f}"
    print(line, flush=True)
