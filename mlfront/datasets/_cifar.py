"""Reading the CIFAR batch pickles (`data_batch_1`, ..., `train`, `test`), from the archive or a folder."""

import numpy as np

from mlfront.datasets import _files


def locate(archive_name, folder, origin, file_hash, cache_dir):
    """The CIFAR archive, or a folder Keras extracted it to: `archive_name` (the origin's name, as mlfront
    downloads it), Keras 2's `folder/` and `folder.tar.gz`, Keras 3's `folder-target/folder/` and
    `folder-target_archive`."""
    alternatives = (folder, f"{folder}-target/{folder}", f"{folder}.tar.gz", f"{folder}-target_archive")
    return _files.find_or_download(archive_name, origin, file_hash, cache_dir=cache_dir, alternatives=alternatives)


def load_splits(location, folder, splits, label_key, num_classes):
    """For each list of batch names in `splits`, `(images, labels)` of those batches concatenated: uint8
    (n, 32, 32, 3) and int64 (n,). The archive is read once."""
    raw = _files.read_members(location, folder, [name for names in splits for name in names])
    out = []
    for names in splits:
        batches = [parse_batch(raw[name], f"{location} ({name})", label_key, num_classes) for name in names]
        x = np.concatenate([x for x, _ in batches]).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        out.append((np.ascontiguousarray(x), np.concatenate([y for _, y in batches])))
    return out


def parse_batch(data, where, label_key, num_classes):
    """The `(data, labels)` of one pickled batch: a dict with bytes keys b"data" (uint8, n x 3072) and
    `label_key` (n ints below `num_classes`)."""
    batch = _files.restricted_loads(data, where, encoding="bytes")
    key = label_key.encode()
    if not isinstance(batch, dict) or b"data" not in batch or key not in batch:
        raise ValueError(f"{where}: expected a dict with the keys b'data' and {key!r}.")
    x = batch[b"data"]
    if not isinstance(x, np.ndarray) or x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{where}: b'data' must be a uint8 array of shape (n, 3072), got "
                         f"{getattr(x, 'dtype', type(x).__name__)} {getattr(x, 'shape', '')}.")
    try:
        y = np.asarray(batch[key], dtype=np.int64)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{where}: {key!r} must be a list of integer labels.") from None
    if y.shape != (len(x),) or (y.size and (y.min() < 0 or y.max() >= num_classes)):
        raise ValueError(f"{where}: {key!r} must hold {len(x)} labels in [0, {num_classes}), got shape {y.shape}"
                         + (f" and range [{y.min()}, {y.max()}]." if y.size else "."))
    return x, y
