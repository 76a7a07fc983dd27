"""`text_dataset_from_directory`: a folder of `.txt` files (one subfolder per class) as a dataset of batches."""

import numpy as np

from mlfront.utils import dataset_utils


def text_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, batch_size=32,
                                max_length=None, shuffle=True, seed=None, validation_split=None, subset=None,
                                follow_links=False, verbose=True):
    """Generates a dataset of text batches from the `.txt` files in a directory (Keras 3 semantics).

    With `labels="inferred"`, `directory` holds one subfolder per class of `.txt` files. Files are read when
    their batch is needed. Instead of a `tf.data.Dataset` of strings the result is a `BatchedDataset` whose
    texts are NumPy object arrays of Python `str` (decoded as UTF-8, undecodable bytes replaced by U+FFFD).

    Args:
        directory: the folder of the data.
        labels: `"inferred"` (from the subfolders), None (no labels) or a list/tuple of integer labels, one
            per text file in sorted path order (`os.walk` order).
        label_mode: `"int"`, `"categorical"` (one-hot float32), `"binary"` (float32 of shape (batch, 1),
            exactly 2 classes) or None (no labels).
        class_names: only with `labels="inferred"`: the subfolders to use, in label order.
        batch_size: texts per batch (default 32); None yields single texts.
        max_length: keep at most this many bytes of each file (as Keras, which counts bytes); a multi-byte
            character cut at the end is dropped.
        shuffle: shuffle the files (default True), with a new order every epoch; else alphanumeric order.
        seed: seed of the shuffling.
        validation_split: fraction (between 0 and 1) of the files reserved for validation (the last ones).
        subset: `"training"`, `"validation"` or `"both"` (returns `[training, validation]`).
        follow_links: also descend into subfolders that are symbolic links.
        verbose: print how many files and classes were found.

    Returns:
        A `BatchedDataset` of `(texts, labels)` batches (`texts` alone without labels), with `class_names`
        and `file_paths` attributes; a list of two with `subset="both"`.
    """
    where = "text_dataset_from_directory"
    labels, label_mode = dataset_utils.check_label_args(labels, label_mode, class_names, where, "text")
    if max_length is not None and (int(max_length) != max_length or max_length < 0):
        raise ValueError(f"{where}: `max_length` must be None or a non-negative integer, got {max_length!r}.")
    dataset_utils.check_validation_split_arg(validation_split, subset, shuffle, seed)
    if seed is None:
        seed = int(np.random.randint(1e6))
    paths, labels, class_names = dataset_utils.index_directory(
        directory, labels, (".txt",), class_names=class_names, shuffle=shuffle, seed=seed,
        follow_links=follow_links, verbose=verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(f"{where}: when passing `label_mode=\"binary\"`, there must be exactly 2 class_names. "
                         f"Received: class_names={class_names}")

    def read_batch(batch_paths):
        texts = np.empty(len(batch_paths), dtype=object)
        texts[:] = [read_text(p, max_length) for p in batch_paths]
        return texts

    return dataset_utils.labelled_file_datasets(
        paths, labels, read_batch, subset=subset, validation_split=validation_split, shuffle=shuffle, seed=seed,
        batch_size=batch_size, label_mode=label_mode, class_names=class_names, verbose=verbose,
        missing=lambda kind: f"{where}: no {kind}text files found in directory {directory!r}. "
                             f"Allowed format: .txt")


def read_text(path, max_length=None):
    """The text of the file at `path` (UTF-8), cut to its first `max_length` bytes."""
    with open(path, "rb") as f:
        data = f.read() if max_length is None else f.read(int(max_length))
    if max_length is not None:
        for cut in range(4):  # drop a multi-byte character left incomplete by the cut, if any
            try:
                return data[:len(data) - cut].decode("utf-8")
            except UnicodeDecodeError:
                continue
    return data.decode("utf-8", errors="replace")
