"""Saved per-seed objects, model.pkl (dill) and atomic writes (docs/model.md §8.4)."""
import glob
import os
import pickle
import tempfile

import dill
import numpy as np

FORMAT_VERSION = 1


class Network:
    """One saved network (teacher or student): plain attributes and arrays only, so that a
    plain `dill.load` in a notebook works and old pickles keep loading as the code moves.

    Attribute names follow the published objects: layers, error_layers, dt, Tpres, seed,
    mc_model, rate_target, WPP, WIP, BPI, BPP or BII, uP, uI, *_time_series, MSE_*, input*,
    target*, rng, ...
    """

    def __init__(self, **attrs):
        self.format_version = FORMAT_VERSION   # stored in the pickle: readers can adapt to it
        self.__dict__.update(attrs)

    def __repr__(self):
        role = "teacher" if getattr(self, "is_teacher", False) else "student"
        return f"<Network {self.mc_model} {self.layers} seed={self.seed} ({role})>"


def atomic_write_bytes(path, data):
    """Write via a temporary file in the same directory and rename (never a half file)."""
    atomic_write(path, lambda fh: fh.write(data))


def atomic_write(path, write, before_rename=None):
    """Call write(file object) on a temporary file in the same directory, fsync it and rename it
    to `path`: a reader sees the old file or the complete new one, never a half file.
    `before_rename()` runs between the complete temporary file and the rename (checkpoints keep
    the previous one there, so that the newest is missing only between two renames)."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)      # mkstemp creates 0600; give the usual file mode
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if before_rename is not None:
            before_rename()
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def remove_stale_temps(path, older_than=None):
    """Remove the temporary files of `path` (atomic_write's `.tmp-*<name>` next to it) that a
    killed write left behind: every one, or those last modified before `older_than` (a time.time())."""
    d, name = os.path.split(os.path.abspath(path))
    for tmp in glob.glob(os.path.join(glob.escape(d), ".tmp-*" + glob.escape(name))):
        try:
            if older_than is None or os.path.getmtime(tmp) < older_than:
                os.unlink(tmp)
        except FileNotFoundError:
            pass


#: pickle protocol of model.pkl and checkpoints: 5 writes a contiguous array's buffer without an
#: extra copy (3x faster than 4 on the 10-1000-784 nets' 230 MB model.pkl); Python >= 3.8 reads it
PROTOCOL = 5


def dump(obj, fh):
    """Pickle obj into the binary file fh: the standard library's C pickler when it can (50-100x
    faster than dill's pure-Python one on the ~1e5 arrays and rows of a long run's series; the
    file is a plain pickle, which dill.load reads), dill for what only dill can pickle (the file is
    then rewritten from its start)."""
    start = fh.tell()
    try:
        pickle.dump(obj, fh, protocol=PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        fh.seek(start)
        fh.truncate()
        dill.dump(obj, fh, protocol=PROTOCOL)


def save_models(path, models):
    """model.pkl (a list of Networks, teacher first), pickled straight into the temporary file."""
    atomic_write(path, lambda fh: dump(models, fh))


def load(fh):
    """Unpickle the binary file fh (what `dump` wrote), streamed from it: pickle.load (C, fast),
    or dill.load from the start again for a file that needs dill (older versions' files)."""
    start = fh.tell()
    try:
        return pickle.load(fh)
    except Exception:  # noqa: BLE001 - e.g. a dill-only type: dill reads every pickle
        fh.seek(start)
        return dill.load(fh)


class LoadError(Exception):
    pass


def load_models(path):
    """Load a model.pkl. Pickles can run code when loaded: only load files you trust."""
    if not os.path.exists(path):
        raise LoadError(f"{path}: no such file")
    if not os.path.isfile(path):
        raise LoadError(f"{path}: not a file")
    try:
        with open(path, "rb") as fh:
            models = load(fh)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file
        raise LoadError(f"{path}: not a readable model.pkl ({type(exc).__name__}: {exc})") from exc
    if not isinstance(models, list) or not models or not all(hasattr(m, "WPP") for m in models):
        raise LoadError(f"{path}: expected a list of saved networks (teacher first), got {type(models).__name__}")
    return models


def final_state(ens, s):
    """Per-layer lists of seed s's current weights and voltages, in the published layout."""
    def lst(name):
        return [np.array(a[s]) for a in ens.layers_of(name)]
    state = {"WPP": lst("WPP"), "WIP": lst("WIP"), "BPI": lst("BPI"), "uP": lst("uP"),
             "uI": lst("uI"), "uP_breve": lst("uP_breve"), "rP_breve": lst("rP_breve")}
    if ens.kind == "errormc":
        state["BII"] = lst("BII")
    else:
        state["BPP"] = lst("BPP")
    return state
