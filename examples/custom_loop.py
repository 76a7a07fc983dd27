"""A custom training loop, written once, that runs on every engine (the Keras 3 stateless API).

    MLFRONT_BACKEND=torch python examples/custom_loop.py       # or jax, tensorflow

The step is a pure function of explicit state values: the model's weights, the optimizer's slots and the
metric's counters go in as lists of arrays and come out updated. `mlfront.jit` compiles it with the active
engine (jax.jit, tf.function; PyTorch runs it eagerly), and nothing in it names an engine:

    model.stateless_call(trainable, non_trainable, x, training=True)   -> (y_pred, non_trainable)
    mlfront.value_and_grad(fn, has_aux=True)(trainable)                -> ((loss, aux), grads)
    optimizer.stateless_apply(optimizer_values, grads, trainable)      -> (trainable, optimizer_values)
    metric.stateless_update_state(metric_values, y_true, y_pred)      -> metric_values
    metric.stateless_result(metric_values)                             -> the metric's value

Data: scikit-learn's 8x8 handwritten digits (shipped inside scikit-learn, no download).
"""

import numpy as np

import mlfront
from mlfront import layers


def load_data():
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = digits.data.astype("float32") / 16.0
    y = digits.target.astype("int32")
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    split = int(0.8 * len(x))
    return (x[:split], y[:split]), (x[split:], y[split:])


def main(epochs=15, batch_size=64):
    mlfront.utils.set_random_seed(42)
    print(f"mlfront backend: {mlfront.backend()}")
    (x_train, y_train), (x_test, y_test) = load_data()

    model = mlfront.Sequential([
        layers.Dense(64, activation="relu", input_shape=(64,)),
        layers.Dropout(0.2),
        layers.Dense(10),
    ])
    model.build((None, 64))
    optimizer = mlfront.optimizers.Adam(learning_rate=0.005)
    optimizer.build(model.trainable_variables)  # creates the slots, so optimizer.variables is complete
    loss_fn = mlfront.losses.SparseCategoricalCrossentropy(from_logits=True)
    train_accuracy = mlfront.metrics.SparseCategoricalAccuracy()
    test_accuracy = mlfront.metrics.SparseCategoricalAccuracy()

    @mlfront.jit
    def train_step(state, x, y, key):
        trainable, non_trainable, optimizer_values, metric_values = state

        def compute_loss(trainable):
            logits, new_non_trainable = model.stateless_call(trainable, non_trainable, x, training=True, seed=key)
            return loss_fn(y, logits), (logits, new_non_trainable)

        (loss, (logits, non_trainable)), grads = mlfront.value_and_grad(compute_loss, has_aux=True)(trainable)
        trainable, optimizer_values = optimizer.stateless_apply(optimizer_values, grads, trainable)
        metric_values = train_accuracy.stateless_update_state(metric_values, y, logits)
        return loss, (trainable, non_trainable, optimizer_values, metric_values)

    @mlfront.jit
    def test_step(trainable, non_trainable, metric_values, x, y):
        logits, _ = model.stateless_call(trainable, non_trainable, x, training=False)
        return test_accuracy.stateless_update_state(metric_values, y, logits)

    state = ([v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables],
             [v.value for v in optimizer.variables], [v.value for v in train_accuracy.variables])
    to_numpy = mlfront.backend.get().to_numpy
    rng = np.random.default_rng(0)
    steps = len(x_train) // batch_size  # full batches only: one compiled shape
    for epoch in range(1, epochs + 1):
        state = state[:3] + (train_accuracy.stateless_reset_state(),)
        order = rng.permutation(len(x_train))
        losses = []
        for step in range(steps):
            batch = order[step * batch_size:(step + 1) * batch_size]
            # A fresh random key per step for Dropout: made outside the compiled step, passed in as data.
            loss, state = train_step(state, x_train[batch], y_train[batch], mlfront.random.key())
            losses.append(loss)
        metric_values = test_step(state[0], state[1], test_accuracy.stateless_reset_state(), x_test, y_test)
        print(f"epoch {epoch:2d}  loss {np.mean([to_numpy(l) for l in losses]):.4f}  "
              f"accuracy {to_numpy(train_accuracy.stateless_result(state[3])):.4f}  "
              f"test accuracy {to_numpy(test_accuracy.stateless_result(metric_values)):.4f}")

    # The model's Variables never changed during the loop; write the trained values into them at the end.
    for variable, value in zip(model.trainable_variables + model.non_trainable_variables, state[0] + state[1]):
        variable.assign(value)
    predictions = model.predict(x_test, verbose=0).argmax(axis=1)
    accuracy = float(np.mean(predictions == y_test))
    print(f"test accuracy of the updated model: {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
