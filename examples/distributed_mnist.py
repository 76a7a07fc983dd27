"""Data-parallel training of a digits classifier: the same script on one device, several, or several machines.

One process, every local device (jax, tensorflow; `MLFRONT_NUM_CPU_DEVICES=2` splits a CPU in two):

    MLFRONT_BACKEND=jax MLFRONT_NUM_CPU_DEVICES=2 python examples/distributed_mnist.py

Several processes (one per device on torch), each started by its engine's launcher:

    MLFRONT_BACKEND=torch torchrun --nproc-per-node 2 examples/distributed_mnist.py
    # jax: one command per process, same coordinator
    MLFRONT_BACKEND=jax JAX_COORDINATOR_ADDRESS=127.0.0.1:12355 JAX_NUM_PROCESSES=2 JAX_PROCESS_ID=0 \\
        python examples/distributed_mnist.py &
    MLFRONT_BACKEND=jax JAX_COORDINATOR_ADDRESS=127.0.0.1:12355 JAX_NUM_PROCESSES=2 JAX_PROCESS_ID=1 \\
        python examples/distributed_mnist.py
    # tensorflow: TF_CONFIG lists every worker; each process gets its own task index
    MLFRONT_BACKEND=tensorflow TF_CONFIG='{"cluster": {"worker": ["127.0.0.1:12356", "127.0.0.1:12357"]},
        "task": {"type": "worker", "index": 0}}' python examples/distributed_mnist.py &   # and index 1

Every process reads the same data and trains on its share of each global batch; process 0 alone prints the
progress, writes the checkpoint (in --out, default a new temporary folder) and the CSV log. Uses MNIST from
`mnist.npz` when present locally ($MNIST_NPZ or ~/.keras/datasets/mnist.npz), else scikit-learn's 8x8 digits.
`MLFRONT_EXAMPLES_QUICK=1` trains for fewer epochs.
"""

import argparse
import os
import tempfile

import numpy as np

import mlfront
from mlfront import distribution, layers

QUICK = os.environ.get("MLFRONT_EXAMPLES_QUICK") == "1"
LAUNCHED = ("WORLD_SIZE", "JAX_COORDINATOR_ADDRESS", "TF_CONFIG", "MLFRONT_DISTRIBUTION_NUM_PROCESSES")


def load_data():
    """(x_train, y_train), (x_test, y_test) as flat float32 pixels in [0, 1] and integer labels."""
    path = os.environ.get("MNIST_NPZ", os.path.expanduser("~/.keras/datasets/mnist.npz"))
    if os.path.exists(path):
        with np.load(path) as f:
            (x_train, y_train), (x_test, y_test), scale = (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"]), 255.0
    else:
        from sklearn.datasets import load_digits
        digits = load_digits()
        order = np.random.default_rng(0).permutation(len(digits.images))
        x, y = digits.images[order], digits.target[order]
        split = int(0.8 * len(x))
        (x_train, y_train), (x_test, y_test), scale = (x[:split], y[:split]), (x[split:], y[split:]), 16.0
    flat = [(x.reshape(len(x), -1) / scale).astype("float32") for x in (x_train, x_test)]
    return (flat[0], y_train.astype("int64")), (flat[1], y_test.astype("int64"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=None, help="folder for the checkpoint and the CSV log")
    args = parser.parse_args()
    if any(os.environ.get(name) for name in LAUNCHED):
        distribution.initialize()  # the launcher's environment says which process this is
    distribution.set_distribution(distribution.DataParallel())
    chief = distribution.is_chief()
    if chief:
        print(f"mlfront backend: {mlfront.backend()}; {distribution.distribution().num_replicas} replicas over "
              f"{distribution.process_count()} process(es): {distribution.list_devices()}")
    mlfront.utils.set_random_seed(0)  # the same initial weights and shuffling on every process
    (x_train, y_train), (x_test, y_test) = load_data()
    model = mlfront.Sequential([
        layers.Input((x_train.shape[1],)),
        layers.Dense(128, activation="relu"),
        layers.BatchNormalization(synchronized=True),  # statistics of the global batch
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    out = args.out or (tempfile.mkdtemp(prefix="distributed-mnist-") if chief else None)
    callbacks = [mlfront.callbacks.ModelCheckpoint(os.path.join(out or ".", "digits.keras")),
                 mlfront.callbacks.CSVLogger(os.path.join(out or ".", "log.csv"))]
    model.fit(x_train, y_train, batch_size=64, epochs=2 if QUICK else 10, validation_split=0.1,
              callbacks=callbacks, verbose=2 if chief else 0)
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=128, verbose=0)
    predictions = model.predict(x_test[:8], verbose=0)  # every process gets all of them, in order
    if chief:
        print(f"Test accuracy: {accuracy:.4f} (loss {loss:.4f})")
        print(f"Predicted {np.argmax(predictions, axis=-1).tolist()} for labels {y_test[:8].tolist()}")
        print(f"Checkpoint and log in {out}")


if __name__ == "__main__":
    main()
