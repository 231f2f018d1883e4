"""The Python API (for notebooks and scripts), re-exported by ``numpy_model``::

    import numpy_model as nm
    P = nm.load_params("examples/quickstart/params.json")      # validated params dict
    models = nm.simulate(P, seeds=[1, 2])                       # [teacher, student_1, student_2]
    nm.save(models, "model.pkl")                                # what runner.py writes
    teacher, *students = nm.load("model.pkl")

``simulate`` gives the same networks (the same arrays) as ``python runner.py --params ...`` with
the same params, task and ``--compare``; only their ``provenance`` differs (time, command).
"""
import copy
import os
import sys
import warnings
from collections.abc import Mapping

__all__ = ["load", "load_params", "save", "simulate"]


def load_params(params, task="fw_only", warn=None):
    """Validated params dict (every key present, defaults filled in) from a params.json path or a
    dict. Raises ``numpy_model.params.ParamsError`` on invalid params; warnings go to ``warn``
    (default: ``warnings.warn``)."""
    from . import params as _params
    if isinstance(params, Mapping):
        return _params.validate(params, task, warn=warn)
    return _params.load_params(params, task=task, warn=warn)


def simulate(params, task="fw_only", seeds=None, compare=None, progress=None):
    """Run a params file or dict: returns the list that model.pkl holds, ``[teacher, student_1, ...]``
    (students in seed order; no teacher for tasks without one and for genMNIST).

    ``seeds`` replaces ``random_seed``; ``compare="BP"`` runs the comparison with backprop (as
    ``--compare BP``); ``progress`` is an optional callable receiving progress keywords. Seeds that
    diverge are kept (attribute ``diverged``) and reported with a ``RuntimeWarning``."""
    from . import provenance
    from .run import Diverged, simulate as _simulate
    start = provenance.now()
    P = load_params(params, task)
    if seeds is not None:
        P = load_params(dict(P, random_seed=[int(s) for s in seeds]), task)
    if P["input_signal"] == "genMNIST":
        task = "fw_only_no_teacher"
    try:
        models = _simulate(copy.deepcopy(P), task=task, compare=compare, progress=progress)
    except Diverged as exc:
        models = exc.models
        warnings.warn("; ".join(exc.messages), RuntimeWarning, stacklevel=2)
    command = f"numpy_model.simulate(task={task!r}, compare={compare!r}) in {sys.argv[0] or 'python'}"
    return provenance.attach(models, provenance.record(P, command=command, start_time=start,
                                                       end_time=provenance.now()))


def load(path):
    """The networks of a model.pkl (teacher first). Pickles can run code when loaded: only load
    files you trust (``results.npz`` holds the arrays without pickles)."""
    from .io import load_models
    return load_models(os.fspath(path))


def save(models, path):
    """Write ``models`` as model.pkl (atomically) and return the path."""
    from .io import save_models
    path = os.fspath(path)
    save_models(path, list(models))
    return path
