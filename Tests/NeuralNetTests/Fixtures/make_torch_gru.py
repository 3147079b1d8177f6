"""Writes torch_gru.safetensors with Python's safetensors package: the state_dict of a seeded
torch.nn.GRU(4, 3, batch_first=True), and in the metadata a seeded input (2, 5, 4) and torch's
output for it, so the Swift test can check that RecKit reads a file torch wrote and computes the
same thing.

    python -m venv v && v/bin/pip install torch safetensors && v/bin/python make_torch_gru.py
"""
import json
import os

import torch
from safetensors.torch import save_file

torch.manual_seed(3)
gru = torch.nn.GRU(4, 3, batch_first=True)
x = torch.randn(2, 5, 4)
with torch.no_grad():
    y, _ = gru(x)
here = os.path.dirname(os.path.abspath(__file__))
save_file(
    {k: v.contiguous() for k, v in gru.state_dict().items()},
    os.path.join(here, "torch_gru.safetensors"),
    metadata={
        "input": json.dumps(x.flatten().tolist()),
        "output": json.dumps(y.flatten().tolist()),
        "torch": torch.__version__,
    },
)
