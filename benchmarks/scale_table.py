"""The cost-growth table of docs/scale.md: for each synthetic log, the time and peak RSS of
loading, of training ALS, BPR, item-kNN and SASRec (sampled softmax), of evaluating, and the size
of each model on disk. Steps run one after another, each its own process; peak RSS is the whole
process's (loading included), from /usr/bin/time. Fit and evaluation times are RecKit's own
figures, without loading.

BPR runs BPR_EPOCHS epochs (default 10) and is reported per epoch. SASRec's epoch is projected
from the first SASREC_FRACTION (default 0.2) of it: the run is stopped once the progress line
reaches that fraction, and the elapsed time is divided by the fraction.

usage: scale_table.py RECKIT DIR [DIR ...]   (each DIR written by `reckit data synth`)
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

BPR_EPOCHS = int(os.environ.get("BPR_EPOCHS", "10"))
SASREC_FRACTION = float(os.environ.get("SASREC_FRACTION", "0.2"))


def timed(args):
    """Runs `args` under /usr/bin/time: (stdout, stderr, wall seconds, peak RSS MiB)."""
    start = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-f", "RSS %M"] + args, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{out.stderr[-2000:]}")
    rss = int(re.search(r"RSS (\d+)", out.stderr).group(1)) / 1024
    return out.stdout, out.stderr, wall, rss


def size_mib(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files) / 2**20


def train(reckit, folder, model, params, work):
    out = os.path.join(work, model)
    shutil.rmtree(out, ignore_errors=True)
    args = [reckit, "train", "--data", folder, "--model", model, "--out", out]
    for p in params:
        args += ["--param", p]
    text, _, _, rss = timed(args)
    fit = float(re.search(r"in ([0-9.]+) s", text).group(1))
    size = size_mib(out)
    shutil.rmtree(out, ignore_errors=True)
    return fit, rss, size


def sasrec_epoch(reckit, folder, work):
    """Seconds of one SASRec epoch with the sampled softmax, projected from its first part."""
    args = [reckit, "train", "--data", folder, "--model", "sasrec", "--out", os.path.join(work, "sasrec"),
            "--param", "epochs=1", "--param", "loss=sampled", "--param", "negatives=256",
            "--param", "max_length=50"]
    process = subprocess.Popen(["/usr/bin/time", "-f", "RSS %M"] + args, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    line_pattern = re.compile(r"epoch 1/1.*: (\d+)/(\d+) \((\d+)%, ([0-9.]+) s")
    for line in process.stderr:
        match = line_pattern.search(line)
        if match and int(match.group(1)) > 0 and int(match.group(1)) >= SASREC_FRACTION * int(match.group(2)):
            done, total, seconds = int(match.group(1)), int(match.group(2)), float(match.group(4))
            process.kill()
            process.wait()
            subprocess.run(["pkill", "-f", os.path.join(work, "sasrec")], check=False)
            return seconds * total / done, total
    process.wait()
    raise SystemExit("sasrec: no progress line reached the fraction")


def main():
    reckit, folders = sys.argv[1], sys.argv[2:]
    work = tempfile.mkdtemp(prefix="reckit-scale-table-")
    print(f"load avg before: {open('/proc/loadavg').read().split()[:3]}", flush=True)
    header = ("| log | events | users | items | load s (RSS MiB) | ALS fit s (RSS MiB, disk MiB) "
              f"| BPR s per epoch ({BPR_EPOCHS} epochs; RSS MiB) | item-kNN fit s (RSS MiB, disk MiB) "
              "| SASRec sampled epoch s (windows) | evaluate 10,000 users s (RSS MiB) |")
    print(header)
    print("|" + " --- |" * (header.count("|") - 1))
    for folder in folders:
        name = os.path.basename(os.path.normpath(folder))
        text, _, load_wall, load_rss = timed([reckit, "data", "stats", "--data", folder])
        counts = {k: int(v) for k, v in re.findall(r"^(users|items|interactions)\s+(\d+)$", text, re.M)}
        als = train(reckit, folder, "als", ["factors=64", "iterations=15", "regularization=0.01", "alpha=1"], work)
        bpr = train(reckit, folder, "bpr", ["factors=64", f"iterations={BPR_EPOCHS}", "regularization=0.01",
                                            "learning_rate=0.01", "negatives=popularity"], work)
        knn = train(reckit, folder, "itemknn", ["k=100"], work)
        epoch, windows = sasrec_epoch(reckit, folder, work)
        text, _, _, eval_rss = timed([reckit, "evaluate", "--data", folder, "--model", "als", "--param", "factors=64",
                                      "--param", "iterations=3", "--eval-users", "10000"])
        evaluation = float(re.search(r"evaluate ([0-9.]+) s", text).group(1))
        print(f"| {name} | {counts.get('interactions', '?')} | {counts.get('users', '?')} | {counts.get('items', '?')} "
              f"| {load_wall:.1f} ({load_rss:.0f}) | {als[0]:.1f} ({als[1]:.0f}, {als[2]:.0f}) "
              f"| {bpr[0] / BPR_EPOCHS:.2f} ({bpr[1]:.0f}) | {knn[0]:.1f} ({knn[1]:.0f}, {knn[2]:.0f}) "
              f"| {epoch:.0f} ({windows}) | {evaluation:.1f} ({eval_rss:.0f}) |", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    print(f"load avg after: {open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    main()
