"""Per-network initial state drawn in the published random-number order (§5.1-5.8).

`draw_network` returns plain per-layer lists (the published object's layout) for one network;
`numpy_model.ensemble` stacks many of them into block arrays with a leading seed axis.
"""
from dataclasses import dataclass, field

import numpy as np

from .connectivity import convert_eta_fw, realistic_generator, skip_generator
from ..models import interneuron_sizes


@dataclass
class NetInit:
    """One network's initial state as per-layer lists (0-based layer list index k)."""
    kind: str
    seed: int
    layers: list
    error_layers: list
    model_type: str
    fw_mode: str
    bw_mode: str
    uP: list
    uI: list
    WPP: list            # layered: per-layer blocks; skip: [full N x N] (post, pre)
    WIP: list
    BPI: list
    BPP: list = None     # sacramento2018 / dPC / ann
    BII: list = None     # errormc: layered list or [full E x E]
    N_B: list = None     # fixed BP noise (N_BPP per layer, or N_BII list / [E x E])
    activation: list = None
    error_activation: list = None
    slope: list = None   # per layer: scalar or per-neuron vector
    offset: list = None
    error_slope: list = None   # errormc error units: the base lists, never noisy
    error_offset: list = None
    eta_fw: object = None
    rng: np.random.RandomState = None
    teacher: bool = False
    extra: dict = field(default_factory=dict)


def _as_list(value, n):
    return list(value) if isinstance(value, (list, tuple)) else [value] * n


@dataclass
class _Shape:
    """What one network's draws depend on: sizes, connection modes and the range lookup."""
    kind: str
    layers: list
    error_layers: list
    m: list                  # sizes of the second population
    fw_mode: str
    bw_mode: str
    realistic: bool
    teacher: bool
    cartpole_teacher: bool

    @classmethod
    def of(cls, kind, P, teacher, cartpole_teacher):
        layers = list(P["teacher_layers"] if teacher and P.get("teacher_layers") else P["layers"])
        if teacher and P.get("teacher_error_layers"):
            error_layers = list(P["teacher_error_layers"])
        elif teacher and P.get("teacher_layers"):
            error_layers = [0] + layers[1:]
        else:
            error_layers = list(P["error_layers"])
        if cartpole_teacher:
            layers, error_layers = [4, 4, 1], [0, 4, 1]
        modes = (P["fw_connection_mode"], P["bw_connection_mode"]) if kind == "errormc" else ("layered",) * 2
        m = [1] if cartpole_teacher and kind in ("sacramento2018", "dPC") else \
            interneuron_sizes(kind, layers, error_layers)
        return cls(kind, layers, error_layers, m, *modes,
                   kind == "errormc" and P["init_realistic_connectivity"], teacher, cartpole_teacher)

    def range(self, P, name):
        if self.teacher and P.get(f"init_teacher_{name}_range") is not None:
            return P[f"init_teacher_{name}_range"]
        return P[f"init_{name}_range"]


def draw_network(kind, params, seed, teacher=False, cartpole_teacher=False):
    """Draw voltages, weights and activation noise of one network (docs/model.md §5.2-5.7)."""
    P, sh = params, _Shape.of(kind, params, teacher, cartpole_teacher)
    G = np.random.RandomState(seed)                                   # §5.2 voltages
    uP = [G.normal(0, 1, n) for n in sh.layers[1:]]
    uI = [G.normal(0, 1, n) for n in sh.m]
    G = np.random.RandomState(seed)                                   # §5.3 weights, re-seeded
    W = draw_weights(G, sh, P)
    acts = draw_activations(G, sh, P)                                 # §5.6, continuing on G
    if cartpole_teacher:                                              # §5.8
        L = len(sh.layers)
        g = P["gbas"] / (P["gbas"] + P["gapi"] + P["gl"])
        W["WPP"] = [g ** -(L - 1) * np.eye(4), np.array([[1, 4.2, 62.8, 16.3]]) / P["target_rescale_factor"]]
    eta_fw = P["eta_fw"]
    if kind == "errormc" and sh.fw_mode == "skip":
        eta_fw = convert_eta_fw(eta_fw, P["eta_fw_conversion"])
    net = NetInit(kind=kind, seed=seed, layers=sh.layers, error_layers=sh.error_layers,
                  model_type=P["model_type"], fw_mode=sh.fw_mode, bw_mode=sh.bw_mode, uP=uP, uI=uI,
                  eta_fw=eta_fw, teacher=teacher, **W, **acts)
    _construct(net, P, 0.0 if teacher else P["WT_noise"], cartpole_teacher)
    return net


def draw_weights(G, sh, P):
    """WPP, WIP, BPP, BPI, BII in the published order (§5.3, §5.4)."""
    layers, m, kind, L = sh.layers, sh.m, sh.kind, len(sh.layers)
    lo, hi = sh.range(P, "WPP")
    if sh.realistic:
        WPP = [realistic_generator(P["layers"], P["error_layers"], P["init_WPP_range"],
                                   P["init_BII_range"], G)[0]]
    elif sh.fw_mode == "layered":
        WPP = [G.uniform(lo, hi, (layers[i + 1], layers[i])) for i in range(L - 1)]
    else:
        WPP = [skip_generator(layers, (lo, hi), P["WPP_skip_connection_range"], G).T]
    lo, hi = sh.range(P, "WIP")
    WIP = [G.uniform(lo, hi, (mi, layers[i + 1])) for i, mi in enumerate(m)]
    if kind == "errormc" and P["init_WIP_identity"]:
        WIP = [w + np.eye(*w.shape) for w in WIP]
    BPP = None
    if kind in ("sacramento2018", "ann"):
        if P["model_type"] != "BP":
            lo, hi = sh.range(P, "BPP")
            BPP = [G.uniform(lo, hi, (layers[i], layers[i + 1])) for i in range(1, L - 1)]
        else:
            BPP = [w.T for w in WPP]
    lo, hi = sh.range(P, "BPI")
    BPI = [G.uniform(lo, hi, (layers[i + 1], mi)) for i, mi in enumerate(m)]
    if kind == "errormc" and P["init_BPI_identity"]:
        BPI = [b + np.eye(*b.shape) for b in BPI]
    BII = _draw_BII(G, sh, P) if kind == "errormc" else None
    return dict(WPP=WPP, WIP=WIP, BPP=BPP, BPI=BPI, BII=BII)


def _draw_BII(G, sh, P):
    lo, hi = sh.range(P, "BII")
    if sh.realistic:
        return [realistic_generator(P["layers"], P["error_layers"], P["init_WPP_range"],
                                    P["init_BII_range"], G)[1]]
    if sh.bw_mode == "layered":
        sizes = sh.error_layers if (sh.teacher and P.get("teacher_error_layers")) else sh.layers
        return [G.uniform(lo, hi, (sizes[i], sizes[i + 1])) for i in range(1, len(sh.layers) - 1)]
    return [skip_generator(sh.error_layers, (lo, hi), P["BII_skip_connection_range"], G)]


def _noisy(values, sizes, std, G):
    """Per-neuron values: the layer value plus N(0, std) per unit, drawn layer by layer on G."""
    return [np.repeat(values[k], sizes[k]) + G.normal(0, std, sizes[k]) for k in range(len(sizes))]


def draw_activations(G, sh, P):
    """Activation names and slope/offset lists, with the students' per-neuron noise (§5.6)."""
    L, kind = len(sh.layers), sh.kind
    activation = _as_list(P["activation"], L - 1)
    slope = list(P["activation_slope"]) if P.get("activation_slope") is not None else [1.0] * (L - 1)
    offset = list(P["activation_offset"]) if P.get("activation_offset") is not None else [0.0] * (L - 1)
    if sh.cartpole_teacher:
        activation = ["linear"] * (L - 1)
        slope, offset = [1.0] * (L - 1), [0.0] * (L - 1)
    error_slope, error_offset = list(slope), list(offset)
    if not sh.teacher:
        if P.get("activation_slope_std") is not None:
            slope = _noisy(slope, sh.layers[1:], P["activation_slope_std"], G)
        if P.get("activation_offset_std") is not None:
            offset = _noisy(offset, sh.layers[1:], P["activation_offset_std"], G)
    if not sh.teacher and kind == "errormc":
        # extension (Fig 5 "error unit noise"; the published code has no such option): per-neuron
        # noise on the error units' slope/offset, drawn after all published draws on G
        if P.get("error_activation_slope_std") is not None:
            error_slope = _noisy(error_slope, sh.error_layers[1:], P["error_activation_slope_std"], G)
        if P.get("error_activation_offset_std") is not None:
            error_offset = _noisy(error_offset, sh.error_layers[1:], P["error_activation_offset_std"], G)
    error_activation = _as_list(P["error_activation"], L - 1) if kind == "errormc" else None
    if sh.cartpole_teacher and kind == "errormc":
        error_activation = ["linear"] * (L - 1)
    if kind == "dPC" and not sh.teacher and P["activation"] != "linear":
        activation = ["linear"] * (L - 1)
    return dict(activation=activation, error_activation=error_activation, slope=slope, offset=offset,
                error_slope=error_slope, error_offset=error_offset)


def _construct(net, P, WT, cartpole_teacher=False):
    """Model-constructor draws on mc.rng (§5.7) and the dPC/ann specifics (4.2, 4.3)."""
    kind, L, s = net.kind, len(net.layers), net.seed
    rng = np.random.RandomState(s)
    if kind in ("sacramento2018", "dPC"):
        WPP_init = net.WPP
        if kind == "dPC":
            net.BPP = [w for w in WPP_init]  # BPP_init := WPP_init (FA is refused up front)
            net.BPI = [b @ w for b, w in zip(net.BPI, net.WIP)]
        if net.model_type == "BP":
            net.N_B = [rng.uniform(-WT, WT, net.WPP[k + 1].T.shape) for k in range(L - 2)]
            net.BPP = [net.WPP[k + 1].T + net.N_B[k] for k in range(L - 2)]
    elif kind == "ann":
        if net.model_type == "BP":
            N = [rng.uniform(-0.0, 0.0, net.WPP[k + 1].T.shape) for k in range(L - 2)]
            net.N_B = N
            bpp_init = net.BPP
            net.BPP = [net.WPP[k + 1].T + N[k] for k in range(L - 2)]
        else:
            bpp_init = net.BPP
        net.WIP = [w.copy() for w in net.WPP]     # placeholders, recorded but unused
        net.BPI = [b.copy() for b in bpp_init]
        rng = np.random.RandomState(s)
    elif kind == "errormc":
        rng = np.random.RandomState(s)
        if net.model_type == "BP":
            # (the cart-pole teacher has WT = 0: BII[0] = WPP[1]^T exactly, §5.8)
            if net.bw_mode == "layered":
                Wl = _layered_blocks(net)
                lst = None
                for i in range(L - 2):
                    net.BII[i] = _crop_T(Wl[i + 1], net.WIP[i + 1].shape, net.BPI[i].shape)
                    lst = [rng.uniform(-WT, WT, net.BII[j].shape) for j in range(L - 2)]
                    net.BII[i] += lst[i]
                net.N_B = lst if lst is not None else []
            else:
                E = net.BII[0].shape[0]
                N = rng.uniform(-WT, WT, (E, E))
                net.N_B = [N]
                net.BII = [np.triu(_skip_bp_core(net) + N)]
    net.rng = rng


def _crop_T(W, wip_shape, bpi_shape):
    """(I_{shape(WIP[k+1])} . W . I_{shape(BPI[k])})^T: W^T cropped/zero-padded (§4.4.3)."""
    return (np.eye(*wip_shape) @ W @ np.eye(*bpi_shape)).T


def _layered_blocks(net):
    """Forward blocks WPP[k] (n_{k+1} x n_k), also from a skip-mode full matrix."""
    if net.fw_mode == "layered":
        return net.WPP
    off = np.concatenate([[0], np.cumsum(net.layers)])
    W = net.WPP[0]
    return [W[off[k + 1]:off[k + 2], off[k]:off[k + 1]] for k in range(len(net.layers) - 1)]


def _skip_bp_core(net):
    """(D_WIP . WPP_full[n0:, n0:] . D_BPI)^T for errormc BP skip mode (§4.4.3)."""
    n0 = net.layers[0]
    if net.fw_mode == "skip":
        Wh = net.WPP[0][n0:, n0:]
    else:
        NP = sum(net.layers[1:])
        Wh = np.zeros((NP, NP))
        off = np.concatenate([[0], np.cumsum(net.layers[1:])])
        for k in range(1, len(net.layers) - 1):
            Wh[off[k]:off[k + 1], off[k - 1]:off[k]] = net.WPP[k]
    D_WIP = _block_diag([np.eye(*w.shape) for w in net.WIP])
    D_BPI = _block_diag([np.eye(*b.shape) for b in net.BPI])
    return (D_WIP @ Wh @ D_BPI).T


def _block_diag(blocks):
    rows = sum(b.shape[0] for b in blocks)
    cols = sum(b.shape[1] for b in blocks)
    M = np.zeros((rows, cols))
    r = c = 0
    for b in blocks:
        M[r:r + b.shape[0], c:c + b.shape[1]] = b
        r += b.shape[0]
        c += b.shape[1]
    return M


def apply_sps(net, P):
    """Self-predicting state for sacramento2018/dPC (§4.1, 4.2)."""
    gl, gb, ga, gd = P["gl"], P["gbas"], P["gapi"], P["gden"]
    L = len(net.layers)
    if net.kind == "sacramento2018":
        net.BPI = [-b for b in net.BPP]
        for k in range(L - 2):
            if k < L - 3:
                f = (gb * (gl + gd)) / (gd * ((gl + gb) + ga))
            else:
                f = (gb * (gl + gd)) / (gd * (gl + gb))
            net.WIP[k] = f * net.WPP[k + 1]
    elif net.kind == "dPC":
        for k in range(L - 2):
            if k < L - 3:
                f = (-gb) / ((gl + gb) + ga)
            else:
                f = (-gb) / (gl + gb)
            net.BPI[k] = (f * net.BPP[k]) @ net.WPP[k + 1]
