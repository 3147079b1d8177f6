#!/usr/bin/env python3
"""Load for the fault run (benchmarks/cluster.sh): threads that POST one feedback event each
(a unique item per request) through the load balancer, recording the time and status of every
request and the events acknowledged with 200. Prints a JSON summary; writes the acknowledged
events, one "user<TAB>item" per line, to the file named by --acked.

usage: fault_driver.py --url http://127.0.0.1:PORT --seconds S --threads N --acked FILE --kill-at T
  --kill-at: seconds after the start at which the caller kills a replica (for the summary only)
"""
import argparse, http.client, json, threading, time, urllib.parse

parser = argparse.ArgumentParser()
parser.add_argument("--url", required=True)
parser.add_argument("--seconds", type=float, default=30)
parser.add_argument("--threads", type=int, default=8)
parser.add_argument("--acked", required=True)
parser.add_argument("--kill-at", type=float, required=True)
args = parser.parse_args()
target = urllib.parse.urlparse(args.url)
start = time.monotonic()
results = []  # (seconds since start, status or None, user, item)
lock = threading.Lock()


def worker(number):
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
    counter = 0
    while time.monotonic() - start < args.seconds:
        counter += 1
        user, item = f"fault-{number}", f"item-{number}-{counter}"
        body = json.dumps([{"FeedbackType": "like", "UserId": user, "ItemId": item}])
        sent = time.monotonic() - start
        status = None
        try:
            connection.request("POST", "/api/feedback", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            status = response.status
        except Exception:
            connection.close()
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        with lock:
            results.append((sent, status, user, item))


threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.threads)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
acked = [(u, i) for (_, s, u, i) in results if s == 200]
with open(args.acked, "w") as out:
    for user, item in acked:
        out.write(f"{user}\t{item}\n")
failed = [(t, s) for (t, s, _, _) in results if s != 200]
after = [(t, s) for (t, s) in failed if t >= args.kill_at]
print(json.dumps({
    "requests": len(results), "acknowledged": len(acked), "failed": len(failed),
    "failed_after_kill": len(after),
    "failed_statuses": sorted({str(s) for (_, s) in failed}),
    "first_failure_after_kill_s": round(min(t for t, _ in after) - args.kill_at, 3) if after else None,
    "last_failure_after_kill_s": round(max(t for t, _ in after) - args.kill_at, 3) if after else None,
    "rate_per_s": round(len(results) / args.seconds, 1),
}))
