"""numpy_model: batched NumPy simulator of cortical dendritic error-neuron microcircuits.

Python API (imported on first use, so ``import numpy_model`` stays cheap; see numpy_model/api.py)::

    import numpy_model as nm
    P = nm.load_params("examples/quickstart/params.json")   # validated params dict
    models = nm.simulate(P)                                   # [teacher, student_1, ...]
    nm.save(models, "model.pkl"); models = nm.load("model.pkl")
"""
__version__ = "0.1.0"

__all__ = ["__version__", "load", "load_params", "save", "simulate"]

_API = ("load", "load_params", "save", "simulate")


def __getattr__(name):
    if name in _API:
        from . import api
        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_API))
