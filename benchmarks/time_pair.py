"""Times two commands in turn, N rounds each, and prints medians and their ratio.

usage: time_pair.py N "command A" "command B"   (A is RecKit, B the reference)
"""
import shlex
import statistics
import subprocess
import sys
import time


def timed(command):
    start = time.perf_counter()
    out = subprocess.run(shlex.split(command), capture_output=True, text=True, check=True)
    return time.perf_counter() - start, out.stdout.strip().splitlines()


def main():
    rounds, a, b = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    times = {a: [], b: []}
    last = {}
    for _ in range(rounds):
        for command in (a, b):
            seconds, lines = timed(command)
            times[command].append(seconds)
            last[command] = lines
    for label, command in (("RecKit", a), ("reference", b)):
        print(f"{label}: {command}")
        for line in last[command]:
            print(f"    {line}")
        print(f"    wall seconds: {', '.join(f'{t:.2f}' for t in times[command])}; median {statistics.median(times[command]):.2f}")
    ratio = statistics.median(times[a]) / statistics.median(times[b])
    print(f"RecKit / reference wall time (medians of {rounds}): {ratio:.2f}")


if __name__ == "__main__":
    main()
