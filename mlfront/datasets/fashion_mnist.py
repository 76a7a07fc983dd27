"""Fashion-MNIST: Zalando's 28x28 grayscale images of 10 kinds of clothing (the 4 gzipped IDX files)."""

from mlfront.datasets import _files

FILES = ["train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"]
SUBDIR = "fashion-mnist"


def load_data(cache_dir=None):
    """Load Fashion-MNIST: 60,000 training and 10,000 test images, labels 0-9 (T-shirt/top, Trouser, Pullover,
    Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot).

    The files are looked for in the `fashion-mnist` subfolder of the dataset cache.

    Args:
        cache_dir: Keras 2's argument: look in (and download to) `cache_dir/datasets/fashion-mnist` only.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 arrays of shapes (60000, 28, 28), (60000,),
        (10000, 28, 28) and (10000,).
    """
    paths = [_files.find_or_download(name, _files.KERAS_ORIGIN + name, subdir=SUBDIR, cache_dir=cache_dir)
             for name in FILES]
    y_train, x_train = _files.read_idx(paths[0], 1), _files.read_idx(paths[1], 3)
    y_test, x_test = _files.read_idx(paths[2], 1), _files.read_idx(paths[3], 3)
    for labels_path, images_path, x, y in ((paths[0], paths[1], x_train, y_train),
                                           (paths[2], paths[3], x_test, y_test)):
        if len(x) != len(y):
            raise ValueError(f"{images_path} holds {len(x)} images but {labels_path} holds {len(y)} labels.")
    return (x_train, y_train), (x_test, y_test)
