"""Compares RecBole 1.2.1's own `seq-loo` split of ml-1m (its benchmark preprocessing: rating >= 3,
10-core, leave-one-out by time) with RecKit's, event for event, and measures how much the order
of events changes the task with a model-free reference: a first-order Markov chain (the next
item scored by how often it followed the last one in training sequences).

RecBole turns the float timestamp into a float32 tensor before it sorts each user's events, so
events up to 64 s apart tie and keep file order. RecKit's `--float32-timestamps` does the same.

usage: recbole_seq_order.py DATA_PATH SPLIT_EXACT SPLIT_FLOAT32
(DATA_PATH/ml-1m/ml-1m.inter as `reckit data fetch ml-1m` writes it; SPLIT_* folders written by
`reckit data split --data ml-1m --recbole-benchmark --protocol seq-loo [--float32-timestamps]`)
"""
import collections
import math
import os
import sys

os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # RecBole 1.2.1 predates torch 2.6

import numpy as np  # noqa: E402
from recbole.config import Config  # noqa: E402
from recbole.data import create_dataset, data_preparation  # noqa: E402
from recbole.utils import init_seed  # noqa: E402

data_path, splits = sys.argv[1], {"exact": sys.argv[2], "float32": sys.argv[3]}
config = Config(model="GRU4Rec", dataset="ml-1m", config_dict={
    "data_path": data_path, "load_col": {"inter": ["user_id", "item_id", "rating", "timestamp"]},
    "val_interval": {"rating": "[3,inf)"}, "unused_col": {"inter": ["rating"]},
    "user_inter_num_interval": "[10,inf)", "item_inter_num_interval": "[10,inf)", "MAX_ITEM_LIST_LENGTH": 50,
    "train_neg_sample_args": None, "loss_type": "CE", "state": "ERROR", "device": "cpu", "use_gpu": False,
    "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full"},
})
init_seed(config["seed"], config["reproducibility"])
dataset = create_dataset(config)
events = dataset.inter_num
_, valid, test = data_preparation(config, dataset)
recbole = {}  # part -> user -> (target, input history)
for part, loader in (("valid", valid), ("test", test)):
    feat = loader.dataset.inter_feat
    users = dataset.id2token("user_id", feat["user_id"].numpy())
    targets = dataset.id2token("item_id", feat["item_id"].numpy())
    lengths, lists = feat["item_length"].numpy(), feat["item_id_list"].numpy()
    recbole[part] = {
        u: (t, tuple(dataset.id2token("item_id", row[:n]))) for u, t, n, row in zip(users, targets, lengths, lists)
    }
print(f"RecBole: {events} events, {len(recbole['test'])} evaluated users")


def read(folder, part):
    events = collections.defaultdict(list)
    with open(os.path.join(folder, f"ml-1m.{part}.inter")) as f:
        next(f)
        for line in f:
            user, item = line.rstrip("\n").split("\t")[:2]
            events[user].append(item)
    return events


class Markov:
    """Next-item transition counts of the training sequences; popularity breaks ties only."""

    def __init__(self, train):
        items = sorted({i for s in train.values() for i in s})
        self.index = {item: k for k, item in enumerate(items)}
        self.counts = np.zeros((len(items), len(items)), np.float32)
        popularity = np.zeros(len(items))
        for sequence in train.values():
            ids = [self.index[i] for i in sequence]
            np.add.at(self.counts, (ids[:-1], ids[1:]), 1)
            np.add.at(popularity, ids, 1)
        self.tiebreak = 1e-6 * popularity / popularity.max()

    def evaluate(self, held, context):
        """NDCG@10 and HR@10, ties counted against the target."""
        ndcg = hits = 0.0
        for user, (target,) in held.items():
            scores = self.counts[self.index[context[user][-1]]] + self.tiebreak
            rank = int((scores >= scores[self.index[target]]).sum())
            if rank <= 10:
                ndcg, hits = ndcg + 1 / math.log2(rank + 1), hits + 1
        return ndcg / len(held), hits / len(held)


for name, folder in splits.items():
    train, valid_part, test_part = (read(folder, p) for p in ("train", "valid", "test"))
    line = []
    for part, held in (("valid", valid_part), ("test", test_part)):
        same = sum(held[u] == [t] for u, (t, _) in recbole[part].items())
        line.append(f"{part} targets as RecBole's {same}/{len(recbole[part])}")
    same_input = sum(
        tuple((train[u] + valid_part[u])[-50:]) == h for u, (_, h) in recbole["test"].items())
    line.append(f"test inputs (newest 50) as RecBole's {same_input}")
    print(f"RecKit, {name} timestamps: " + ", ".join(line))
    markov = Markov(train)
    test_context = {u: train[u] + valid_part[u] for u in train}
    for part, held, context in (("valid", valid_part, train), ("test", test_part, test_context)):
        ndcg, hr = markov.evaluate(held, context)
        print(f"  first-order Markov on {part}: NDCG@10 {ndcg:.4f}, HR@10 {hr:.4f}")
