"""One Transformer block and one GRU layer, forward + backward, in PyTorch on CPU, beside
`reckit bench transformer|gru`.

usage:
  torch_layers.py run transformer|gru [--steps N] [--warmup W]   one benchmark, this process
  torch_layers.py compare RECKIT ROUNDS [--steps N] [--warmup W]  alternate RecKit and PyTorch

Same shapes, loss and timing as RecKit's probe (Sources/RecKitCLI/NumericProbe.swift): seeded
N(0, 1) input, loss = mean of the outputs, gradients cleared before each step (untimed), median
step time after warm-up, peak RSS of the process (resource.getrusage). Each benchmark runs in its
own process so that its peak memory is its own. torch uses 2 threads (torch.set_num_threads(2)).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

SHAPES = {
    "transformer": "batch 128, length 200, width 64, 2 heads, FFN 256, causal",
    "gru": "batch 128, length 50, input 64, hidden 128",
}


def run(bench, steps, warmup):
    import torch

    # The wheel's shared libraries alone (CUDA ones too in a CUDA build) are most of the peak.
    after_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    torch.set_num_threads(2)
    torch.manual_seed(7)
    if bench == "transformer":
        model = torch.nn.TransformerEncoderLayer(
            d_model=64, nhead=2, dim_feedforward=256, dropout=0.0, activation="gelu", batch_first=True
        )
        x = torch.randn(128, 200, 64)
        mask = torch.nn.Transformer.generate_square_subsequent_mask(200)

        def step():
            model(x, src_mask=mask, is_causal=True).mean().backward()

    else:
        model = torch.nn.GRU(64, 128, batch_first=True)
        x = torch.randn(128, 50, 64)

        def step():
            model(x)[0].mean().backward()

    model.train()
    times = []
    for index in range(warmup + steps):
        model.zero_grad(set_to_none=False)
        start = time.perf_counter()
        step()
        elapsed = time.perf_counter() - start
        if index >= warmup:
            times.append(elapsed)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({
        "benchmark": bench, "configuration": SHAPES[bench], "steps": steps, "warmup": warmup,
        "medianMilliseconds": statistics.median(times) * 1e3,
        "minimumMilliseconds": min(times) * 1e3, "maximumMilliseconds": max(times) * 1e3,
        "peakResidentMiB": peak, "residentAfterImportMiB": after_import, "torch": torch.__version__, "threads": torch.get_num_threads(),
    }))


def compare(reckit, rounds, steps, warmup):
    def measure(command):
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        return json.loads(out)

    results = {(b, who): [] for b in SHAPES for who in ("RecKit", "PyTorch")}
    for round_index in range(rounds):
        for bench in SHAPES:
            load = open("/proc/loadavg").read().split()[0]
            ours = measure([reckit, "bench", bench, "--steps", str(steps), "--warmup", str(warmup), "--json"])
            theirs = measure([sys.executable, __file__, "run", bench, "--steps", str(steps),
                              "--warmup", str(warmup)])
            results[(bench, "RecKit")].append(ours)
            results[(bench, "PyTorch")].append(theirs)
            print(f"round {round_index + 1} {bench} (load {load}): RecKit {ours['medianMilliseconds']:.1f} ms, "
                  f"{ours['peakResidentMiB']:.0f} MiB; PyTorch {theirs['medianMilliseconds']:.1f} ms, "
                  f"{theirs['peakResidentMiB']:.0f} MiB", flush=True)
    print(f"\nmedians over {rounds} alternating rounds, each a median of {steps} steps after {warmup} warm-up; "
          f"torch {results[('gru', 'PyTorch')][0]['torch']}, 2 threads")
    print("| step | RecKit ms | PyTorch ms | RecKit / PyTorch | RecKit peak RSS | PyTorch peak RSS "
          "(after `import torch`) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for bench in SHAPES:
        ours = statistics.median(r["medianMilliseconds"] for r in results[(bench, "RecKit")])
        theirs = statistics.median(r["medianMilliseconds"] for r in results[(bench, "PyTorch")])
        ours_rss = statistics.median(r["peakResidentMiB"] for r in results[(bench, "RecKit")])
        theirs_rss = statistics.median(r["peakResidentMiB"] for r in results[(bench, "PyTorch")])
        imported = statistics.median(r["residentAfterImportMiB"] for r in results[(bench, "PyTorch")])
        print(f"| {bench}: {SHAPES[bench]} | {ours:.1f} | {theirs:.1f} | {ours / theirs:.2f} | "
              f"{ours_rss:.0f} MiB | {theirs_rss:.0f} MiB ({imported:.0f} MiB) |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["run", "compare"])
    parser.add_argument("target", help="transformer|gru for run, the reckit binary for compare")
    parser.add_argument("rounds", nargs="?", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    if args.mode == "run":
        run(args.target, args.steps, args.warmup)
    else:
        compare(os.path.abspath(args.target), args.rounds, args.steps, args.warmup)


if __name__ == "__main__":
    main()
