#!/usr/bin/env bash
# Every benchmark workload on CUDA, larger sizes (--scale gpu), one round, for the engines that see a GPU:
# torch (torch.cuda.is_available()), jax (jax.default_backend() == "gpu") and tensorflow
# (tf.config.list_physical_devices("GPU") non-empty). Raw workers fail unless they run on the GPU (--require-gpu);
# no new worker starts after 6 minutes and none runs past 7, so the whole run (imports timed last) ends in under 8.
#
#   bash benchmarks/gpu.sh                        # interpreters from .tox/<engine>/bin/python
#   PYTHON_TORCH=/path/python bash benchmarks/gpu.sh --rounds 2 --json gpu.json   # extra args go to run.py
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON_TORCH=${PYTHON_TORCH:-.tox/torch/bin/python}
PYTHON_JAX=${PYTHON_JAX:-.tox/jax/bin/python}
PYTHON_TENSORFLOW=${PYTHON_TENSORFLOW:-.tox/tensorflow/bin/python}
export TF_CPP_MIN_LOG_LEVEL=3

sees_gpu() {  # sees_gpu PYTHON CODE: true when the interpreter exists and CODE exits 0
    [ -x "$1" ] && timeout 120 "$1" -c "$2" >/dev/null 2>&1
}
engines=()
runner=""  # run.py itself needs only NumPy: the first engine interpreter that sees a GPU runs it
sees_gpu "$PYTHON_TORCH" "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" \
    && engines+=(torch) && runner=${runner:-$PYTHON_TORCH}
sees_gpu "$PYTHON_JAX" "import sys, jax; sys.exit(0 if jax.default_backend() == 'gpu' else 1)" \
    && engines+=(jax) && runner=${runner:-$PYTHON_JAX}
sees_gpu "$PYTHON_TENSORFLOW" \
    "import sys, tensorflow as tf; sys.exit(0 if tf.config.list_physical_devices('GPU') else 1)" \
    && engines+=(tensorflow) && runner=${runner:-$PYTHON_TENSORFLOW}

if [ ${#engines[@]} -eq 0 ]; then
    echo "gpu.sh: no GPU visible to torch ($PYTHON_TORCH), jax ($PYTHON_JAX) or tensorflow ($PYTHON_TENSORFLOW):" \
         "nothing to run. Install CUDA builds of the engines (torch+cuda, jax[cuda12], tensorflow) on a GPU" \
         "machine, or point PYTHON_TORCH / PYTHON_JAX / PYTHON_TENSORFLOW at interpreters that have them." >&2
    exit 2
fi
echo "gpu.sh: running on ${engines[*]}"
exec timeout 480 "$runner" benchmarks/run.py --scale gpu --rounds 1 --require-gpu --deadline 360 --worker-timeout 240 \
    --engines "${engines[@]}" --python-torch "$PYTHON_TORCH" --python-jax "$PYTHON_JAX" \
    --python-tensorflow "$PYTHON_TENSORFLOW" "$@"
