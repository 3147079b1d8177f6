"""ALS (64 factors, 15 iterations, regularization 0.01, alpha 1) and BPR (64 factors, 100 epochs,
learning rate 0.01, regularization 0.01, popularity-proportional negatives as implicit draws them)
fit time and peak RSS, RecKit beside implicit 0.7 on the same synthetic atomic files, each process
run in turn; implicit with 2 threads and one BLAS thread. Fit time is the model's own (RecKit's `trained ... in X s`,
implicit's `fit` call); peak RSS is the whole process's (load included), from /usr/bin/time.

usage: [BPR_EPOCHS=N] scale_factors.py RECKIT MODEL ROUNDS DIR [DIR ...]   (MODEL: als or bpr)   (each DIR written by `reckit data synth`)
"""
import os
import re
import statistics
import subprocess
import sys
import time


# BPR's cost is the same for every epoch: BPR_EPOCHS (default 100) shortens a run at 10^8 events.
BPR_EPOCHS = int(os.environ.get("BPR_EPOCHS", "100"))
RECKIT_PARAMS = {
    "als": ["factors=64", "iterations=15", "regularization=0.01", "alpha=1"],
    "bpr": ["factors=64", f"iterations={BPR_EPOCHS}", "regularization=0.01", "learning_rate=0.01",
            "negatives=popularity"],
}


def implicit_fit(model_name, folder):
    import numpy as np
    import pandas as pd
    import scipy.sparse as sp
    from threadpoolctl import threadpool_limits
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    name = os.path.basename(os.path.normpath(folder))
    frame = pd.read_csv(os.path.join(folder, name + ".inter"), sep="\t", usecols=[0, 1])
    users, user_index = np.unique(frame.iloc[:, 0].to_numpy(), return_inverse=True)
    items, item_index = np.unique(frame.iloc[:, 1].to_numpy(), return_inverse=True)
    matrix = sp.csr_matrix(
        (np.ones(len(frame), dtype=np.float32), (user_index, item_index)), shape=(len(users), len(items)))
    matrix.sum_duplicates()
    if model_name == "als":
        model = AlternatingLeastSquares(
            factors=64, iterations=15, regularization=0.01, alpha=1.0, num_threads=2, random_state=0,
            calculate_training_loss=False)
    else:
        model = BayesianPersonalizedRanking(
            factors=64, iterations=BPR_EPOCHS, regularization=0.01, learning_rate=0.01, num_threads=2,
            random_state=0)
    with threadpool_limits(limits=1, user_api="blas"):
        start = time.perf_counter()
        model.fit(matrix, show_progress=False)
        return time.perf_counter() - start


def timed(args):
    out = subprocess.run(["/usr/bin/time", "-f", "RSS %M"] + args, capture_output=True, text=True, check=True)
    rss = int(re.search(r"RSS (\d+)", out.stderr).group(1)) / 1024
    return out.stdout, rss


def main():
    reckit, model, rounds, folders = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    print(f"{model}:")
    print("| data | RecKit fit s | implicit fit s | ratio | RecKit peak RSS MiB | implicit peak RSS MiB |")
    print("| --- | --- | --- | --- | --- | --- |")
    for folder in folders:
        ours, theirs, our_rss, their_rss = [], [], [], []
        for _ in range(rounds):
            args = [reckit, "train", "--data", folder, "--model", model, "--out", "/tmp/scale-factors-model"]
            for parameter in RECKIT_PARAMS[model]:
                args += ["--param", parameter]
            text, rss = timed(args)
            ours.append(float(re.search(r"in ([0-9.]+) s", text).group(1)))
            our_rss.append(rss)
            text, rss = timed([sys.executable, __file__, "--implicit", model, folder])
            theirs.append(float(text.strip()))
            their_rss.append(rss)
        a, b = statistics.median(ours), statistics.median(theirs)
        print(f"| {os.path.basename(os.path.normpath(folder))} | {a:.1f} ({', '.join(f'{x:.1f}' for x in ours)}) "
              f"| {b:.1f} ({', '.join(f'{x:.1f}' for x in theirs)}) | {a / b:.2f} | {max(our_rss):.0f} | {max(their_rss):.0f} |",
              flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--implicit":
        print(implicit_fit(sys.argv[2], sys.argv[3]))
    else:
        main()
