"""NumPy references for Embedding, Masking and the recurrent layers (Keras weight layout and semantics).

Each recurrent reference walks the sequence one step at a time, in float64, and returns
`(outputs (batch, time, units) in processing order, final states)`. A step whose mask entry is False keeps the
previous states and repeats the previous output (zeros with `zero_output_for_mask`).
"""

import numpy as np

from references.core import ACTIVATIONS


def embedding(indices, table):
    return table[np.asarray(indices)]


def masking(x, mask_value=0.0):
    """(outputs, mask): steps whose features all equal `mask_value` are masked and zeroed."""
    keep = np.any(x != mask_value, axis=-1)
    return x * keep[..., None], keep


def _run(cell, x, states, mask=None, go_backwards=False, zero_output_for_mask=False):
    x = np.asarray(x, np.float64)
    batch, steps = x.shape[:2]
    mask = np.ones((batch, steps), bool) if mask is None else np.asarray(mask, bool)
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    states = [np.asarray(s, np.float64).copy() for s in states]
    outputs = []
    for t in order:
        out, new_states = cell(x[:, t], states)
        out = out.copy()
        for b in range(batch):
            if not mask[b, t]:
                out[b] = 0.0 if zero_output_for_mask else states[0][b]
                for new, old in zip(new_states, states):
                    new[b] = old[b]
        states = new_states
        outputs.append(out)
    return np.stack(outputs, axis=1), states


def simple_rnn(x, kernel, recurrent_kernel, bias=None, initial_state=None, activation="tanh", **options):
    act = ACTIVATIONS[activation]
    units = recurrent_kernel.shape[0]
    bias = np.zeros(units) if bias is None else bias
    h0 = np.zeros((x.shape[0], units)) if initial_state is None else initial_state[0]

    def cell(x_t, states):
        h = act(x_t @ kernel + bias + states[0] @ recurrent_kernel)
        return h, [h.copy()]
    return _run(cell, x, [h0], **options)


def lstm(x, kernel, recurrent_kernel, bias=None, initial_state=None, activation="tanh",
         recurrent_activation="sigmoid", **options):
    act, rec_act = ACTIVATIONS[activation], ACTIVATIONS[recurrent_activation]
    units = recurrent_kernel.shape[0]
    bias = np.zeros(4 * units) if bias is None else bias
    w = {g: kernel[:, k * units:(k + 1) * units] for k, g in enumerate("ifco")}
    u = {g: recurrent_kernel[:, k * units:(k + 1) * units] for k, g in enumerate("ifco")}
    b = {g: bias[k * units:(k + 1) * units] for k, g in enumerate("ifco")}
    zeros = np.zeros((x.shape[0], units))
    states = [zeros, zeros] if initial_state is None else list(initial_state)

    def cell(x_t, states):
        h, c = states
        i = rec_act(x_t @ w["i"] + h @ u["i"] + b["i"])
        f = rec_act(x_t @ w["f"] + h @ u["f"] + b["f"])
        o = rec_act(x_t @ w["o"] + h @ u["o"] + b["o"])
        c = f * c + i * act(x_t @ w["c"] + h @ u["c"] + b["c"])
        h = o * act(c)
        return h, [h.copy(), c]
    return _run(cell, x, states, **options)


def gru(x, kernel, recurrent_kernel, bias=None, initial_state=None, reset_after=True, activation="tanh",
        recurrent_activation="sigmoid", **options):
    act, rec_act = ACTIVATIONS[activation], ACTIVATIONS[recurrent_activation]
    units = recurrent_kernel.shape[0]
    if bias is None:
        bias = np.zeros((2, 3 * units)) if reset_after else np.zeros(3 * units)
    b_in, b_rec = (bias[0], bias[1]) if reset_after else (bias, np.zeros(3 * units))
    blocks = {g: slice(k * units, (k + 1) * units) for k, g in enumerate("zrh")}
    w = {g: kernel[:, s] for g, s in blocks.items()}
    u = {g: recurrent_kernel[:, s] for g, s in blocks.items()}
    bi = {g: b_in[s] for g, s in blocks.items()}
    br = {g: b_rec[s] for g, s in blocks.items()}
    h0 = np.zeros((x.shape[0], units)) if initial_state is None else initial_state[0]

    def cell(x_t, states):
        h = states[0]
        z = rec_act(x_t @ w["z"] + bi["z"] + h @ u["z"] + br["z"])
        r = rec_act(x_t @ w["r"] + bi["r"] + h @ u["r"] + br["r"])
        if reset_after:
            candidate = act(x_t @ w["h"] + bi["h"] + r * (h @ u["h"] + br["h"]))
        else:
            candidate = act(x_t @ w["h"] + bi["h"] + (r * h) @ u["h"])
        h = z * h + (1 - z) * candidate
        return h, [h.copy()]
    return _run(cell, x, [h0], **options)


def merge(forward, backward, mode):
    """Bidirectional's merge of forward and (already time-aligned) backward outputs."""
    if mode == "concat":
        return np.concatenate([forward, backward], axis=-1)
    return {"sum": forward + backward, "mul": forward * backward, "ave": (forward + backward) / 2}[mode]
