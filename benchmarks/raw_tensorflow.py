"""Hand-written TensorFlow baselines of the benchmark workloads, tf.keras-free: tf.Variables, a GradientTape step in
a `tf.function` and Adam written out as its formula.

Variants: "plain" (graph mode) and "xla" (`jit_compile=True`). Both keep the training set on the device, permute it
once per epoch with one `tf.gather`, and the compiled step slices its batch in place (a start index as a tensor, so
one trace serves every step); predict is a `tf.function` forward of the same kind.
"""

import math

import numpy as np
import tensorflow as tf

from workloads import (CLASSES, EMBED, FEATURES, HIDDEN, RES_BLOCKS, RES_IMAGE, RES_STEM, TR_FF, TR_HEADS, TR_KEY_DIM,
                       TR_WIDTH, UNITS, VOCAB)

VARIANTS = {w: ("plain", "xla") for w in ("mlp", "cnn", "lstm", "resnet", "transformer")}
BN_MOMENTUM, BN_EPS, LN_EPS = 0.99, 1e-3, 1e-3


def on_gpu():
    return bool(tf.config.list_physical_devices("GPU"))


def device_name():
    return "GPU:0" if on_gpu() else "CPU:0"


class Init:
    """Glorot-uniform kernels, zero biases, as tf.Variables, from one NumPy generator."""

    def __init__(self, seed=0):
        self.rng = np.random.default_rng(seed)
        self.trainable = []

    def var(self, value, trainable=True):
        v = tf.Variable(np.asarray(value, dtype="float32"), trainable=trainable)
        if trainable:
            self.trainable.append(v)
        return v

    def kernel(self, shape, fan_in, fan_out):
        limit = math.sqrt(6 / (fan_in + fan_out))
        return self.var(self.rng.uniform(-limit, limit, size=shape))

    def dense(self, n_in, n_out):
        return self.kernel((n_in, n_out), n_in, n_out), self.var(np.zeros(n_out))

    def conv(self, size, c_in, c_out):
        return self.kernel((size, size, c_in, c_out), size * size * c_in, size * size * c_out)

    def embedding(self, vocab, width):
        return self.var(self.rng.uniform(-0.05, 0.05, size=(vocab, width)))

    def norm(self, width):
        return self.var(np.ones(width)), self.var(np.zeros(width))


def dense(p, x):
    return tf.matmul(x, p[0]) + p[1] if len(x.shape) == 2 else tf.tensordot(x, p[0], 1) + p[1]


class BatchNorm:
    def __init__(self, init, width):
        self.gamma, self.beta = init.norm(width)
        self.mean, self.var = init.var(np.zeros(width), False), init.var(np.ones(width), False)

    def __call__(self, x, train):
        if train:
            mean, var = tf.nn.moments(x, axes=[0, 1, 2])
            self.mean.assign(BN_MOMENTUM * self.mean + (1 - BN_MOMENTUM) * mean)
            self.var.assign(BN_MOMENTUM * self.var + (1 - BN_MOMENTUM) * var)
        else:
            mean, var = self.mean, self.var
        return tf.nn.batch_normalization(x, mean, var, self.beta, self.gamma, BN_EPS)


def layer_norm(p, x):
    mean, var = tf.nn.moments(x, axes=[-1], keepdims=True)
    return (x - mean) * tf.math.rsqrt(var + LN_EPS) * p[0] + p[1]


def build(workload, weights=None):
    """(trainable variables, forward(x, train) -> logits)."""
    init = Init()
    if workload == "mlp":
        if weights is not None:
            layers = [(init.var(k), init.var(b)) for k, b in zip(weights[::2], weights[1::2])]
        else:
            layers = [init.dense(FEATURES, HIDDEN), init.dense(HIDDEN, HIDDEN), init.dense(HIDDEN, CLASSES)]

        def forward(x, train):
            for layer in layers[:-1]:
                x = tf.nn.relu(dense(layer, x))
            return dense(layers[-1], x)
        return init.trainable, forward
    if weights is not None:
        raise ValueError(f"weights: only supported for the mlp workload, got workload {workload!r}")
    if workload == "cnn":
        kernel, bias, out = init.conv(3, 1, 32), init.var(np.zeros(32)), init.dense(13 * 13 * 32, CLASSES)

        def forward(x, train):
            h = tf.nn.max_pool2d(tf.nn.relu(tf.nn.conv2d(x, kernel, 1, "VALID") + bias), 2, 2, "VALID")
            return dense(out, tf.reshape(h, (-1, 13 * 13 * 32)))
        return init.trainable, forward
    if workload == "lstm":
        embed, w = init.embedding(VOCAB, EMBED), init.kernel((EMBED, 4 * UNITS), EMBED, 4 * UNITS)
        u, b, out = init.kernel((UNITS, 4 * UNITS), UNITS, 4 * UNITS), init.var(np.zeros(4 * UNITS)), \
            init.dense(UNITS, 1)

        def forward(tokens, train):
            inputs = tf.transpose(tf.tensordot(tf.gather(embed, tokens), w, 1) + b, (1, 0, 2))

            def cell(carry, z_x):
                h, c = carry
                i, f, g, o = tf.split(z_x + tf.matmul(h, u), 4, axis=-1)
                c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
                return tf.sigmoid(o) * tf.tanh(c), c
            zeros = tf.zeros((tf.shape(tokens)[0], UNITS))
            hs, _ = tf.scan(cell, inputs, initializer=(zeros, zeros))
            return dense(out, hs[-1])
        return init.trainable, forward
    if workload == "resnet":
        return _build_resnet(init)
    if workload == "transformer":
        embed, qkv = init.embedding(VOCAB, TR_WIDTH), init.dense(TR_WIDTH, 3 * TR_HEADS * TR_KEY_DIM)
        proj, ff1, ff2 = init.dense(TR_HEADS * TR_KEY_DIM, TR_WIDTH), init.dense(TR_WIDTH, TR_FF), \
            init.dense(TR_FF, TR_WIDTH)
        ln1, ln2, head = init.norm(TR_WIDTH), init.norm(TR_WIDTH), init.dense(TR_WIDTH, CLASSES)

        def attention(x):
            t = x.shape[1]
            q, k, v = tf.split(tf.reshape(dense(qkv, x), (-1, t, 3 * TR_HEADS, TR_KEY_DIM)), 3, axis=2)
            weights = tf.nn.softmax(tf.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(TR_KEY_DIM), axis=-1)
            return dense(proj, tf.reshape(tf.einsum("bhqk,bkhd->bqhd", weights, v), (-1, t, TR_HEADS * TR_KEY_DIM)))

        def forward(tokens, train):
            h = tf.gather(embed, tokens)
            h = layer_norm(ln1, h + attention(h))
            h = layer_norm(ln2, h + dense(ff2, tf.nn.relu(dense(ff1, h))))
            return dense(head, tf.reduce_mean(h, axis=1))
        return init.trainable, forward
    raise ValueError(f"workload: unknown {workload!r}")


def _build_resnet(init):
    stem, stem_bn, blocks, width_in = init.conv(3, RES_IMAGE[-1], RES_STEM), BatchNorm(init, RES_STEM), [], RES_STEM
    for width, stride in RES_BLOCKS:
        block = {"conv1": init.conv(3, width_in, width), "bn1": BatchNorm(init, width),
                 "conv2": init.conv(3, width, width), "bn2": BatchNorm(init, width), "stride": stride}
        if stride != 1 or width != width_in:
            block["proj"], block["proj_bn"] = init.conv(1, width_in, width), BatchNorm(init, width)
        blocks.append(block)
        width_in = width
    head = init.dense(width_in, CLASSES)

    def forward(x, train):
        h = tf.nn.relu(stem_bn(tf.nn.conv2d(x, stem, 1, "SAME"), train))
        for blk in blocks:
            r = tf.nn.relu(blk["bn1"](tf.nn.conv2d(h, blk["conv1"], blk["stride"], "SAME"), train))
            r = blk["bn2"](tf.nn.conv2d(r, blk["conv2"], 1, "SAME"), train)
            skip = blk["proj_bn"](tf.nn.conv2d(h, blk["proj"], blk["stride"], "SAME"), train) if "proj" in blk else h
            h = tf.nn.relu(r + skip)
        return dense(head, tf.reduce_mean(h, axis=(1, 2)))
    return init.trainable, forward


def loss_for(workload):
    if workload == "lstm":
        return lambda logits, y: tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(y, logits))
    return lambda logits, y: tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))


class Run:
    """One variant of the hand loop on one workload: `first_step()`, `epoch()`, `predict(x)`, `loss(x, y)`."""

    def __init__(self, workload, variant, cfg, x, y, weights=None, learning_rate=1e-3):
        if variant not in VARIANTS[workload]:
            raise ValueError(f"variant: expected one of {VARIANTS[workload]} for {workload}, got {variant!r}")
        self.batch, self.steps = cfg["batch"], cfg["steps"]
        xla = variant == "xla"
        variables, forward = build(workload, weights)
        loss_fn = loss_for(workload)
        moments = [(tf.Variable(tf.zeros_like(v)), tf.Variable(tf.zeros_like(v))) for v in variables]
        t = tf.Variable(0.0)
        batch, x_shape, y_shape = self.batch, list(x.shape[1:]), list(y.shape[1:])

        def train_step(xb, yb):
            with tf.GradientTape() as tape:
                loss = loss_fn(forward(xb, True), yb)
            grads = tape.gradient(loss, variables)
            t.assign_add(1.0)
            rate = learning_rate * tf.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
            for v, g, (m, s) in zip(variables, grads, moments):
                g = tf.convert_to_tensor(g)  # embeddings give IndexedSlices
                m.assign_add((g - m) * 0.1)
                s.assign_add((tf.square(g) - s) * 0.001)
                v.assign_sub(rate * m / (tf.sqrt(s) + 1e-7))
            return loss

        def sliced_step(X, Y, start):
            xb = tf.slice(X, tf.concat([[start], tf.zeros(len(x_shape), tf.int32)], 0), [batch] + x_shape)
            yb = tf.slice(Y, tf.concat([[start], tf.zeros(len(y_shape), tf.int32)], 0), [batch] + y_shape)
            return train_step(xb, yb)

        self._train_step = tf.function(train_step, jit_compile=xla)
        self._sliced_step = tf.function(sliced_step, jit_compile=xla)
        self._forward = tf.function(lambda xb: forward(xb, False), jit_compile=xla)
        self._loss = tf.function(lambda xb, yb: loss_fn(forward(xb, False), yb))  # no BN update: see loss()
        self.X, self.Y = tf.identity(tf.constant(x)), tf.identity(tf.constant(y))

    def first_step(self):
        self._sliced_step(self.X, self.Y, tf.constant(0)).numpy()

    def epoch(self):
        n, b = self.steps * self.batch, self.batch
        perm = tf.random.shuffle(tf.range(n))
        X, Y = tf.gather(self.X, perm), tf.gather(self.Y, perm)
        loss = None
        for i in range(0, n, b):
            loss = self._sliced_step(X, Y, tf.constant(i))
        loss.numpy()  # wait for the last step

    def predict(self, x):
        """Compiled inference forward on NumPy inputs, host transfers included, returns NumPy logits."""
        return self._forward(tf.constant(x)).numpy()

    def predict_batched(self, x, batch):
        return np.concatenate([self.predict(x[i:i + batch]) for i in range(0, len(x), batch)])

    def loss(self, x, y):
        """Loss on one batch, no update (the MLP has no train/inference difference)."""
        return float(self._loss(tf.constant(x), tf.constant(y)))

    def train_on_batch(self, x, y):
        """One optimizer step on one batch; returns its loss (before the update)."""
        return float(self._train_step(tf.constant(x), tf.constant(y)))
