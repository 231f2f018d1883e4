"""The table of recordable variables (docs/model.md §8.1): one row per `rec_*` flag.

The recorder (`record.LAYER_VARS`), the protocol's flag list, the params reference and the params
size checks are all derived from `REC_VARIABLES`; adding a recordable variable is one row here
(plus its value in the model's `layers_of`).
"""
from typing import NamedTuple

ALL_MODELS = ("errormc", "sacramento2018", "dPC", "ann")


class RecVar(NamedTuple):
    flag: str            # params key
    variable: str        # name in layers_of / the saved `<variable>_time_series`; "" for extras
    shape: str           # "unit" (per-layer vectors), "matrix" (per-layer weights), "scalar", "extra"
    doc: str             # one line for the params reference
    models: tuple = ALL_MODELS     # the models for which the flag records something
    published_only: bool = False   # accepted for published params files, never records (PAL)


_NOT_ANN = ("errormc", "sacramento2018", "dPC")
_PAL = "PAL only; forced off otherwise."

REC_VARIABLES = (
    RecVar("rec_MSE", "", "scalar", "MSE_time_series, MSE_val_time_series, MSE_test_time_series (sum of squares)."),
    RecVar("rec_error", "", "extra", "Output error (rate or voltage minus target)."),
    RecVar("rec_input", "", "extra", "Current input x."),
    RecVar("rec_target", "", "extra", "Current target [y]."),
    RecVar("rec_WPP", "WPP", "matrix", "Forward weights WPP."),
    RecVar("rec_WIP", "WIP", "matrix", "WIP weights."),
    RecVar("rec_BPP", "BPP", "matrix", "BPP weights (not errormc).", ("sacramento2018", "dPC", "ann")),
    RecVar("rec_BII", "BII", "matrix", "BII weights (errormc).", ("errormc",)),
    RecVar("rec_BPI", "BPI", "matrix", "BPI weights."),
    RecVar("rec_dWPP", "dWPP", "matrix", "Last WPP increment."),
    RecVar("rec_dWIP", "dWIP", "matrix", "Last WIP increment."),
    RecVar("rec_dBPP", "dBPP", "matrix", "Last BPP increment."),
    RecVar("rec_dBII", "dBII", "matrix", "Last BII increment."),
    RecVar("rec_dBPI", "dBPI", "matrix", "Last BPI increment."),
    RecVar("rec_uP", "uP", "unit", "Representation/pyramidal somatic voltages uP after the update."),
    RecVar("rec_uP_breve", "uP_breve", "unit", "Lookahead voltages of uP."),
    RecVar("rec_rP_breve", "rP_breve", "unit", "Lookahead rates of the representation/pyramidal units."),
    RecVar("rec_rP_breve_HI", "", "extra", "High-passed lookahead rates (" + _PAL[:-1] + ").", (), True),
    RecVar("rec_uI", "uI", "unit", "Interneuron/error-unit somatic voltages uI after the update."),
    RecVar("rec_uI_breve", "uI_breve", "unit", "Lookahead voltages of uI."),
    RecVar("rec_rI_breve", "rI_breve", "unit", "Lookahead rates of the interneurons/error units.", _NOT_ANN),
    RecVar("rec_vbas", "vbas", "unit", "Basal dendritic potentials."),
    RecVar("rec_vapi", "vapi", "unit", "Apical dendritic potentials (before noise).", _NOT_ANN),
    RecVar("rec_vapi_noise", "", "extra", "Apical potentials with noise (" + _PAL[:-1] + ").", (), True),
    RecVar("rec_noise", "", "extra", "Apical noise (" + _PAL[:-1] + ").", (), True),
    RecVar("rec_epsilon", "", "extra", _PAL, (), True),
    RecVar("rec_epsilon_LO", "", "extra", _PAL, (), True),
    RecVar("rec_lat_mismatch", "lat_mismatch", "unit",
           "Lateral mismatch uI_breve - predicted basal voltage of the layer above.",
           ("sacramento2018", "dPC")),
)

#: flags that record something (the protocol's monitors)
REC_FLAGS = tuple(v.flag for v in REC_VARIABLES if not v.published_only)
#: flag -> variable name of a model's `layers_of`
LAYER_VARS = {v.flag: v.variable for v in REC_VARIABLES if v.shape in ("unit", "matrix")}
UNIT_FLAGS = tuple(v.flag for v in REC_VARIABLES if v.shape == "unit")
MATRIX_FLAGS = tuple(v.flag for v in REC_VARIABLES if v.shape == "matrix")


def applies(flag, model):
    """Whether `flag` records anything for `model` (the monitor forces the others off)."""
    for v in REC_VARIABLES:
        if v.flag == flag:
            return model in v.models
    raise KeyError(flag)
