"""Benchmark workloads, each written once for mlfront and once by hand on each engine.

A worker runs ONE implementation in its own process (so engines never share a process) and prints a JSON line
with training steps per second and single-sample predict latency. `run.py` alternates workers over rounds.
"""

import argparse
import json
import os
import time

import numpy as np

STEPS_PER_EPOCH = 80
BATCH = 128
FEATURES, HIDDEN, CLASSES = 784, 128, 10


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(STEPS_PER_EPOCH * BATCH, FEATURES)).astype("float32")
    y = rng.integers(0, CLASSES, size=len(x)).astype("int32")
    return x, y


def timed_epochs(run_epoch, epochs):
    run_epoch()  # warm-up: compilation / tracing / allocator
    start = time.perf_counter()
    for _ in range(epochs):
        run_epoch()
    return epochs * STEPS_PER_EPOCH / (time.perf_counter() - start)


def timed_predict(predict_one, calls=300):
    for _ in range(20):
        predict_one()
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        predict_one()
        samples.append(time.perf_counter() - start)
    return float(np.median(samples))


# ---------------------------------------------------------------------------------------------- mlfront
def mlfront_mlp(epochs):
    import mlfront
    from mlfront import layers
    x, y = make_data()
    model = mlfront.Sequential([layers.Input(shape=(FEATURES,)), layers.Dense(HIDDEN, activation="relu"),
                                layers.Dense(HIDDEN, activation="relu"), layers.Dense(CLASSES)])
    model.compile(optimizer=mlfront.optimizers.Adam(1e-3),
                  loss=mlfront.losses.SparseCategoricalCrossentropy(from_logits=True))
    steps_per_second = timed_epochs(lambda: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0), epochs)
    one = x[:1]
    latency = timed_predict(lambda: model.predict(one, verbose=0))
    return steps_per_second, latency


# ---------------------------------------------------------------------------------------------- Keras 3
def keras_mlp(epochs):
    os.environ["KERAS_BACKEND"] = os.environ["BENCH_ENGINE"]
    import keras
    x, y = make_data()
    model = keras.Sequential([keras.Input(shape=(FEATURES,)), keras.layers.Dense(HIDDEN, activation="relu"),
                              keras.layers.Dense(HIDDEN, activation="relu"), keras.layers.Dense(CLASSES)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    steps_per_second = timed_epochs(lambda: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0), epochs)
    one = x[:1]
    latency = timed_predict(lambda: model.predict(one, verbose=0))
    return steps_per_second, latency


# ---------------------------------------------------------------------------------------------- raw loops
def torch_mlp(epochs):
    import torch
    import torch.nn.functional as F
    x, y = make_data()
    X, Y = torch.from_numpy(x), torch.from_numpy(y).long()
    model = torch.nn.Sequential(torch.nn.Linear(FEATURES, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, HIDDEN),
                                torch.nn.ReLU(), torch.nn.Linear(HIDDEN, CLASSES))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def epoch():
        order = torch.randperm(len(X))
        for start in range(0, len(X), BATCH):
            index = order[start:start + BATCH]
            opt.zero_grad()
            loss = F.cross_entropy(model(X[index]), Y[index])
            loss.backward()
            opt.step()
    steps_per_second = timed_epochs(epoch, epochs)
    one = x[:1]

    def predict_one():
        with torch.no_grad():
            return model(torch.from_numpy(one)).numpy()
    return steps_per_second, timed_predict(predict_one)


def jax_mlp(epochs):
    import jax
    import jax.numpy as jnp
    import optax
    x, y = make_data()
    X, Y = jnp.asarray(x), jnp.asarray(y)
    keys = jax.random.split(jax.random.key(0), 3)
    sizes = [(FEATURES, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN, CLASSES)]
    params = [(jax.random.normal(k, s) * np.sqrt(2 / s[0]), jnp.zeros(s[1])) for k, s in zip(keys, sizes)]
    opt = optax.adam(1e-3)
    opt_state = opt.init(params)

    def forward(params, xb):
        for i, (w, b) in enumerate(params):
            xb = xb @ w + b
            if i < len(params) - 1:
                xb = jax.nn.relu(xb)
        return xb

    @jax.jit
    def step(params, opt_state, xb, yb):
        def loss_fn(p):
            return optax.softmax_cross_entropy_with_integer_labels(forward(p, xb), yb).mean()
        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = opt.update(grads, opt_state)
        return optax.apply_updates(params, updates), opt_state, loss

    state = {"params": params, "opt": opt_state}
    rng = np.random.default_rng(0)

    def epoch():
        order = jnp.asarray(rng.permutation(len(x)).astype("int32"))
        for start in range(0, len(x), BATCH):
            index = order[start:start + BATCH]
            state["params"], state["opt"], _ = step(state["params"], state["opt"], X[index], Y[index])
        jax.block_until_ready(state["params"])
    steps_per_second = timed_epochs(epoch, epochs)
    jit_forward = jax.jit(forward)
    one = x[:1]
    return steps_per_second, timed_predict(lambda: np.asarray(jit_forward(state["params"], one)))


def tensorflow_mlp(epochs):
    import tensorflow as tf
    x, y = make_data()
    X, Y = tf.constant(x), tf.constant(y)
    rng = np.random.default_rng(0)
    sizes = [(FEATURES, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN, CLASSES)]
    params = [tf.Variable((rng.normal(size=s) * np.sqrt(2 / s[0])).astype("float32")) for s in sizes]
    params += [tf.Variable(tf.zeros(s[1])) for s in sizes]
    moments = [(tf.Variable(tf.zeros_like(p)), tf.Variable(tf.zeros_like(p))) for p in params]
    t = tf.Variable(0.0)

    def forward(xb):
        for i in range(3):
            xb = tf.matmul(xb, params[i]) + params[3 + i]
            if i < 2:
                xb = tf.nn.relu(xb)
        return xb

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(yb, forward(xb)))
        grads = tape.gradient(loss, params)
        t.assign_add(1.0)
        rate = 1e-3 * tf.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        for p, g, (m, v) in zip(params, grads, moments):
            m.assign_add((g - m) * 0.1)
            v.assign_add((tf.square(g) - v) * 0.001)
            p.assign_sub(rate * m / (tf.sqrt(v) + 1e-7))
        return loss

    def epoch():
        order = tf.constant(rng.permutation(len(x)).astype("int32"))
        for start in range(0, len(x), BATCH):
            index = order[start:start + BATCH]
            step(tf.gather(X, index), tf.gather(Y, index))
    steps_per_second = timed_epochs(epoch, epochs)
    tf_forward = tf.function(forward)
    one = x[:1]
    return steps_per_second, timed_predict(lambda: tf_forward(tf.constant(one)).numpy())


WORKLOADS = {
    ("mlp", "mlfront"): mlfront_mlp, ("mlp", "keras"): keras_mlp,
    ("mlp", "raw", "torch"): torch_mlp, ("mlp", "raw", "jax"): jax_mlp, ("mlp", "raw", "tensorflow"): tensorflow_mlp,
}


def main():
    parser = argparse.ArgumentParser(description="Run one benchmark worker (see run.py).")
    parser.add_argument("--workload", default="mlp")
    parser.add_argument("--impl", choices=["mlfront", "raw", "keras"], required=True)
    parser.add_argument("--engine", choices=["torch", "jax", "tensorflow"], required=True)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    os.environ["MLFRONT_BACKEND"] = os.environ["BENCH_ENGINE"] = args.engine
    key = (args.workload, args.impl, args.engine) if args.impl == "raw" else (args.workload, args.impl)
    steps_per_second, latency = WORKLOADS[key](args.epochs)
    print(json.dumps({"steps_per_second": steps_per_second, "predict_latency_s": latency}))


if __name__ == "__main__":
    main()
