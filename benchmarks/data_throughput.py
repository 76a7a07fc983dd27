"""Image loading throughput: mlfront's `flow_from_directory` vs Keras 2's `ImageDataGenerator` vs Keras 3's
`image_dataset_from_directory`, and a small CNN's training epoch fed from the folder vs from arrays.

The script writes a folder of N generated 64x64 images (half JPEG, half PNG, 4 classes), then runs every
measurement in its own process, alternating over rounds, and prints medians and ratios:

- loading: images/s of one epoch of augmented batches (rotation, shifts, horizontal flip, zoom; batch 32) read
  through each framework's parallel loader with 2 worker threads (mlfront: the `PyDatasetAdapter` that `fit`
  uses; Keras 2: `OrderedEnqueuer`, what `fit(workers=2)` uses; Keras 3: `image_dataset_from_directory` with
  the same augmentations as preprocessing layers in `Dataset.map(num_parallel_calls=2)`).
- training: images/s of a training epoch of a small CNN fed from the folder (augmented, 2 workers) and from
  the same images as NumPy arrays, for mlfront (on the engine of `MLFRONT_BACKEND`) and Keras 2.

Keras 2 runs in the interpreter given by `--keras2-python` (a venv with `tf_keras`; default /tmp/kref/bin/python);
Keras 3 in the first of this interpreter and that one where `import keras` gives Keras 3. Missing ones are
reported as "not installed".

    MLFRONT_BACKEND=torch python benchmarks/data_throughput.py --images 512 --rounds 3
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

BATCH, SIZE, CLASSES, WORKERS = 32, (64, 64), 4, 2
AUGMENT = dict(rotation_range=20, width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True,
               zoom_range=0.1, rescale=1 / 255.0)


def write_folder(root, count, seed=0):
    """`count` random 64x64 RGB images, smooth enough to compress, in `CLASSES` class folders."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for i in range(count):
        folder = os.path.join(root, f"class_{i % CLASSES}")
        os.makedirs(folder, exist_ok=True)
        coarse = rng.integers(0, 256, size=(8, 8, 3)).astype("uint8")
        img = Image.fromarray(coarse, "RGB").resize(SIZE, Image.BILINEAR)
        img.save(os.path.join(folder, f"img_{i:04d}.{'jpg' if i % 2 else 'png'}"), quality=90)
    return root


# ---------------------------------------------------------------------------------------------- workers
def timed(run_epoch, images):
    run_epoch()  # warm-up: compilation, file cache, thread pools
    start = time.perf_counter()
    run_epoch()
    return images / (time.perf_counter() - start)


def loading_mlfront(folder, count):
    from mlfront.preprocessing.image import ImageDataGenerator
    from mlfront.training.data import adapt

    it = ImageDataGenerator(**AUGMENT).flow_from_directory(folder, target_size=SIZE, batch_size=BATCH, seed=0)
    it.workers = WORKERS
    adapter = adapt(it)

    def epoch():
        for _ in adapter.batches():
            pass
        adapter.on_epoch_end()
    return timed(epoch, count)


def loading_keras2(folder, count):
    from tf_keras.preprocessing.image import ImageDataGenerator
    from tf_keras.utils import OrderedEnqueuer

    it = ImageDataGenerator(**AUGMENT).flow_from_directory(folder, target_size=SIZE, batch_size=BATCH, seed=0)

    def epoch():
        enqueuer = OrderedEnqueuer(it, use_multiprocessing=False, shuffle=False)
        enqueuer.start(workers=WORKERS, max_queue_size=10)
        batches = enqueuer.get()
        for _ in range(len(it)):
            next(batches)
        enqueuer.stop()
    return timed(epoch, count)


def keras3_augmentation(keras):
    layers = keras.layers
    return keras.Sequential([layers.Rescaling(1 / 255.0), layers.RandomRotation(20 / 360),
                             layers.RandomTranslation(0.1, 0.1), layers.RandomFlip("horizontal"),
                             layers.RandomZoom(0.1)])


def loading_keras3(folder, count):
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    augment = keras3_augmentation(keras)
    ds = keras.utils.image_dataset_from_directory(folder, image_size=SIZE, batch_size=BATCH, seed=0, verbose=False)
    ds = ds.map(lambda x, y: (augment(x, training=True), y), num_parallel_calls=WORKERS).prefetch(2)

    def epoch():
        for _ in ds:
            pass
    return timed(epoch, count)


def small_cnn(lib):
    layers = lib.layers
    model = lib.Sequential([layers.Conv2D(16, 3, activation="relu", input_shape=SIZE + (3,)), layers.MaxPooling2D(),
                            layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(), layers.Flatten(),
                            layers.Dense(CLASSES, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def arrays_of(lib_image, folder):
    it = lib_image.ImageDataGenerator(rescale=1 / 255.0).flow_from_directory(folder, target_size=SIZE,
                                                                             batch_size=10**6, shuffle=False)
    return it[0]


def training(lib, lib_image, folder, count, source, fit_kwargs):
    model = small_cnn(lib)
    if source == "arrays":
        x, y = arrays_of(lib_image, folder)
        return timed(lambda: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0), count)
    it = lib_image.ImageDataGenerator(**AUGMENT).flow_from_directory(folder, target_size=SIZE, batch_size=BATCH,
                                                                     seed=0)
    return timed(lambda: model.fit(it, epochs=1, verbose=0, **fit_kwargs(it)), count)


def training_mlfront(folder, count, source):
    import mlfront
    from mlfront.preprocessing import image

    def configure(it):
        it.workers = WORKERS
        return {}
    return training(mlfront, image, folder, count, source, configure)


def training_keras2(folder, count, source):
    import tf_keras
    from tf_keras.preprocessing import image

    return training(tf_keras, image, folder, count, source, lambda it: {"workers": WORKERS})


WORKER_FUNCTIONS = {
    "loading/mlfront": lambda folder, count: loading_mlfront(folder, count),
    "loading/keras2": lambda folder, count: loading_keras2(folder, count),
    "loading/keras3": lambda folder, count: loading_keras3(folder, count),
    "training/mlfront/folder": lambda folder, count: training_mlfront(folder, count, "folder"),
    "training/mlfront/arrays": lambda folder, count: training_mlfront(folder, count, "arrays"),
    "training/keras2/folder": lambda folder, count: training_keras2(folder, count, "folder"),
    "training/keras2/arrays": lambda folder, count: training_keras2(folder, count, "arrays"),
}


# ---------------------------------------------------------------------------------------------- driver
def run_worker(python, name, folder, count):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([python, os.path.abspath(__file__), "--worker", name, "--folder", folder,
                          "--images", str(count)], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])["images_per_second"]


def has_module(python, code):
    if not python or not os.path.exists(python):
        return False
    return subprocess.run([python, "-c", code], capture_output=True).returncode == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keras2-python", default=os.environ.get("KERAS2_PYTHON", "/tmp/kref/bin/python"))
    parser.add_argument("--worker")
    parser.add_argument("--folder")
    args = parser.parse_args()
    if args.worker:
        rate = WORKER_FUNCTIONS[args.worker](args.folder, args.images)
        print(json.dumps({"images_per_second": rate}))
        return

    keras2 = args.keras2_python if has_module(args.keras2_python, "import tf_keras") else None
    keras3_check = "import keras, sys; sys.exit(int(keras.__version__.split('.')[0]) < 3)"
    keras3 = next((p for p in (sys.executable, args.keras2_python) if has_module(p, keras3_check)), None)
    pythons = {"mlfront": sys.executable, "keras2": keras2, "keras3": keras3}
    names = [n for n in WORKER_FUNCTIONS if pythons[n.split("/")[1]]]
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_folder(os.path.join(tmp, "images"), args.images)
        results = {}
        for round_index in range(args.rounds):
            for name in (names if round_index % 2 == 0 else names[::-1]):
                rate = run_worker(pythons[name.split("/")[1]], name, folder, args.images)
                results.setdefault(name, []).append(rate)
                print(f"round {round_index + 1} {name:26s} {rate:9.1f} images/s", flush=True)

    median = {name: statistics.median(rates) for name, rates in results.items()}
    engine = os.environ.get("MLFRONT_BACKEND", "torch")
    print(f"\n{args.images} images {SIZE[0]}x{SIZE[1]}, batch {BATCH}, {WORKERS} workers, medians over "
          f"{args.rounds} rounds (mlfront on {engine})")
    for impl, label in (("mlfront", "mlfront flow_from_directory"), ("keras2", "Keras 2 ImageDataGenerator"),
                        ("keras3", "Keras 3 image_dataset_from_directory")):
        rate = median.get(f"loading/{impl}")
        ratio = "" if rate is None or impl == "mlfront" else \
            f"   mlfront / this: {median['loading/mlfront'] / rate:.2f}"
        print(f"loading   {label:38s} " + ("not installed" if rate is None else f"{rate:9.1f} images/s{ratio}"))
    for impl in ("mlfront", "keras2"):
        folder_rate, arrays_rate = median.get(f"training/{impl}/folder"), median.get(f"training/{impl}/arrays")
        if folder_rate is None:
            print(f"training  {impl:38s} not installed")
            continue
        print(f"training  {impl + ' CNN epoch':38s} folder {folder_rate:8.1f} images/s, arrays {arrays_rate:8.1f} "
              f"images/s, folder / arrays {folder_rate / arrays_rate:.2f}")


if __name__ == "__main__":
    main()
