"""Per-network initial state drawn in the published random-number order (SPEC 5.1-5.8).

`draw_network` returns plain per-layer lists (the published object's layout) for one network;
`numpy_model.ensemble` stacks many of them into block arrays with a leading seed axis.
"""
from dataclasses import dataclass, field

import numpy as np

from .connectivity import convert_eta_fw, realistic_generator, skip_generator
from .models import RATE_TARGET_DEFAULT, interneuron_sizes  # noqa: F401 - the registry's facts


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


def draw_network(kind, params, seed, teacher=False, cartpole_teacher=False):
    """Draw voltages, weights and activation noise of one network (SPEC 5.2-5.7)."""
    P = params
    L_src = "teacher_layers" if teacher and P.get("teacher_layers") else "layers"
    layers = list(P[L_src])
    if teacher and P.get("teacher_error_layers"):
        error_layers = list(P["teacher_error_layers"])
    elif teacher and P.get("teacher_layers"):
        error_layers = [0] + layers[1:]
    else:
        error_layers = list(P["error_layers"])
    if cartpole_teacher:
        layers = [4, 4, 1]
        error_layers = [0, 4, 1]
    L = len(layers)
    if kind == "errormc":
        fw_mode, bw_mode = P["fw_connection_mode"], P["bw_connection_mode"]
    else:
        fw_mode = bw_mode = "layered"
    realistic = kind == "errormc" and P["init_realistic_connectivity"]
    m = interneuron_sizes(kind, layers, error_layers)
    if cartpole_teacher and kind in ("sacramento2018", "dPC"):
        m = [1]

    def rng_range(name):
        if teacher and P.get(f"init_teacher_{name}_range") is not None:
            return P[f"init_teacher_{name}_range"]
        return P[f"init_{name}_range"]

    # 5.2 voltages
    G = np.random.RandomState(seed)
    uP = [G.normal(0, 1, n) for n in layers[1:]]
    uI = [G.normal(0, 1, n) for n in m]

    # 5.3 weights, after re-seeding
    G = np.random.RandomState(seed)
    lo, hi = rng_range("WPP")
    if realistic:
        W, _ = realistic_generator(P["layers"], P["error_layers"], P["init_WPP_range"],
                                   P["init_BII_range"], G)
        WPP = [W]
    elif fw_mode == "layered":
        WPP = [G.uniform(lo, hi, (layers[i + 1], layers[i])) for i in range(L - 1)]
    else:
        WPP = [skip_generator(layers, (lo, hi), P["WPP_skip_connection_range"], G).T]
    lo, hi = rng_range("WIP")
    WIP = [G.uniform(lo, hi, (mi, layers[i + 1])) for i, mi in enumerate(m)]
    if kind == "errormc" and P["init_WIP_identity"]:
        WIP = [w + np.eye(*w.shape) for w in WIP]
    BPP = None
    if kind in ("sacramento2018", "ann"):
        if P["model_type"] != "BP":
            lo, hi = rng_range("BPP")
            BPP = [G.uniform(lo, hi, (layers[i], layers[i + 1])) for i in range(1, L - 1)]
        else:
            BPP = [w.T for w in WPP]
    lo, hi = rng_range("BPI")
    BPI = [G.uniform(lo, hi, (layers[i + 1], mi)) for i, mi in enumerate(m)]
    if kind == "errormc" and P["init_BPI_identity"]:
        BPI = [b + np.eye(*b.shape) for b in BPI]
    BII = None
    if kind == "errormc":
        lo, hi = rng_range("BII")
        if realistic:
            _, B = realistic_generator(P["layers"], P["error_layers"], P["init_WPP_range"],
                                       P["init_BII_range"], G)
            BII = [B]
        elif bw_mode == "layered":
            sizes = error_layers if (teacher and P.get("teacher_error_layers")) else layers
            BII = [G.uniform(lo, hi, (sizes[i], sizes[i + 1])) for i in range(1, L - 1)]
        else:
            BII = [skip_generator(error_layers, (lo, hi), P["BII_skip_connection_range"], G)]

    # 5.6 activation noise (students only), continuing on G
    act = P["activation"]
    activation = _as_list(act, L - 1)
    slope = list(P["activation_slope"]) if P.get("activation_slope") is not None else [1.0] * (L - 1)
    offset = list(P["activation_offset"]) if P.get("activation_offset") is not None else [0.0] * (L - 1)
    if cartpole_teacher:
        activation = ["linear"] * (L - 1)
        slope, offset = [1.0] * (L - 1), [0.0] * (L - 1)
    error_slope, error_offset = list(slope), list(offset)
    if not teacher:
        if P.get("activation_slope_std") is not None:
            slope = [np.repeat(slope[k], layers[k + 1]) + G.normal(0, P["activation_slope_std"], layers[k + 1])
                     for k in range(L - 1)]
        if P.get("activation_offset_std") is not None:
            offset = [np.repeat(offset[k], layers[k + 1]) + G.normal(0, P["activation_offset_std"], layers[k + 1])
                      for k in range(L - 1)]
    if not teacher and kind == "errormc":
        # extension (Fig 5 "error unit noise"; the published code has no such option): per-neuron
        # noise on the error units' slope/offset, drawn after all published draws on G
        sizes = error_layers[1:]
        if P.get("error_activation_slope_std") is not None:
            error_slope = [np.repeat(error_slope[k], sizes[k]) + G.normal(0, P["error_activation_slope_std"], sizes[k])
                           for k in range(L - 1)]
        if P.get("error_activation_offset_std") is not None:
            error_offset = [np.repeat(error_offset[k], sizes[k]) + G.normal(0, P["error_activation_offset_std"], sizes[k])
                            for k in range(L - 1)]
    error_activation = _as_list(P["error_activation"], L - 1) if kind == "errormc" else None
    if cartpole_teacher and kind == "errormc":
        error_activation = ["linear"] * (L - 1)
    if kind == "dPC" and not teacher and act != "linear":
        activation = ["linear"] * (L - 1)

    if cartpole_teacher:
        g = P["gbas"] / (P["gbas"] + P["gapi"] + P["gl"])
        w = g ** -(L - 1)
        WPP = [w * np.eye(4), np.array([[1, 4.2, 62.8, 16.3]]) / P["target_rescale_factor"]]

    eta_fw = P["eta_fw"]
    if kind == "errormc" and fw_mode == "skip":
        eta_fw = convert_eta_fw(eta_fw, P["eta_fw_conversion"])

    net = NetInit(kind=kind, seed=seed, layers=layers, error_layers=error_layers,
                  model_type=P["model_type"], fw_mode=fw_mode, bw_mode=bw_mode, uP=uP, uI=uI,
                  WPP=WPP, WIP=WIP, BPI=BPI, BPP=BPP, BII=BII, activation=activation,
                  error_activation=error_activation, slope=slope, offset=offset,
                  error_slope=error_slope, error_offset=error_offset, eta_fw=eta_fw,
                  teacher=teacher)
    _construct(net, P, 0.0 if teacher else P["WT_noise"], cartpole_teacher)
    return net


def _construct(net, P, WT, cartpole_teacher=False):
    """Model-constructor draws on mc.rng (SPEC 5.7) and the dPC/ann specifics (4.2, 4.3)."""
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
            # (the cart-pole teacher has WT = 0: BII[0] = WPP[1]^T exactly, SPEC 5.8)
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
    """(I_{shape(WIP[k+1])} . W . I_{shape(BPI[k])})^T: W^T cropped/zero-padded (SPEC 4.4.3)."""
    return (np.eye(*wip_shape) @ W @ np.eye(*bpi_shape)).T


def _layered_blocks(net):
    """Forward blocks WPP[k] (n_{k+1} x n_k), also from a skip-mode full matrix."""
    if net.fw_mode == "layered":
        return net.WPP
    off = np.concatenate([[0], np.cumsum(net.layers)])
    W = net.WPP[0]
    return [W[off[k + 1]:off[k + 2], off[k]:off[k + 1]] for k in range(len(net.layers) - 1)]


def _skip_bp_core(net):
    """(D_WIP . WPP_full[n0:, n0:] . D_BPI)^T for errormc BP skip mode (SPEC 4.4.3)."""
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
    """Self-predicting state for sacramento2018/dPC (SPEC 4.1, 4.2)."""
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
