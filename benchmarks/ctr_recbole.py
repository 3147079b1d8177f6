"""RecBole 1.2.1's context-aware FM, DeepFM and DCNV2 on the split files of `reckit data split
--protocol ctr`, printing the test AUC and logloss and each epoch's seconds as one line of JSON.

usage: ctr_recbole.py MODEL SPLIT_DIR WORK_DIR [--epochs N] [--rows N]   (MODEL: FM, DeepFM, DCNV2)

The CSVs are rewritten as RecBole benchmark files (WORK_DIR/ctr/ctr.{train,valid,test}.inter) with
every feature in the .inter file, so RecBole's context-aware models see the same fields as RecKit.

Settings (RecKit's `ctr` defaults wherever RecBole has the knob; RecBole's own defaults otherwise):
- features: user_id, item_id, gender, age, occupation, zip_prefix, release_year, hour, weekday
  (token); genres, title_tokens, history (token_seq, mean pooled: RecBole's context-aware
  embedding of a token_seq field). RecBole remaps tokens over all three files (RecKit and FuxiCTR
  build vocabularies from train only); history has its own table (RecBole embeds each field apart).
- embedding_size 16, train_batch_size 2048, Adam, learning_rate 1e-3, weight_decay 0;
  DeepFM/DCNV2: mlp_hidden_size [64,64,64], dropout_prob 0; DCNV2: cross_layer_num 3, mixed False,
  structure stacked, reg_weight 0. Label: the file's `label` (rating >= 4).
- training: binary cross-entropy, validation AUC after every epoch, RecBole's default early
  stopping (stopping_step 10) capped at --epochs (default 15), best epoch's weights restored;
  seed 2020, reproducibility on; torch.set_num_threads(2), CPU.
- DIN is not run: RecBole 1.2.1's DIN is a sequential model that reads features from .user/.item
  files and builds its own item sequence, so it cannot read these files as they are.
"""
import argparse
import csv
import json
import os
import re
import time

os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # RecBole 1.2.1 predates torch 2.6

import torch  # noqa: E402
from recbole.config import Config  # noqa: E402
from recbole.data import create_dataset, data_preparation  # noqa: E402
from recbole.trainer import Trainer  # noqa: E402
from recbole.utils import get_model, init_seed  # noqa: E402

TOKENS = ["user_id", "item_id", "gender", "age", "occupation", "zip_prefix", "release_year", "hour", "weekday"]
SEQUENCES = ["genres", "title_tokens", "history"]


def write_atomic(split, folder, dataset, rows):
    """Rewrites train/valid/test.csv as tab-separated RecBole benchmark files (lists space-separated)."""
    os.makedirs(folder, exist_ok=True)
    header = ["label:float"] + [f"{t}:token" for t in TOKENS] + [f"{s}:token_seq" for s in SEQUENCES]
    for part, name in (("train", "train"), ("valid", "valid"), ("test", "test")):
        target = os.path.join(folder, f"{dataset}.{name}.inter")
        if os.path.exists(target):
            continue
        with open(os.path.join(split, f"{part}.csv"), newline="") as source, open(target + ".tmp", "w") as out:
            out.write("\t".join(header) + "\n")
            for index, row in enumerate(csv.DictReader(source)):
                if rows is not None and index >= rows:
                    break
                values = [row["label"]] + [re.sub(r"\s+", "_", row[t]) for t in TOKENS]
                values += [" ".join(re.sub(r"\s+", "_", v) for v in row[s].split("^") if v) for s in SEQUENCES]
                out.write("\t".join(values) + "\n")
        os.replace(target + ".tmp", target)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model", choices=["FM", "DeepFM", "DCNV2"])
    parser.add_argument("split")
    parser.add_argument("work")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--rows", type=int, default=None, help="read only the first N rows of each file (a smoke test)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    dataset = "ctr" if args.rows is None else f"ctr{args.rows}"
    start = time.perf_counter()
    write_atomic(args.split, os.path.join(args.work, dataset), dataset, args.rows)
    config = {
        "data_path": args.work, "benchmark_filename": ["train", "valid", "test"], "field_separator": "\t",
        "seq_separator": " ", "LABEL_FIELD": "label", "USER_ID_FIELD": "user_id", "ITEM_ID_FIELD": "item_id",
        "load_col": {"inter": ["label"] + TOKENS + SEQUENCES}, "eval_args": {"group_by": None, "mode": "labeled",
        "order": "RO"}, "metrics": ["AUC", "LogLoss"], "valid_metric": "AUC", "embedding_size": 16,
        "train_batch_size": 2048, "eval_batch_size": 40960, "learning_rate": 1e-3, "weight_decay": 0.0,
        "epochs": args.epochs, "train_neg_sample_args": None, "mlp_hidden_size": [64, 64, 64], "dropout_prob": 0.0,
        "cross_layer_num": 3, "mixed": False, "structure": "stacked", "reg_weight": 0.0, "seed": 2020,
        "reproducibility": True, "device": "cpu", "use_gpu": False, "show_progress": False, "state": "ERROR",
        "checkpoint_dir": os.path.join(args.work, "saved"),
    }
    cfg = Config(model=args.model, dataset=dataset, config_dict=config)
    init_seed(cfg["seed"], cfg["reproducibility"])
    data = create_dataset(cfg)
    train, valid, test = data_preparation(cfg, data)
    prepared = time.perf_counter() - start
    model = get_model(cfg["model"])(cfg, train._dataset).to(cfg["device"])
    trainer = Trainer(cfg, model)
    epoch_seconds = []
    train_epoch, valid_epoch = trainer._train_epoch, trainer._valid_epoch
    clock = {}

    def timed_train(*a, **k):  # one epoch: its batches, then (below) the validation pass
        clock["start"] = time.perf_counter()
        return train_epoch(*a, **k)

    def timed_valid(*a, **k):
        result = valid_epoch(*a, **k)
        epoch_seconds.append(round(time.perf_counter() - clock["start"], 2))
        return result

    trainer._train_epoch, trainer._valid_epoch = timed_train, timed_valid
    best_valid, valid_result = trainer.fit(train, valid, saved=True, show_progress=False)
    result = trainer.evaluate(test, load_best_model=True, show_progress=False)
    print(json.dumps({
        "library": "RecBole 1.2.1", "model": args.model, "threads": 2, "test_auc": round(float(result["auc"]), 4),
        "test_logloss": round(float(result["logloss"]), 4), "valid_auc": round(float(best_valid), 4),
        "epochs": len(epoch_seconds), "epoch_seconds": epoch_seconds, "prepare_seconds": round(prepared, 1)}))


if __name__ == "__main__":
    main()
