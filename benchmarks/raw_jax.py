"""Hand-written JAX baselines of the benchmark workloads: params as pytrees, one `jax.jit(step,
donate_argnums=...)` training step with optax Adam (a hand-written pytree Adam with the same formula where optax is
not installed), `lax.scan` for the LSTM, a jitted forward for predict.

Variants: "sliced" puts the training set on the device once (`jax.device_put`), permutes it once per epoch and the
jitted step slices its batch in place (`lax.dynamic_slice_in_dim`); "shuffled" gathers each batch in NumPy and hands
it to the jitted step (the usual host input pipeline).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

from workloads import (CLASSES, EMBED, FEATURES, HIDDEN, RES_BLOCKS, RES_IMAGE, RES_STEM, TR_FF, TR_HEADS, TR_KEY_DIM,
                       TR_WIDTH, UNITS, VOCAB)

try:
    import optax
except ImportError:  # optax is not a dependency of mlfront; the hand Adam below is the same update
    optax = None

VARIANTS = {w: ("sliced", "shuffled") for w in ("mlp", "cnn", "lstm", "resnet", "transformer")}
BN_MOMENTUM, BN_EPS, LN_EPS = 0.99, 1e-3, 1e-3


def on_gpu():
    return jax.default_backend() == "gpu"


def device_name():
    return str(jax.devices()[0])


def optimizer_name():
    return "optax.adam" if optax is not None else "hand adam"


class HandAdam:
    """Adam (Kingma & Ba) over a pytree: the optax.adam interface (init / update returning updates)."""

    def __init__(self, learning_rate, b1=0.9, b2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps = learning_rate, b1, b2, eps

    def init(self, params):
        zeros = jax.tree.map(jnp.zeros_like, params)
        return {"m": zeros, "v": jax.tree.map(jnp.zeros_like, params), "t": jnp.zeros((), jnp.int32)}

    def update(self, grads, state, params=None):
        t = state["t"] + 1
        m = jax.tree.map(lambda m, g: self.b1 * m + (1 - self.b1) * g, state["m"], grads)
        v = jax.tree.map(lambda v, g: self.b2 * v + (1 - self.b2) * g * g, state["v"], grads)
        m_hat_scale, v_hat_scale = 1 / (1 - self.b1 ** t), 1 / (1 - self.b2 ** t)
        updates = jax.tree.map(lambda m, v: -self.lr * m * m_hat_scale / (jnp.sqrt(v * v_hat_scale) + self.eps), m, v)
        return updates, {"m": m, "v": v, "t": t}


def adam(learning_rate):
    return optax.adam(learning_rate) if optax is not None else HandAdam(learning_rate)


def apply_updates(params, updates):
    return jax.tree.map(lambda p, u: p + u, params, updates)


# ---------------------------------------------------------------------------------------------- layers
class Init:
    """Glorot-uniform kernels and zero biases from one NumPy generator."""

    def __init__(self, seed=0):
        self.rng = np.random.default_rng(seed)

    def kernel(self, shape, fan_in, fan_out):
        limit = math.sqrt(6 / (fan_in + fan_out))
        return jnp.asarray(self.rng.uniform(-limit, limit, size=shape).astype("float32"))

    def dense(self, n_in, n_out):
        return {"w": self.kernel((n_in, n_out), n_in, n_out), "b": jnp.zeros(n_out)}

    def conv(self, size, c_in, c_out):
        return self.kernel((size, size, c_in, c_out), size * size * c_in, size * size * c_out)

    def embedding(self, vocab, width):
        return jnp.asarray(self.rng.uniform(-0.05, 0.05, size=(vocab, width)).astype("float32"))


def dense(p, x):
    return x @ p["w"] + p["b"]


def conv(w, x, stride=1, padding="SAME"):
    return jax.lax.conv_general_dilated(x, w, (stride, stride), padding, dimension_numbers=("NHWC", "HWIO", "NHWC"))


def batch_norm(p, stats, x, train):
    """BatchNorm over N, H, W: batch statistics (and updated moving ones) in training, moving ones otherwise."""
    if train:
        mean, var = jnp.mean(x, axis=(0, 1, 2)), jnp.var(x, axis=(0, 1, 2))
        stats = {"mean": BN_MOMENTUM * stats["mean"] + (1 - BN_MOMENTUM) * mean,
                 "var": BN_MOMENTUM * stats["var"] + (1 - BN_MOMENTUM) * var}
    else:
        mean, var = stats["mean"], stats["var"]
    scale = jax.lax.rsqrt(var + BN_EPS) * p["gamma"]  # x * scale + shift: what XLA fuses best on CPU
    return x * scale + (p["beta"] - mean * scale), stats


def layer_norm(p, x):
    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(x - mean), axis=-1, keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + LN_EPS) * p["gamma"] + p["beta"]


def attention(p, x):
    """Self-attention with TR_HEADS heads of TR_KEY_DIM: fused q/k/v projection, jax.nn.dot_product_attention."""
    b, t, _ = x.shape
    q, k, v = jnp.split((x @ p["qkv"]["w"] + p["qkv"]["b"]).reshape(b, t, 3 * TR_HEADS, TR_KEY_DIM), 3, axis=2)
    return dense(p["out"], jax.nn.dot_product_attention(q, k, v).reshape(b, t, TR_HEADS * TR_KEY_DIM))


# ---------------------------------------------------------------------------------------------- models
def init_model(workload, weights=None):
    """(params, state, forward) where forward(params, state, x, train) -> (logits, new state)."""
    init = Init()
    if workload == "mlp":
        if weights is not None:
            params = [{"w": jnp.asarray(k), "b": jnp.asarray(b)} for k, b in zip(weights[::2], weights[1::2])]
        else:
            params = [init.dense(FEATURES, HIDDEN), init.dense(HIDDEN, HIDDEN), init.dense(HIDDEN, CLASSES)]

        def forward(p, state, x, train):
            for layer in p[:-1]:
                x = jax.nn.relu(dense(layer, x))
            return dense(p[-1], x), state
        return params, {}, forward
    if weights is not None:
        raise ValueError(f"weights: only supported for the mlp workload, got workload {workload!r}")
    if workload == "cnn":
        params = {"conv": {"w": init.conv(3, 1, 32), "b": jnp.zeros(32)}, "out": init.dense(13 * 13 * 32, CLASSES)}

        def forward(p, state, x, train):
            h = jax.nn.relu(conv(p["conv"]["w"], x, padding="VALID") + p["conv"]["b"])
            h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
            return dense(p["out"], h.reshape(h.shape[0], -1)), state
        return params, {}, forward
    if workload == "lstm":
        params = {"embed": init.embedding(VOCAB, EMBED), "w": init.kernel((EMBED, 4 * UNITS), EMBED, 4 * UNITS),
                  "u": init.kernel((UNITS, 4 * UNITS), UNITS, 4 * UNITS), "b": jnp.zeros(4 * UNITS),
                  "out": init.dense(UNITS, 1)}

        def forward(p, state, tokens, train):
            inputs = jnp.swapaxes(p["embed"][tokens] @ p["w"] + p["b"], 0, 1)  # input projection for all steps

            def cell(carry, z_x):
                h, c = carry
                i, f, g, o = jnp.split(z_x + h @ p["u"], 4, axis=-1)
                c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
                return (jax.nn.sigmoid(o) * jnp.tanh(c), c), None
            zeros = jnp.zeros((tokens.shape[0], UNITS), inputs.dtype)
            (h, _), _ = jax.lax.scan(cell, (zeros, zeros), inputs)
            return dense(p["out"], h), state
        return params, {}, forward
    if workload == "resnet":
        return _init_resnet(init)
    if workload == "transformer":
        params = {"embed": init.embedding(VOCAB, TR_WIDTH), "qkv": init.dense(TR_WIDTH, 3 * TR_HEADS * TR_KEY_DIM),
                  "out": init.dense(TR_HEADS * TR_KEY_DIM, TR_WIDTH), "ff1": init.dense(TR_WIDTH, TR_FF),
                  "ff2": init.dense(TR_FF, TR_WIDTH), "head": init.dense(TR_WIDTH, CLASSES),
                  "ln1": {"gamma": jnp.ones(TR_WIDTH), "beta": jnp.zeros(TR_WIDTH)},
                  "ln2": {"gamma": jnp.ones(TR_WIDTH), "beta": jnp.zeros(TR_WIDTH)}}

        def forward(p, state, tokens, train):
            h = p["embed"][tokens]
            h = layer_norm(p["ln1"], h + attention(p, h))
            h = layer_norm(p["ln2"], h + dense(p["ff2"], jax.nn.relu(dense(p["ff1"], h))))
            return dense(p["head"], jnp.mean(h, axis=1)), state
        return params, {}, forward
    raise ValueError(f"workload: unknown {workload!r}")


def _init_resnet(init):
    def bn_pair(width):
        return {"gamma": jnp.ones(width), "beta": jnp.zeros(width)}, {"mean": jnp.zeros(width), "var": jnp.ones(width)}

    params, state = {"stem": init.conv(3, RES_IMAGE[-1], RES_STEM), "blocks": []}, {"blocks": []}
    params["stem_bn"], state["stem_bn"] = bn_pair(RES_STEM)
    width_in = RES_STEM
    for width, stride in RES_BLOCKS:
        p, s = {"conv1": init.conv(3, width_in, width), "conv2": init.conv(3, width, width)}, {}
        p["bn1"], s["bn1"] = bn_pair(width)
        p["bn2"], s["bn2"] = bn_pair(width)
        if stride != 1 or width != width_in:
            p["proj"] = init.conv(1, width_in, width)
            p["proj_bn"], s["proj_bn"] = bn_pair(width)
        params["blocks"].append(p)
        state["blocks"].append(s)
        width_in = width
    params["head"] = init.dense(width_in, CLASSES)
    strides = [stride for _, stride in RES_BLOCKS]

    def forward(p, state, x, train):
        new = {"blocks": []}
        h, new["stem_bn"] = batch_norm(p["stem_bn"], state["stem_bn"], conv(p["stem"], x), train)
        h = jax.nn.relu(h)
        for bp, bs, stride in zip(p["blocks"], state["blocks"], strides):
            ns = {}
            r, ns["bn1"] = batch_norm(bp["bn1"], bs["bn1"], conv(bp["conv1"], h, stride), train)
            r, ns["bn2"] = batch_norm(bp["bn2"], bs["bn2"], conv(bp["conv2"], jax.nn.relu(r)), train)
            skip = h
            if "proj" in bp:
                skip, ns["proj_bn"] = batch_norm(bp["proj_bn"], bs["proj_bn"], conv(bp["proj"], h, stride), train)
            h = jax.nn.relu(r + skip)
            new["blocks"].append(ns)
        return dense(p["head"], jnp.mean(h, axis=(1, 2))), new
    return params, state, forward


def loss_for(workload):
    def sparse_ce(logits, labels):
        return jnp.mean(jax.nn.logsumexp(logits, axis=-1) - jnp.take_along_axis(logits, labels[:, None], -1)[:, 0])

    def binary_ce(logits, targets):  # log(1 + e^z) - y z, stable
        return jnp.mean(jnp.maximum(logits, 0) - logits * targets + jnp.log1p(jnp.exp(-jnp.abs(logits))))
    return binary_ce if workload == "lstm" else sparse_ce


class Run:
    """One variant of the hand loop on one workload: `first_step()`, `epoch()`, `predict(x)`, `loss(x, y)`."""

    def __init__(self, workload, variant, cfg, x, y, weights=None):
        if variant not in VARIANTS[workload]:
            raise ValueError(f"variant: expected one of {VARIANTS[workload]} for {workload}, got {variant!r}")
        self.batch, self.steps, self.sliced = cfg["batch"], cfg["steps"], variant == "sliced"
        self.params, self.state, forward = init_model(workload, weights)
        loss_fn, opt = loss_for(workload), adam(1e-3)
        self.opt_state = opt.init(self.params)
        batch = self.batch

        def train_step(params, opt_state, state, xb, yb):
            def objective(p):
                logits, new_state = forward(p, state, xb, True)
                return loss_fn(logits, yb), new_state
            (loss, new_state), grads = jax.value_and_grad(objective, has_aux=True)(params)
            updates, opt_state = opt.update(grads, opt_state, params)
            return apply_updates(params, updates), opt_state, new_state, loss

        def sliced_step(params, opt_state, state, X, Y, start):
            xb = jax.lax.dynamic_slice_in_dim(X, start, batch)
            yb = jax.lax.dynamic_slice_in_dim(Y, start, batch)
            return train_step(params, opt_state, state, xb, yb)

        self._train_step = jax.jit(train_step, donate_argnums=(0, 1, 2))
        self._sliced_step = jax.jit(sliced_step, donate_argnums=(0, 1, 2))
        self._loss = jax.jit(lambda p, s, xb, yb: loss_fn(forward(p, s, xb, True)[0], yb))
        self._forward = jax.jit(lambda p, s, xb: forward(p, s, xb, False)[0])
        self.x, self.y = x, y
        if self.sliced:
            self.X, self.Y = jax.device_put(x), jax.device_put(y)
        self.rng = np.random.default_rng(0)

    def _run(self, step, *args):
        self.params, self.opt_state, self.state, loss = step(self.params, self.opt_state, self.state, *args)
        return loss

    def first_step(self):
        if self.sliced:
            self._run(self._sliced_step, self.X, self.Y, 0)
        else:
            self._run(self._train_step, self.x[:self.batch], self.y[:self.batch])
        jax.block_until_ready(self.params)

    def epoch(self):
        n, b = self.steps * self.batch, self.batch
        if self.sliced:
            perm = jax.device_put(self.rng.permutation(n))
            X, Y = self.X[perm], self.Y[perm]
            for i in range(0, n, b):
                self._run(self._sliced_step, X, Y, i)
        else:
            perm = self.rng.permutation(n)
            for i in range(0, n, b):
                index = perm[i:i + b]
                self._run(self._train_step, self.x[index], self.y[index])
        jax.block_until_ready(self.params)

    def predict(self, x):
        """Jitted inference forward on NumPy inputs, host transfers included, returns NumPy logits."""
        return np.asarray(self._forward(self.params, self.state, jax.device_put(x)))

    def predict_batched(self, x, batch):
        return np.concatenate([self.predict(x[i:i + batch]) for i in range(0, len(x), batch)])

    def loss(self, x, y):
        """Training-mode loss on one batch, no update."""
        return float(self._loss(self.params, self.state, x, y))

    def train_on_batch(self, x, y):
        """One optimizer step on one batch; returns its loss (before the update)."""
        return float(self._run(self._train_step, np.asarray(x), np.asarray(y)))
