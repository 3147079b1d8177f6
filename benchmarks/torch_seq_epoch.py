"""One training epoch of SASRec and GRU4Rec on ml-1m in plain PyTorch (CPU, 2 threads), the
reference for `reckit train --model sasrec|gru4rec --param epochs=1` (benchmarks/seq_epoch.sh).

usage: torch_seq_epoch.py sasrec|gru4rec INTER_FILE [--length 200] [--batch 128]

Every user's sequence once: the newest length + 1 events by timestamp, inputs all but the last,
next-item targets at every position, cross-entropy over every item (logits materialized, the
straightforward way), Adam lr 1e-3, dropout 0.2 (SASRec) / 0.3 (GRU4Rec input embeddings).
SASRec: width 64, 2 pre-LN blocks, 1 head, FFN 256 GELU, learned positions, fused
scaled-dot-product attention with a causal mask, item embeddings tied to the output.
GRU4Rec: embeddings 64, one GRU layer of 128, a dense layer back to 64, tied output.
Prints one JSON line: epoch seconds (training steps only) and peak RSS.
"""
import argparse
import json
import resource
import time
from collections import defaultdict


def load_sequences(path, length):
    events = defaultdict(list)
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        names = [h.split(":")[0] for h in header]
        u, i, t = names.index("user_id"), names.index("item_id"), names.index("timestamp")
        for line in f:
            parts = line.rstrip("\n").split("\t")
            events[parts[u]].append((float(parts[t]), parts[i]))
    items = {}
    sequences = []
    for user in events:
        ordered = [item for _, item in sorted(events[user], key=lambda e: e[0])]
        sequences.append([items.setdefault(item, len(items) + 1) for item in ordered][-(length + 1):])
    return sequences, len(items)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model", choices=["sasrec", "gru4rec"])
    parser.add_argument("inter")
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()

    import torch
    import torch.nn.functional as F

    torch.set_num_threads(2)
    torch.manual_seed(2020)
    sequences, n_items = load_sequences(args.inter, args.length)
    L, d = args.length, 64

    class SASRec(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.item = torch.nn.Embedding(n_items + 1, d, padding_idx=0)
            self.pos = torch.nn.Embedding(L, d)
            self.drop = torch.nn.Dropout(0.2)
            self.blocks = torch.nn.ModuleList(
                [torch.nn.TransformerEncoderLayer(d, 1, 256, 0.2, activation="gelu", batch_first=True, norm_first=True)
                 for _ in range(2)])
            self.norm = torch.nn.LayerNorm(d)

        def forward(self, x):
            h = self.drop(self.item(x) + self.pos.weight[: x.shape[1]])
            mask = torch.nn.Transformer.generate_square_subsequent_mask(x.shape[1])
            for block in self.blocks:
                h = block(h, src_mask=mask, is_causal=True)
            return self.norm(h)

    class GRU4Rec(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.item = torch.nn.Embedding(n_items + 1, d, padding_idx=0)
            self.drop = torch.nn.Dropout(0.3)
            self.gru = torch.nn.GRU(d, 128, batch_first=True)
            self.dense = torch.nn.Linear(128, d)

        def forward(self, x):
            return self.dense(self.gru(self.drop(self.item(x)))[0])

    model = SASRec() if args.model == "sasrec" else GRU4Rec()
    # RecKit's initialization of the item table (N(0, 0.02), padding row zero); torch's default
    # N(0, 1) makes the tied logits huge. Timing does not depend on it.
    with torch.no_grad():
        model.item.weight.normal_(0, 0.02)
        model.item.weight[0].zero_()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.randperm(len(sequences)).tolist()
    start = time.perf_counter()
    for b in range(0, len(order), args.batch):
        rows = [sequences[r] for r in order[b: b + args.batch] if len(sequences[r]) >= 2]
        # Right-padded to the batch's longest row, as RecKit does (causal models see no padding).
        width = max(len(s) - 1 for s in rows)
        x = torch.zeros(len(rows), width, dtype=torch.long)
        y = torch.zeros(len(rows), width, dtype=torch.long)
        for r, s in enumerate(rows):
            x[r, : len(s) - 1] = torch.tensor(s[:-1])
            y[r, : len(s) - 1] = torch.tensor(s[1:])
        h = model(x)
        logits = h.reshape(-1, d) @ model.item.weight.T
        loss = F.cross_entropy(logits, y.reshape(-1), ignore_index=0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"model": args.model, "side": "pytorch", "seconds": round(seconds, 2),
                      "peak_rss_mib": round(peak), "torch": torch.__version__, "loss": float(loss.detach())}))


if __name__ == "__main__":
    main()
