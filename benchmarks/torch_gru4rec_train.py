#!/usr/bin/env python3
"""GRU4Rec as RecBole builds it, trained in PyTorch the way RecKit trains it: a reference for
RecKit's per-epoch validation NDCG@10 on the same split (benchmarks/gru4rec_parity.sh runs both).

Model (RecBole's GRU4Rec): item embedding (64, padding 0, Xavier normal), dropout 0.3, a GRU
without biases (128 hidden, Xavier uniform), a dense layer back to 64, scores = output · item
embeddingsᵀ, cross-entropy over every item. Training (RecKit's `windows=overlap`): per user, windows
of 50 inputs ending every `stride` events, newest first, each counting its newest `stride` targets
(the oldest window all of its targets); Adam; batches of 128 windows. Validation: the item after
each user's training events, scored from the newest 50 of them, full ranking, ties against the
target, history not masked (`seq-loo`).

    python3 benchmarks/torch_gru4rec_train.py DIR NAME [--lr 0.003] [--layers 1] [--epochs 12]

DIR holds NAME.train.inter and NAME.valid.inter (`reckit data split ... --protocol seq-loo`).
"""
import argparse
import collections
import json
import time

import numpy as np
import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("folder")
parser.add_argument("name")
parser.add_argument("--lr", type=float, default=0.003)
parser.add_argument("--layers", type=int, default=1)
parser.add_argument("--epochs", type=int, default=12)
parser.add_argument("--stride", type=int, default=25)
parser.add_argument("--length", type=int, default=50)
args = parser.parse_args()
torch.set_num_threads(2)
torch.manual_seed(0)
rng = np.random.default_rng(0)


def read(part):
    with open(f"{args.folder}/{args.name}.{part}.inter") as f:
        next(f)
        return [line.rstrip("\n").split("\t") for line in f]


train, valid = read("train"), read("valid")
items = {}
for row in train + valid:
    items.setdefault(row[1], len(items) + 1)  # 0 is padding
events = collections.defaultdict(list)
for k, row in enumerate(train):
    events[row[0]].append((float(row[3]), k, items[row[1]]))  # ties keep file order
sequences = {user: [i for _, _, i in sorted(e)] for user, e in events.items()}
windows = []
for user, sequence in sequences.items():
    end = len(sequence)
    while True:
        windows.append((user, end, 0 if end - args.stride < 2 else end - args.stride))
        end -= args.stride
        if end < 2:
            break


class GRU4Rec(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(len(items) + 1, 64, padding_idx=0)
        self.dropout = nn.Dropout(0.3)
        self.gru = nn.GRU(64, 128, num_layers=args.layers, bias=False, batch_first=True)
        self.dense = nn.Linear(128, 64)
        nn.init.xavier_normal_(self.embedding.weight)
        for weight in self.gru.parameters():
            nn.init.xavier_uniform_(weight)

    def forward(self, x):
        return self.dense(self.gru(self.dropout(self.embedding(x)))[0])


def padded(rows):
    x = torch.zeros(len(rows), max(map(len, rows)), dtype=torch.long)
    for r, row in enumerate(rows):
        x[r, : len(row)] = torch.tensor(row)
    return x


model = GRU4Rec()
optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
cases = [(row[0], items[row[1]]) for row in valid if row[0] in sequences]


def validate():
    model.eval()
    gains = []
    with torch.no_grad():
        for start in range(0, len(cases), 512):
            chunk = cases[start : start + 512]
            histories = [sequences[user][-args.length :] for user, _ in chunk]
            rows = torch.arange(len(chunk))
            last = model(padded(histories))[rows, torch.tensor([len(h) - 1 for h in histories])]
            scores = last @ model.embedding.weight.T
            scores[:, 0] = -float("inf")
            target = scores[rows, torch.tensor([item for _, item in chunk])]
            ranks = (scores >= target[:, None]).sum(1)  # 1 + items scored at least as high
            gains += [1 / np.log2(r + 1) if r <= 10 else 0.0 for r in ranks.tolist()]
    model.train()
    return float(np.mean(gains))


for epoch in range(1, args.epochs + 1):
    started, losses = time.time(), []
    order = rng.permutation(len(windows))
    for start in range(0, len(windows), 128):
        inputs, positions, targets = [], [], []
        for r, k in enumerate(order[start : start + 128]):
            user, end, first = windows[k]
            sequence = sequences[user]
            lower = max(0, end - 1 - args.length)
            inputs.append(sequence[lower : end - 1])
            for t in range(lower + 1, end):
                if t >= first:
                    positions.append((r, t - lower - 1))
                    targets.append(sequence[t])
        out = model(padded(inputs))
        hidden = out[torch.tensor([p[0] for p in positions]), torch.tensor([p[1] for p in positions])]
        loss = nn.functional.cross_entropy(hidden @ model.embedding.weight.T, torch.tensor(targets))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    record = {"epoch": epoch, "loss": float(np.mean(losses)), "ndcg@10": validate(), "seconds": time.time() - started}
    print(json.dumps(record), flush=True)
