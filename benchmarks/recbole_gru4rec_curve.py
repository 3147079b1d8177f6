"""RecBole 1.2.1's GRU4Rec on a RecBole atomic data set with the `seq-loo` protocol, printing its
validation NDCG@10 after every epoch (RecBole's INFO log) and, at the end, its best validation and
test results: the reference for RecKit's `--epoch-log` under the same scheme (one example per
prefix, batches of 2,048, embedding 64, hidden 128, dropout 0.3, cross-entropy over all items).

usage: recbole_gru4rec_curve.py LEARNING_RATE EPOCHS DATA_PATH [DATASET]
(DATA_PATH/DATASET/DATASET.inter, e.g. a copy of ~/.cache/reckit/ml-100k/ml-100k.inter; RecBole
and torch from PyPI: `pip install recbole==1.2.1 "numpy<2" "scipy<1.13" pandas torch
"setuptools<70"`, as benchmarks/recbole_parity.sh installs them)
"""
import os
import sys

os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # RecBole 1.2.1 predates torch 2.6

from recbole.quick_start import run_recbole  # noqa: E402

rate, epochs, data_path = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
dataset = sys.argv[4] if len(sys.argv) > 4 else "ml-100k"
config = {
    "data_path": data_path, "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
    "MAX_ITEM_LIST_LENGTH": 50, "loss_type": "CE", "train_neg_sample_args": None,
    "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full", "group_by": "user"},
    "metrics": ["NDCG", "Hit"], "topk": [10], "valid_metric": "NDCG@10", "epochs": epochs,
    "learning_rate": rate, "train_batch_size": 2048, "eval_batch_size": 4096, "stopping_step": 10,
    "device": "cpu", "use_gpu": False, "show_progress": False,
    "checkpoint_dir": os.path.join(data_path, "saved"), "seed": 2020, "reproducibility": True, "worker": 0,
}
result = run_recbole(model="GRU4Rec", dataset=dataset, config_dict=config)
print("best validation", dict(result["best_valid_result"]), "test", dict(result["test_result"]), flush=True)
