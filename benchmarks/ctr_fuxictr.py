"""FuxiCTR 2.3's FM, DeepFM, DCNv2 and DIN on the split files of `reckit data split --protocol ctr`,
printing the test AUC and logloss, the best epoch and each epoch's seconds as one line of JSON.

usage: ctr_fuxictr.py MODEL SPLIT_DIR WORK_DIR [--epochs N]   (MODEL: FM, DeepFM, DCNv2, DIN)

FuxiCTR's PyPI package ships the library (feature processing, data loaders, BaseModel with its
training loop, early stopping and metrics, and the layers) but not its model_zoo, so the four
models are assembled here from its layers as model_zoo assembles them (FM: LogisticRegression +
InnerProductInteraction; DeepFM: FM + MLP_Block over the flattened embeddings; DCNv2: stacked
CrossNetV2 then MLP_Block; DIN: DIN_Attention of the candidate item over `history`, then MLP_Block).

Settings (RecKit's `ctr` defaults wherever FuxiCTR has the knob; FuxiCTR's own defaults otherwise):
- features: user_id, item_id, gender, age, occupation, zip_prefix, release_year, hour, weekday
  (categorical, as strings); genres, title_tokens (sequence, `^`, mean pooled:
  MaskedAveragePooling); history (sequence, max_len 50, sharing item_id's embedding; mean pooled,
  except in DIN where it is the attention's sequence). Vocabularies from train.csv only,
  min_categr_count 1, unseen values -> OOV.
- embedding_dim 16, batch_size 2048, Adam, learning_rate 1e-3, MLP [64,64,64] ReLU, no dropout,
  no batch norm, no regularizer; DCNv2: 3 cross layers (full rank, stacked); DIN: attention
  units [64], ReLU, no softmax; embedding init normal(std=1e-4) (FuxiCTR's default).
- training: binary cross-entropy, gradient-norm clip 10, monitor validation AUC, early stopping
  patience 2 with FuxiCTR's default reduce-LR-on-plateau (x0.1), best epoch's weights restored,
  at most --epochs (default 30) epochs; seed 2020; torch.set_num_threads(2), CPU.
"""
import argparse
import json
import logging
import os
import time

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from fuxictr.features import FeatureMap
from fuxictr.preprocess import FeatureProcessor, build_dataset
from fuxictr.pytorch.dataloaders import RankDataLoader
from fuxictr.pytorch.layers import (
    CrossNetV2, DIN_Attention, FeatureEmbedding, InnerProductInteraction, LogisticRegression, MLP_Block)
from fuxictr.pytorch.models import BaseModel
from fuxictr.pytorch.torch_utils import seed_everything

CATEGORICAL = ["user_id", "item_id", "gender", "age", "occupation", "zip_prefix", "release_year", "hour", "weekday"]
HIDDEN = [64, 64, 64]


def feature_cols(model):
    cols = [{"name": CATEGORICAL, "active": True, "dtype": "str", "type": "categorical"}]
    for name, limit in (("genres", 6), ("title_tokens", 8)):
        cols.append({"name": name, "active": True, "dtype": "str", "type": "sequence", "splitter": "^",
                     "max_len": limit, "padding": "post"})
    history = {"name": "history", "active": True, "dtype": "str", "type": "sequence", "splitter": "^",
               "max_len": 50, "padding": "post", "share_embedding": "item_id"}
    if model == "DIN":
        history["feature_encoder"] = None
    cols.append(history)
    return cols


class Model(BaseModel):
    def __init__(self, feature_map, kind, embedding_dim=16, learning_rate=1e-3, **kwargs):
        super().__init__(feature_map, model_id=kind, **kwargs)
        self.kind = kind
        self.embedding_layer = FeatureEmbedding(feature_map, embedding_dim)
        width = feature_map.num_fields * embedding_dim
        if kind in ("FM", "DeepFM"):
            self.lr_layer = LogisticRegression(feature_map, use_bias=True)
            self.fm_layer = InnerProductInteraction(feature_map.num_fields, output="product_sum")
        if kind == "DCNv2":
            self.cross = CrossNetV2(width, 3)
        if kind == "DIN":
            self.attention = DIN_Attention(embedding_dim, attention_units=[64], hidden_activations="ReLU",
                                           use_softmax=False)
        if kind != "FM":
            self.mlp = MLP_Block(input_dim=width, output_dim=1, hidden_units=HIDDEN, hidden_activations="ReLU",
                                 output_activation=None, dropout_rates=0, batch_norm=False)
        self.compile(kwargs["optimizer"], kwargs["loss"], learning_rate)
        self.reset_parameters()
        self.model_to_device()

    def forward(self, inputs):
        X = self.get_inputs(inputs)
        if self.kind == "DIN":
            emb_dict = self.embedding_layer.embedding_layer(X)  # by field; history left unpooled
            mask = X["history"].long() != 0
            emb_dict["history"] = self.attention(emb_dict["item_id"], emb_dict["history"], mask)
            flat = self.embedding_layer.embedding_layer.dict2tensor(emb_dict, flatten_emb=True)
            logit = self.mlp(flat)
        else:
            emb = self.embedding_layer(X)
            if self.kind == "FM":
                logit = self.lr_layer(X) + self.fm_layer(emb)
            elif self.kind == "DeepFM":
                logit = self.lr_layer(X) + self.fm_layer(emb) + self.mlp(emb.flatten(start_dim=1))
            else:
                logit = self.mlp(self.cross(emb.flatten(start_dim=1)))
        return {"y_pred": self.output_activation(logit)}


def measure(model, generator):
    """AUC and logloss (probabilities clipped to [1e-7, 1 - 1e-7], as RecKit and FuxiCTR's metric)."""
    model.eval()
    labels, scores = [], []
    with torch.no_grad():
        for batch in generator:
            scores.append(model.forward(batch)["y_pred"].numpy().reshape(-1))
            labels.append(model.get_labels(batch).numpy().reshape(-1))
    y, p = np.concatenate(labels).astype(np.float64), np.clip(np.concatenate(scores).astype(np.float64), 1e-7, 1 - 1e-7)
    return {"AUC": roc_auc_score(y, p), "logloss": float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model", choices=["FM", "DeepFM", "DCNv2", "DIN"])
    parser.add_argument("split")
    parser.add_argument("work")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--rows", type=int, default=None, help="read only the first N rows of each file (a smoke test)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    logging.basicConfig(level=logging.WARNING)
    seed_everything(2020)
    dataset_id = "ctr_" + ("din" if args.model == "DIN" else "pooled") + (f"_{args.rows}" if args.rows else "")
    params = {
        "dataset_id": dataset_id, "data_root": args.work, "data_format": "csv",
        "train_data": os.path.join(args.split, "train.csv"), "valid_data": os.path.join(args.split, "valid.csv"),
        "test_data": os.path.join(args.split, "test.csv"), "min_categr_count": 1,
        "feature_cols": feature_cols(args.model), "label_col": {"name": "label", "dtype": "float"},
        "n_rows": args.rows,
    }
    start = time.perf_counter()
    processor = FeatureProcessor(**params)
    params["train_data"], params["valid_data"], params["test_data"] = build_dataset(processor, **params)
    feature_map = FeatureMap(dataset_id, processor.data_dir)
    feature_map.load(os.path.join(processor.data_dir, "feature_map.json"), params)
    prepared = time.perf_counter() - start

    model = Model(
        feature_map, args.model, gpu=-1, optimizer="adam", loss="binary_crossentropy", verbose=0,
        metrics=["AUC"], monitor="AUC", monitor_mode="max", early_stop_patience=2,
        model_root=os.path.join(args.work, "checkpoints"), embedding_regularizer=0, net_regularizer=0)
    os.makedirs(model.model_dir, exist_ok=True)
    epoch_seconds = []
    train_epoch = model.train_epoch

    def timed_epoch(generator):  # one epoch: its batches and the validation pass after them
        began = time.perf_counter()
        train_epoch(generator)
        epoch_seconds.append(round(time.perf_counter() - began, 2))

    model.train_epoch = timed_epoch
    loader = dict(params, batch_size=2048, shuffle=True, data_format="parquet")
    train_gen, valid_gen = RankDataLoader(feature_map, stage="train", **loader).make_iterator()
    model.fit(train_gen, validation_data=valid_gen, epochs=args.epochs, max_gradient_norm=10.0)
    valid = measure(model, valid_gen)
    test = measure(model, RankDataLoader(feature_map, stage="test", **loader).make_iterator())
    print(json.dumps({
        "library": "FuxiCTR " + __import__("fuxictr").__version__, "model": args.model, "threads": 2,
        "test_auc": round(float(test["AUC"]), 4), "test_logloss": round(float(test["logloss"]), 4),
        "valid_auc": round(float(valid["AUC"]), 4), "epochs": len(epoch_seconds), "epoch_seconds": epoch_seconds,
        "prepare_seconds": round(prepared, 1)}))


if __name__ == "__main__":
    main()
