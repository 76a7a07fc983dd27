"""Every classic-workflow script in examples/ runs on the active backend and learns.

Each script runs in its own process (this interpreter, `MLFRONT_BACKEND` inherited) in quick mode
(`MLFRONT_EXAMPLES_QUICK=1`: fewer samples and epochs, the same code path) with `--out` a temporary folder.
The test checks the exit code, the accuracies the script prints (well above chance for the quick settings;
the scripts seed everything with `mlfront.utils.set_random_seed`) and the PNG plots it wrote.
examples/custom_loop.py is run by tests/test_custom_training.py.
"""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import mlfront

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NUMBER = r"([0-9]*\.[0-9]+)"

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")


def run_example(name, out_dir):
    """Runs examples/<name> in quick mode; returns its stdout (the test fails with its output if it fails)."""
    env = {**os.environ, "MLFRONT_EXAMPLES_QUICK": "1", "MPLBACKEND": "Agg"}
    # One OpenMP thread: these models are tiny, and on a busy 2-core machine PyTorch's spinning OpenMP workers
    # cost 3-7x the CPU time of a single thread.
    env.setdefault("OMP_NUM_THREADS", "1")
    result = subprocess.run([sys.executable, str(EXAMPLES / name), "--out", str(out_dir)], env=env,
                            capture_output=True, text=True, timeout=600, cwd=str(out_dir))
    assert result.returncode == 0, (f"{name} exited with {result.returncode}\n--- stdout\n{result.stdout[-4000:]}"
                                    f"\n--- stderr\n{result.stderr[-4000:]}")
    assert f"mlfront backend: {mlfront.backend()}" in result.stdout
    return result.stdout


def printed(pattern, output):
    """The floats of every line matching `pattern` (a regex with one group per number)."""
    matches = re.findall(pattern, output)
    assert matches, f"no line matching {pattern!r} in the output:\n{output[-3000:]}"
    return [tuple(float(v) for v in m) if isinstance(m, tuple) else float(m) for m in matches]


def assert_pngs(out_dir, names):
    for name in names:
        path = Path(out_dir) / name
        assert path.is_file(), f"{name} was not written; {sorted(os.listdir(out_dir))}"
        data = path.read_bytes()
        assert len(data) > 1000 and data.startswith(PNG_SIGNATURE), f"{name} is not a PNG image"


def test_mnist_mlp_and_its_variants(tmp_path):
    output = run_example("mnist_mlp.py", tmp_path)
    (accuracy,) = printed(rf"Test accuracy: {NUMBER}", output)
    assert accuracy > 0.8
    variants = dict(re.findall(rf"Variant (.+?) +test accuracy: {NUMBER}", output))
    assert set(variants) == {"SGD(lr=0.01, momentum=0.9)", "RMSprop(lr=0.001)", "Adam(lr=0.001)",
                             "Adam, no Dropout", "Adam, l2(1e-4)"}
    assert all(float(v) > 0.6 for v in variants.values()), variants
    assert "predictions identical" in output
    assert_pngs(tmp_path, ["mnist_mlp_history.png", "mnist_mlp_variants.png"])


def test_image_folder_cnn(tmp_path):
    pytest.importorskip("PIL")
    pytest.importorskip("scipy")
    output = run_example("image_folder_cnn.py", tmp_path)
    # flow_from_directory's report: train subset 80% of 40 per class, validation 20%, test 15 per class
    assert "Found 320 images belonging to 10 classes." in output
    assert "Found 80 images belonging to 10 classes." in output
    assert "Found 150 images belonging to 10 classes." in output
    (accuracy,) = printed(rf"Test accuracy: {NUMBER}", output)
    assert accuracy > 0.3  # chance: 0.1
    assert len(list((tmp_path / "digits" / "train" / "7").glob("*.png"))) == 40
    assert_pngs(tmp_path, ["image_folder_cnn_history.png", "image_folder_cnn_augmented.png"])


def test_text_classification(tmp_path):
    output = run_example("text_classification.py", tmp_path)
    assert "168 training and 42 test sentences" in output
    (lstm,) = printed(rf"lstm test accuracy: {NUMBER}", output)
    (gru,) = printed(rf"bidirectional_gru test accuracy: {NUMBER}", output)
    assert lstm > 0.6 and gru > 0.6  # chance: 1/3
    assert (tmp_path / "tokenizer.json").stat().st_size > 0
    assert_pngs(tmp_path, ["text_classification_lstm.png", "text_classification_bidirectional_gru.png"])


def test_two_input_model(tmp_path):
    output = run_example("two_inputs.py", tmp_path)
    (alone,) = printed(rf"damaged image alone: {NUMBER}", output)
    (both,) = printed(rf"image \+ side features: {NUMBER}", output)
    assert both > 0.6 and alone > 0.3
    assert_pngs(tmp_path, ["two_inputs_history.png"])


def test_subclassed_model(tmp_path):
    output = run_example("subclassed_model.py", tmp_path)
    (accuracy,) = printed(rf"Test accuracy: {NUMBER}", output)
    assert accuracy > 0.8
    assert "predictions identical" in output
    assert_pngs(tmp_path, ["subclassed_model_history.png"])


def test_generator_training(tmp_path):
    output = run_example("generator_training.py", tmp_path)
    for label in (r"fit\(generator\)", r"fit\(Sequence\)", "fit_generator"):
        (accuracy,) = printed(rf"{label} test accuracy: {NUMBER}", output)
        assert accuracy > 0.6, label
    assert_pngs(tmp_path, [f"generator_training_{name}.png" for name in ("generator", "sequence", "fit_generator")])


def test_input_pipeline_of_the_engine(tmp_path):
    output = run_example("input_pipelines.py", tmp_path)
    native = {"tensorflow": ("tensorflow", "tf.data.Dataset"), "torch": ("torch", "torch.utils.data.DataLoader")}
    module, pipeline = native.get(mlfront.backend(), (None, "mlfront.utils.PyDataset"))
    if module is not None and importlib.util.find_spec(module) is None:
        pipeline = "mlfront.utils.PyDataset"  # the script's fallback
    assert f"Input pipeline: {pipeline}\n" in output
    (accuracy,) = printed(rf"Test accuracy: {NUMBER}", output)
    assert accuracy > 0.8
    assert_pngs(tmp_path, ["input_pipelines_history.png"])


def test_transfer_learning(tmp_path):
    output = run_example("transfer_learning.py", tmp_path)
    ((frozen, scratch),) = printed(rf"frozen pretrained base {NUMBER}, from scratch {NUMBER}", output)
    (tuned,) = printed(rf"After fine-tuning the whole model: {NUMBER}", output)
    assert frozen > 0.4 and tuned > 0.4 and scratch > 0.2  # 5 classes: chance 0.2
    assert (tmp_path / "digits_base.weights.h5").is_file()
    assert_pngs(tmp_path, ["transfer_learning_history.png"])


def test_saliency(tmp_path):
    output = run_example("saliency.py", tmp_path)
    (accuracy,) = printed(rf"Test accuracy: {NUMBER}", output)
    ((salient, random),) = printed(rf"most salient {NUMBER}, random {NUMBER}", output)
    assert accuracy > 0.7
    assert salient > random
    assert_pngs(tmp_path, ["saliency.png"])
