"""Writes the gen-rs split that RecBole 1.2.1 itself draws (its defaults: RO order, 0.8/0.1/0.1
by user, seed 2020) as atomic files OUT/NAME.{train,valid,test}.inter, in external ids, so
RecKit can be evaluated on RecBole's own split with `reckit evaluate --split OUT`.

usage: recbole_dump_split.py DATASET OUT [DATA_PATH]
"""
import os
import sys

os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

from recbole.config import Config  # noqa: E402
from recbole.data import create_dataset, data_preparation  # noqa: E402
from recbole.utils import init_seed  # noqa: E402

dataset_name, out = sys.argv[1], sys.argv[2]
config_dict = {"load_col": {"inter": ["user_id", "item_id", "rating", "timestamp"]}, "state": "ERROR"}
if len(sys.argv) > 3:
    config_dict["data_path"] = sys.argv[3]
config = Config(model="Pop", dataset=dataset_name, config_dict=config_dict)
init_seed(config["seed"], config["reproducibility"])
dataset = create_dataset(config)
train, valid, test = data_preparation(config, dataset)
os.makedirs(out, exist_ok=True)
for part, loader in (("train", train), ("valid", valid), ("test", test)):
    feat = loader.dataset.inter_feat
    users = dataset.id2token("user_id", feat["user_id"].numpy())
    items = dataset.id2token("item_id", feat["item_id"].numpy())
    with open(os.path.join(out, f"{dataset_name}.{part}.inter"), "w") as f:
        f.write("user_id:token\titem_id:token\n")  # RecBole normalizes ratings and times; ids suffice
        for u, i in zip(users, items):
            f.write(f"{u}\t{i}\n")
print(f"wrote {out}: train {len(train.dataset)}, valid {len(valid.dataset)}, test {len(test.dataset)}")
