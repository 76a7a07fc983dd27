"""The cost of the input checks of fit (`mlfront.training.data_checks`): one epoch of an MLP on 60k x 784
arrays (and the same batches from a generator) with the checks on and off, on the engine of `MLFRONT_BACKEND`.

Two measures, because the difference of two epoch times is within their noise on a shared machine:
- the epoch-time ratio checked / unchecked (the fastest of alternating rounds);
- the time spent in the checks themselves (the up-front array checks, and the per-batch check of the streamed
  batches, timed on the same data), as a fraction of the checked epoch. This one must stay under 2%.

    MLFRONT_BACKEND=torch python benchmarks/validation_overhead.py --rounds 5
"""

import argparse
import statistics
import time

import numpy as np

SAMPLES, FEATURES, CLASSES, BATCH = 60_000, 784, 10, 128


def make_data(samples, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((samples, FEATURES), dtype=np.float32)
    y = rng.integers(0, CLASSES, samples)
    return x, y


def make_model():
    import mlfront
    from mlfront import layers

    model = mlfront.Sequential([layers.Input((FEATURES,)), layers.Dense(128, activation="relu"),
                                layers.Dense(CLASSES, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def batches(x, y):
    while True:
        for start in range(0, len(x), BATCH):
            yield x[start:start + BATCH], y[start:start + BATCH]


def epoch_seconds(model, x, y, streamed, checked):
    from mlfront.training import data_checks

    previous = data_checks.set_enabled(checked)
    try:
        start = time.perf_counter()
        if streamed:
            model.fit(batches(x, y), steps_per_epoch=-(-len(x) // BATCH), epochs=1, verbose=0)
        else:
            model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=True, verbose=0)
        return time.perf_counter() - start
    finally:
        data_checks.set_enabled(previous)


def check_seconds(model, x, y, streamed, repeats=5):
    """The time of the checks alone on one epoch's data (median of `repeats`)."""
    from mlfront.training import data as _data
    from mlfront.training import data_checks

    times = []
    for _ in range(repeats):
        if streamed:
            adapter = _data.adapt(batches(x, y), steps=-(-len(x) // BATCH))
            data_checks.check_adapter(model, adapter, "fit")
            check = adapter.check_batch
            pairs = [(_data.to_numpy_input(xb), _data.to_numpy_input(yb)) for xb, yb in
                     (next(adapter.iterator) for _ in range(adapter.steps))]
            start = time.perf_counter()
            for xb, yb in pairs:
                check(xb, yb, None)
        else:
            adapter = _data.adapt(x, y, batch_size=BATCH)
            start = time.perf_counter()
            data_checks.check_inputs(model, x, "fit")
            data_checks.check_adapter(model, adapter, "fit")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of checked / unchecked epochs")
    parser.add_argument("--samples", type=int, default=SAMPLES)
    args = parser.parse_args()

    import mlfront

    x, y = make_data(args.samples)
    print(f"engine: {mlfront.backend()}; MLP {FEATURES}-128-{CLASSES}, {args.samples} samples, batch {BATCH}")
    for streamed in (False, True):
        kind = "generator" if streamed else "arrays"
        model = make_model()
        epoch_seconds(model, x, y, streamed, True)  # warm-up: compilation
        timings = {True: [], False: []}
        for round_ in range(args.rounds):
            for checked in ((True, False) if round_ % 2 == 0 else (False, True)):
                timings[checked].append(epoch_seconds(model, x, y, streamed, checked))
        # the fastest epoch of each: interference from other processes only ever adds time
        on, off = min(timings[True]), min(timings[False])
        cost = check_seconds(model, x, y, streamed)
        print(f"{kind:9s}: epoch {on:.3f} s checked, {off:.3f} s unchecked (ratio {on / off:.3f}); "
              f"the checks take {cost * 1e3:.2f} ms = {100 * cost / on:.2f}% of the epoch")


if __name__ == "__main__":
    main()
