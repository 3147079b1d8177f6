# Sourced by the benchmark scripts that compare against PyTorch, from the repository root: sets
# `venv` to TORCH_VENV, or to benchmarks/.venv-torch, created with PyTorch's CPU wheel on first use.
venv="${TORCH_VENV:-benchmarks/.venv-torch}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q torch --index-url https://download.pytorch.org/whl/cpu
fi
