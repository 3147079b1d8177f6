"""Runs one RecBole 1.2.1 model on a split written by `reckit data split` and prints its test
metrics and wall time as one line of JSON.

usage: recbole_run.py MODEL DATA_PATH DATASET
(files DATA_PATH/DATASET/DATASET.{train,valid,test}.inter; RecBole's benchmark_filename layout)
"""
import json
import os
import sys
import time

os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # RecBole 1.2.1 predates torch 2.6

from recbole.quick_start import run_recbole  # noqa: E402

model, data_path, dataset = sys.argv[1:4]
config = {
    "data_path": data_path, "benchmark_filename": ["train", "valid", "test"],
    "load_col": {"inter": ["user_id", "item_id"]}, "metrics": ["Recall", "NDCG", "Hit", "MRR", "Precision"],
    "topk": [10, 20], "valid_metric": "NDCG@10", "epochs": 1, "show_progress": False, "state": "ERROR",
    "device": "cpu", "use_gpu": False, "checkpoint_dir": os.path.join(data_path, "saved"),
}
start = time.perf_counter()
result = run_recbole(model=model, dataset=dataset, config_dict=config)
seconds = time.perf_counter() - start
print(json.dumps({"model": model, "seconds": round(seconds, 2), **{k: float(v) for k, v in result["test_result"].items()}}))
