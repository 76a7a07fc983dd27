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
CNN_STEPS, IMAGE = 12, (28, 28, 1)
LSTM_STEPS, VOCAB, SEQ_LEN, EMBED, UNITS = 8, 1000, 100, 32, 64


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(STEPS_PER_EPOCH * BATCH, FEATURES)).astype("float32")
    y = rng.integers(0, CLASSES, size=len(x)).astype("int32")
    return x, y


def make_images(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(CNN_STEPS * BATCH,) + IMAGE).astype("float32")
    return x, rng.integers(0, CLASSES, size=len(x)).astype("int32")


def make_text(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, VOCAB, size=(LSTM_STEPS * BATCH, SEQ_LEN)).astype("int32")
    return x, rng.integers(0, 2, size=(len(x), 1)).astype("float32")


def timed_epochs(run_epoch, epochs, steps=STEPS_PER_EPOCH):
    run_epoch()  # warm-up: compilation / tracing / allocator
    start = time.perf_counter()
    for _ in range(epochs):
        run_epoch()
    return epochs * steps / (time.perf_counter() - start)


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
    return framework_run(mlfront, "mlp", epochs)


def keras_mlp(epochs):
    os.environ["KERAS_BACKEND"] = os.environ["BENCH_ENGINE"]
    import keras
    return framework_run(keras, "mlp", epochs)


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

    def epoch():  # batches gathered in NumPy and handed to the jitted step, the usual JAX input pipeline
        order = rng.permutation(len(x))
        for start in range(0, len(x), BATCH):
            index = order[start:start + BATCH]
            state["params"], state["opt"], _ = step(state["params"], state["opt"], x[index], y[index])
        jax.block_until_ready(state["params"])
    steps_per_second = timed_epochs(epoch, epochs)
    jit_forward = jax.jit(forward)
    one = x[:1]
    return steps_per_second, timed_predict(lambda: np.asarray(jit_forward(state["params"], one)))


def tensorflow_mlp(epochs):
    import tensorflow as tf
    x, y = make_data()
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

    def epoch():  # batches gathered in NumPy (slicing a tf.Tensor from Python costs more than the step)
        order = rng.permutation(len(x))
        for start in range(0, len(x), BATCH):
            index = order[start:start + BATCH]
            step(tf.constant(x[index]), tf.constant(y[index]))
    steps_per_second = timed_epochs(epoch, epochs)
    tf_forward = tf.function(forward)
    one = x[:1]
    return steps_per_second, timed_predict(lambda: tf_forward(tf.constant(one)).numpy())


# ---------------------------------------------------------------------------------------------- CNN and LSTM
def mlfront_or_keras_model(lib, workload):
    """The workload's model, built with mlfront or with Keras 3 (same API)."""
    layers = lib.layers
    if workload == "mlp":
        return lib.Sequential([lib.Input(shape=(FEATURES,)), layers.Dense(HIDDEN, activation="relu"),
                               layers.Dense(HIDDEN, activation="relu"), layers.Dense(CLASSES)])
    if workload == "cnn":
        return lib.Sequential([lib.Input(shape=IMAGE), layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
                               layers.Flatten(), layers.Dense(CLASSES)])
    return lib.Sequential([lib.Input(shape=(SEQ_LEN,), dtype="int32"), layers.Embedding(VOCAB, EMBED),
                           layers.LSTM(UNITS), layers.Dense(1)])


def framework_run(lib, workload, epochs):
    """Training steps/s through `fit` and single-sample `predict` latency, for mlfront or Keras 3."""
    x, y, steps, calls = {"mlp": make_data() + (STEPS_PER_EPOCH, 300), "cnn": make_images() + (CNN_STEPS, 50),
                          "lstm": make_text() + (LSTM_STEPS, 50)}[workload]
    model = mlfront_or_keras_model(lib, workload)
    loss = lib.losses.BinaryCrossentropy(from_logits=True) if workload == "lstm" \
        else lib.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=lib.optimizers.Adam(1e-3), loss=loss)
    steps_per_second = timed_epochs(lambda: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0), epochs, steps)
    one = x[:1]
    return steps_per_second, timed_predict(lambda: model.predict(one, verbose=0), calls=calls)


def mlfront_cnn(epochs):
    import mlfront
    return framework_run(mlfront, "cnn", epochs)


def mlfront_lstm(epochs):
    import mlfront
    return framework_run(mlfront, "lstm", epochs)


def keras_cnn(epochs):
    os.environ["KERAS_BACKEND"] = os.environ["BENCH_ENGINE"]
    import keras
    return framework_run(keras, "cnn", epochs)


def keras_lstm(epochs):
    os.environ["KERAS_BACKEND"] = os.environ["BENCH_ENGINE"]
    import keras
    return framework_run(keras, "lstm", epochs)


def torch_loop(model, x, y, loss_fn, steps, epochs):
    import torch
    X, Y = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def epoch():
        order = torch.randperm(len(X))
        for start in range(0, len(X), BATCH):
            index = order[start:start + BATCH]
            opt.zero_grad()
            loss_fn(model(X[index]), Y[index]).backward()
            opt.step()
    steps_per_second = timed_epochs(epoch, epochs, steps)

    def predict_one():
        with torch.no_grad():
            return model(X[:1]).numpy()
    return steps_per_second, timed_predict(predict_one, calls=50)


def torch_cnn(epochs):
    import torch
    import torch.nn.functional as F
    x, y = make_images()
    x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))  # a hand-written torch loop feeds NCHW
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                                torch.nn.Linear(32 * 13 * 13, CLASSES))
    return torch_loop(model, x, y.astype("int64"), F.cross_entropy, CNN_STEPS, epochs)


def torch_lstm(epochs):
    import torch
    import torch.nn.functional as F

    class TextModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(VOCAB, EMBED)
            self.lstm = torch.nn.LSTM(EMBED, UNITS, batch_first=True)
            self.out = torch.nn.Linear(UNITS, 1)

        def forward(self, tokens):
            _, (h, _) = self.lstm(self.embed(tokens))
            return self.out(h[-1])
    x, y = make_text()
    return torch_loop(TextModel(), x.astype("int64"), y, F.binary_cross_entropy_with_logits, LSTM_STEPS, epochs)


def jax_loop(params, forward, loss_fn, x, y, steps, epochs):
    import jax
    import optax
    opt = optax.adam(1e-3)
    state = {"params": params, "opt": opt.init(params)}

    @jax.jit
    def step(params, opt_state, xb, yb):
        loss, grads = jax.value_and_grad(lambda p: loss_fn(forward(p, xb), yb))(params)
        updates, opt_state = opt.update(grads, opt_state)
        return optax.apply_updates(params, updates), opt_state

    rng = np.random.default_rng(0)

    def epoch():
        order = rng.permutation(len(x))
        for start in range(0, len(x), BATCH):
            index = order[start:start + BATCH]
            state["params"], state["opt"] = step(state["params"], state["opt"], x[index], y[index])
        jax.block_until_ready(state["params"])
    steps_per_second = timed_epochs(epoch, epochs, steps)
    jit_forward = jax.jit(forward)
    return steps_per_second, timed_predict(lambda: np.asarray(jit_forward(state["params"], x[:1])), calls=50)


def jax_cnn(epochs):
    import jax
    import jax.numpy as jnp
    import optax
    x, y = make_images()
    k1, k2 = jax.random.split(jax.random.key(0))
    params = {"conv": jax.random.normal(k1, (3, 3, 1, 32)) * 0.3, "conv_b": jnp.zeros(32),
              "dense": jax.random.normal(k2, (13 * 13 * 32, CLASSES)) * 0.01, "dense_b": jnp.zeros(CLASSES)}

    def forward(p, images):
        h = jax.lax.conv_general_dilated(images, p["conv"], (1, 1), "VALID",
                                         dimension_numbers=("NHWC", "HWIO", "NHWC")) + p["conv_b"]
        h = jax.lax.reduce_window(jax.nn.relu(h), -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
        return h.reshape(len(images), -1) @ p["dense"] + p["dense_b"]
    return jax_loop(params, forward, lambda logits, labels: optax.softmax_cross_entropy_with_integer_labels(
        logits, labels).mean(), x, y, CNN_STEPS, epochs)


def jax_lstm(epochs):
    import jax
    import jax.numpy as jnp
    import optax
    x, y = make_text()
    k = jax.random.split(jax.random.key(0), 4)
    params = {"embed": jax.random.normal(k[0], (VOCAB, EMBED)) * 0.05,
              "w": jax.random.normal(k[1], (EMBED, 4 * UNITS)) * 0.1, "u": jax.random.normal(k[2], (UNITS, 4 * UNITS)) * 0.1,
              "b": jnp.zeros(4 * UNITS), "out": jax.random.normal(k[3], (UNITS, 1)) * 0.1, "out_b": jnp.zeros(1)}

    def forward(p, tokens):
        inputs = jnp.swapaxes(p["embed"][tokens] @ p["w"] + p["b"], 0, 1)

        def cell(carry, z_x):
            h, c = carry
            i, f, g, o = jnp.split(z_x + h @ p["u"], 4, axis=-1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            h = jax.nn.sigmoid(o) * jnp.tanh(c)
            return (h, c), None
        zeros = jnp.zeros((tokens.shape[0], UNITS))
        (h, _), _ = jax.lax.scan(cell, (zeros, zeros), inputs)
        return h @ p["out"] + p["out_b"]
    return jax_loop(params, forward, lambda logits, labels: optax.sigmoid_binary_cross_entropy(logits, labels).mean(),
                    x, y, LSTM_STEPS, epochs)


def tensorflow_loop(variables, forward, loss_fn, x, y, steps, epochs):
    import tensorflow as tf
    moments = [(tf.Variable(tf.zeros_like(v)), tf.Variable(tf.zeros_like(v))) for v in variables]
    t = tf.Variable(0.0)

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = loss_fn(forward(xb), yb)
        grads = tape.gradient(loss, variables)
        t.assign_add(1.0)
        rate = 1e-3 * tf.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        for v, g, (m, s) in zip(variables, grads, moments):
            g = tf.convert_to_tensor(g)
            m.assign_add((g - m) * 0.1)
            s.assign_add((tf.square(g) - s) * 0.001)
            v.assign_sub(rate * m / (tf.sqrt(s) + 1e-7))

    rng = np.random.default_rng(0)

    def epoch():
        order = rng.permutation(len(x))
        for start in range(0, len(x), BATCH):
            index = order[start:start + BATCH]
            step(tf.constant(x[index]), tf.constant(y[index]))
    steps_per_second = timed_epochs(epoch, epochs, steps)
    tf_forward = tf.function(forward)
    return steps_per_second, timed_predict(lambda: tf_forward(tf.constant(x[:1])).numpy(), calls=50)


def tensorflow_cnn(epochs):
    import tensorflow as tf
    x, y = make_images()
    rng = np.random.default_rng(0)
    kernel = tf.Variable((rng.normal(size=(3, 3, 1, 32)) * 0.3).astype("float32"))
    dense = tf.Variable((rng.normal(size=(13 * 13 * 32, CLASSES)) * 0.01).astype("float32"))
    biases = [tf.Variable(tf.zeros(32)), tf.Variable(tf.zeros(CLASSES))]

    def forward(images):
        h = tf.nn.relu(tf.nn.conv2d(images, kernel, 1, "VALID") + biases[0])
        h = tf.nn.max_pool2d(h, 2, 2, "VALID")
        return tf.matmul(tf.reshape(h, (tf.shape(h)[0], -1)), dense) + biases[1]
    return tensorflow_loop([kernel, dense] + biases, forward, lambda logits, labels: tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)), x, y, CNN_STEPS, epochs)


def tensorflow_lstm(epochs):
    import tensorflow as tf
    x, y = make_text()
    rng = np.random.default_rng(0)

    def var(*shape, scale=0.1):
        return tf.Variable((rng.normal(size=shape) * scale).astype("float32"))
    embed, w, u, out = var(VOCAB, EMBED, scale=0.05), var(EMBED, 4 * UNITS), var(UNITS, 4 * UNITS), var(UNITS, 1)
    b, out_b = tf.Variable(tf.zeros(4 * UNITS)), tf.Variable(tf.zeros(1))

    def forward(tokens):
        inputs = tf.transpose(tf.matmul(tf.gather(embed, tokens), w) + b, (1, 0, 2))

        def cell(carry, z_x):
            h, c = tf.unstack(carry)
            i, f, g, o = tf.split(z_x + tf.matmul(h, u), 4, axis=-1)
            c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
            return tf.stack([tf.sigmoid(o) * tf.tanh(c), c])
        zeros = tf.zeros((tf.shape(tokens)[0], UNITS))
        final = tf.scan(cell, inputs, initializer=tf.stack([zeros, zeros]))[-1]
        return tf.matmul(final[0], out) + out_b
    return tensorflow_loop([embed, w, u, out, b, out_b], forward, lambda logits, labels: tf.reduce_mean(
        tf.nn.sigmoid_cross_entropy_with_logits(labels, logits)), x, y, LSTM_STEPS, epochs)


WORKLOADS = {
    ("cnn", "mlfront"): mlfront_cnn, ("cnn", "keras"): keras_cnn, ("cnn", "raw", "torch"): torch_cnn,
    ("cnn", "raw", "jax"): jax_cnn, ("cnn", "raw", "tensorflow"): tensorflow_cnn,
    ("lstm", "mlfront"): mlfront_lstm, ("lstm", "keras"): keras_lstm, ("lstm", "raw", "torch"): torch_lstm,
    ("lstm", "raw", "jax"): jax_lstm, ("lstm", "raw", "tensorflow"): tensorflow_lstm,
    ("mlp", "mlfront"): mlfront_mlp, ("mlp", "keras"): keras_mlp,
    ("mlp", "raw", "torch"): torch_mlp, ("mlp", "raw", "jax"): jax_mlp, ("mlp", "raw", "tensorflow"): tensorflow_mlp,
}


def main():
    parser = argparse.ArgumentParser(description="Run one benchmark worker (see run.py).")
    parser.add_argument("--workload", default="mlp", choices=["mlp", "cnn", "lstm"])
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
