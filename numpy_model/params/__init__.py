"""The single schema of ``params.json``: every key, its type, default, meaning and allowed values.

Public API
----------
``SCHEMA``                       ordered, read-only mapping ``key -> Key``
``ParamsError``                  ``ValueError`` whose message names the key, the bad value and what is allowed
``ParamsWarning``                category of the non-fatal warnings emitted by :func:`validate`
``load_params(path, task, warn)``  read a params.json file and :func:`validate` it
``validate(raw, task, warn)``      check a raw dict, return a NEW dict with every schema key present
``effective_rate_target(params, mc_model=None)``  the ``rate_target`` a network of that model really uses
``effective_teacher_model(params)``, ``teacher_init_range(params, name)``, ``effective_task(params, task)``
``params_reference_markdown()``  Markdown table of the schema (``python -m numpy_model.params`` prints it)

Conventions: ``L = len(layers)``; a "neuron layer" is every layer but the input, so per-layer lists have
length ``L-1``. Keys whose *presence* changes the published behaviour default to ``None`` (= absent); an
explicit JSON ``null`` for them also means "absent". Values are returned as given (a string activation stays
a string, ints stay ints); only missing keys are filled in.

Modules: ``schema`` (the key table), ``constraints`` (what one value may be), ``rules`` (the cross-key
rules; ``sizes`` those on time and sizes, ``context`` what they share), ``validation`` (:func:`validate`),
``load`` (:func:`load_params`), ``reference`` (the Markdown table), ``errors``.
"""

from .errors import ParamsError, ParamsWarning, _err, _fmt  # noqa: F401
from .load import load_params
from .reference import params_reference_markdown
from .schema import (  # noqa: F401  (re-exported: the names of the former params.py)
    ACTIVATIONS, CONNECTION_MODES, ERROR_UNIT_NOISE_KEYS, ETA_FW_CONVERSIONS, INIT_RANGE_NAMES,
    INPUT_SIGNALS, MAX_ARRAY_VALUES, MAX_REALISTIC_NEURON_LAYERS, MAX_STEPS, MC_MODELS, MODEL_TYPES,
    NOISE_MODES, NOISE_TYPES, PAL_ONLY_REC_FLAGS, RATE_TARGET_CLASS_DEFAULT, SCHEMA, SEED_MAX, TASKS, Key,
    effective_rate_target, effective_task, effective_teacher_model, teacher_init_range,
)
from .validation import validate

# Whether the simulator applies the error-unit activation noise (ERROR_UNIT_NOISE_KEYS); validate()
# reads this switch of the package at call time.
ERROR_UNIT_NOISE_SIMULATED = True

__all__ = [
    "ACTIVATIONS",
    "CONNECTION_MODES",
    "ETA_FW_CONVERSIONS",
    "INPUT_SIGNALS",
    "Key",
    "MC_MODELS",
    "MODEL_TYPES",
    "ParamsError",
    "ParamsWarning",
    "SCHEMA",
    "TASKS",
    "effective_rate_target",
    "effective_task",
    "effective_teacher_model",
    "load_params",
    "params_reference_markdown",
    "teacher_init_range",
    "validate",
]
