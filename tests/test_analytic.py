"""Analytic tests of the step functions (docs/model.md §3 and §4), independent of the golden files.

The expected values are computed here from the equations of docs/model.md, written out per layer on the
per-layer lists of `numpy_model.circuit.init.NetInit` (not on the ensemble's block matrices), and compared with
what `numpy_model.models.step` produces on an `Ensemble` of several seeds.

Fixed points: with every learning rate zero, no learning flag and a constant input, each somatic
voltage obeys u <- u + dt (tau D - u)/tau, so at rest u = tau_drive * D (docs/model.md §3, quirk 12.5).
For linear activations the steady-state equations are affine in the voltages and are solved exactly
(`np.linalg.solve`); for tanh they are solved by iterating the steady-state map to machine precision.
"""
import numpy as np
import pytest

from numpy_model.ensemble import Ensemble
from numpy_model.circuit.init import apply_sps, draw_network
from numpy_model.models import euler_increment, lookahead, step
from numpy_model.params import validate

pytestmark = pytest.mark.usefixtures("weight_storage")   # auto and per-block storage (conftest)

SEEDS = [11, 2024, 56789]
# conductances chosen pairwise different (so that a wrong conductance in a formula shows up) and large
# enough that every time constant is <= 1.25 ms: 6000 steps of dt = 0.01 settle far below 1e-8
COND = dict(gl=0.3, gbas=0.7, gapi=0.4, gden=0.5, gnI=0.2, gntgt=0.6)
DT = 0.01
N_STEPS = 6000
TOL = 1e-8


# ------------------------------------------------------------------------------------------------
# building blocks
# ------------------------------------------------------------------------------------------------

def make_params(kind, layers, **over):
    """Params with all learning rates zero (§1), validated by the real schema."""
    L = len(layers)
    raw = dict(mc_model=kind, layers=list(layers), dt=DT, eta_fw=[0.0] * (L - 1),
               eta_IP=[0.0] * (L - 1), eta_PI=[0.0] * (L - 1), activation="linear",
               random_seed=list(SEEDS), init_in_SPS=False, init_WPP_range=[-0.8, 0.8], **COND)
    raw.update(over)
    return validate(raw, "fw_only", warn=lambda msg: None)


def make_nets(P):
    kind = P["mc_model"]
    nets = [draw_network(kind, P, s) for s in P["random_seed"]]
    if P["init_in_SPS"] and kind in ("sacramento2018", "dPC"):
        for net in nets:
            apply_sps(net, P)
    return nets


def make(kind, layers, **over):
    P = make_params(kind, layers, **over)
    nets = make_nets(P)
    return P, nets, Ensemble.from_inits(nets, P)


def inputs(P, seed=3):
    """A constant input per seed, shape (S, n0), and a target per seed, shape (S, n_out)."""
    rs = np.random.RandomState(seed)
    S, n0, n_out = len(P["random_seed"]), P["layers"][0], P["layers"][-1]
    return rs.uniform(-1, 1, (S, n0)), rs.uniform(-0.5, 0.5, (S, n_out))


def run(ens, x, y, n=N_STEPS, **flags):
    for _ in range(n):
        step(ens, x, y, **flags)


def split(vec, sizes):
    off = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    return [vec[off[i]:off[i + 1]] for i in range(len(sizes))]


def phi_layer(net, P, k, u):
    """Forward activation of neuron layer k (list index) with this network's slope/offset (§2)."""
    name = net.activation[k]
    s = np.broadcast_to(np.asarray(net.slope[k], float), u.shape)
    o = np.broadcast_to(np.asarray(net.offset[k], float), u.shape)
    z = (u - o) * s
    if name == "linear":
        return z
    if name == "tanh":
        return np.tanh(z)
    raise NotImplementedError(name)


def dphi_layer(net, k, u):
    """Nominal derivative (slope 1, offset 0; §2, quirk 12.1)."""
    name = net.activation[k]
    if name == "linear":
        return np.ones_like(u)
    if name == "tanh":
        return 1 - np.tanh(u) ** 2
    raise NotImplementedError(name)


def psi_layer(net, P, k, u):
    """errormc error-unit activation: error_activation with the (noise-free) activation_slope/offset
    lists of the params (§5.6)."""
    name = net.error_activation[k]
    s = P["activation_slope"][k] if P["activation_slope"] is not None else 1.0
    o = P["activation_offset"][k] if P["activation_offset"] is not None else 0.0
    z = (u - o) * s
    if name == "linear":
        return z
    if name == "tanh":
        return np.tanh(z)
    raise NotImplementedError(name)


def g(P):
    return (P[k] for k in ("gl", "gbas", "gapi", "gden", "gnI", "gntgt"))


# ------------------------------------------------------------------------------------------------
# steady-state maps, one per model, on one network's per-layer lists: z -> (steady value of every
# voltage given the others).  The rest state z* satisfies z* = F(z*).
# ------------------------------------------------------------------------------------------------

def basal(net, x, r):
    """Basal potentials per layer: layered WPP[k] @ pre, or the skip block matrix (§4.4 step 4)."""
    n0 = net.layers[0]
    if net.fw_mode == "skip":
        full = net.WPP[0] @ np.concatenate([x] + r)
        return split(full[n0:], net.layers[1:])
    pre = [x] + r[:-1]
    return [W @ p for W, p in zip(net.WPP, pre)]


def map_errormc(net, P, x, y):
    gl, gb, ga, gd, gn, gt = g(P)
    L = len(net.layers)
    ps, es = net.layers[1:], net.error_layers[1:]
    NP = sum(ps)

    def F(z):
        uP, uE = split(z[:NP], ps), split(z[NP:], es)
        r = [phi_layer(net, P, k, uP[k]) for k in range(L - 1)]
        d = [dphi_layer(net, k, uP[k]) for k in range(L - 1)]
        rE = [psi_layer(net, P, k, uE[k]) for k in range(L - 1)]
        vbas = basal(net, x, r)
        if net.bw_mode == "skip":
            a = split(net.BII[0] @ np.concatenate(rE), es)
        else:
            a = [net.BII[k] @ rE[k + 1] for k in range(L - 2)]
        newP = [gb / (gl + gb + ga) * vbas[k] + ga / (gl + gb + ga) * (net.BPI[k] @ rE[k])
                for k in range(L - 1)]
        newE = [gd / (gl + gd) * ((net.WIP[k] @ d[k]) * a[k]) for k in range(L - 2)]
        if y is None:
            newE.append(np.zeros(es[-1]))
        else:
            newE.append(gt / (gl + gt) * (net.WIP[-1] @ (d[-1] * (y - r[-1]))))
        return np.concatenate(newP + newE)

    return F, NP + sum(es)


def map_sacramento(net, P, x, y):
    """sacramento2018 (§4.1) and dPC (4.2; uI frozen, r_I := r_P of the previous step)."""
    gl, gb, ga, gd, gn, gt = g(P)
    L = len(net.layers)
    ps = net.layers[1:]
    NP = sum(ps)
    dpc = net.kind == "dPC"
    ms = [] if dpc else net.layers[2:]

    def F(z):
        uP = split(z[:NP], ps)
        uI = split(z[NP:], ms)
        r = [phi_layer(net, P, k, uP[k]) for k in range(L - 1)]
        vbas = basal(net, x, r)
        new = []
        for k in range(L - 2):
            rI = r[k] if dpc else phi_layer(net, P, k + 1, uI[k])
            vapi = net.BPP[k] @ r[k + 1] + net.BPI[k] @ rI
            new.append((gb * vbas[k] + ga * vapi) / (gl + gb + ga))
        if y is None:
            new.append(gb * vbas[-1] / (gl + gb))          # tau_notgt * D  (quirk 12.5)
        else:
            new.append((gb * vbas[-1] + gt * y) / (gl + gb + gt))
        if not dpc:
            for k in range(L - 2):
                new.append((gd * (net.WIP[k] @ r[k]) + gn * uP[k + 1]) / (gl + gd + gn))
        return np.concatenate(new)

    return F, NP + sum(ms)


def map_ann(net, P, x, y):
    gl, gb = P["gl"], P["gbas"]
    L = len(net.layers)
    ps = net.layers[1:]
    NP = sum(ps)

    def F(z):
        uP, uI = split(z[:NP], ps), split(z[NP:], ps)
        r = [phi_layer(net, P, k, uP[k]) for k in range(L - 1)]
        d = [dphi_layer(net, k, uP[k]) for k in range(L - 1)]
        newP = [gb / (gb + gl) * (net.WPP[k] @ p) for k, p in enumerate([x] + r[:-1])]
        out = np.zeros(ps[-1]) if y is None else d[-1] * (y - r[-1])
        newI = [d[k] * (net.BPP[k] @ uI[k + 1]) for k in range(L - 2)] + [out]
        return np.concatenate(newP + newI)

    return F, 2 * NP


MAPS = {"errormc": map_errormc, "sacramento2018": map_sacramento, "dPC": map_sacramento, "ann": map_ann}


def fixed_point(net, P, x, y):
    """Solve z = F(z): exactly (affine F) for linear activations, by iteration otherwise."""
    F, n = MAPS[net.kind](net, P, x, y)
    linear = all(a == "linear" for a in net.activation) and (
        net.error_activation is None or all(a == "linear" for a in net.error_activation))
    if linear:
        b = F(np.zeros(n))
        A = np.column_stack([F(e) - b for e in np.eye(n)])
        return np.linalg.solve(np.eye(n) - A, b)
    z = np.zeros(n)
    for _ in range(100000):
        z_new = F(z)
        if np.max(np.abs(z_new - z)) < 1e-15:
            break
        z = z_new
    assert np.max(np.abs(F(z_new) - z_new)) < 1e-13, "test fixed-point iteration did not converge"
    return z_new


def ensemble_state(ens, s):
    """The simulated voltages of seed s in the order of the maps above."""
    if ens.kind == "dPC":
        return ens.uP[s]
    return np.concatenate([ens.uP[s], ens.uI[s]])


# ------------------------------------------------------------------------------------------------
# 1. fixed points of every model
# ------------------------------------------------------------------------------------------------

RANDOM_LATERAL = dict(init_WIP_range=[-0.4, 0.4], init_BPI_range=[-0.4, 0.4], init_BPP_range=[-0.5, 0.5])
FIXED_POINT_CASES = {
    # errormc, layered, BP, unequal error/representation sizes, random (non-identity) WIP/BPI
    "errormc-layered-linear": ("errormc", [3, 4, 3, 2], dict(
        error_layers=[0, 3, 4, 2], WT_noise=0.3, **RANDOM_LATERAL)),
    # errormc, skip/skip, FA, non-adjacent forward and error-to-error blocks present
    "errormc-skip-linear": ("errormc", [3, 4, 3, 2], dict(
        fw_connection_mode="skip", bw_connection_mode="skip", model_type="FA",
        WPP_skip_connection_range=[-0.5, 0.5], BII_skip_connection_range=[-0.5, 0.5],
        **RANDOM_LATERAL)),
    # errormc, tanh with slope/offset (per-neuron noise) and offset linear error units: phi' nominal
    "errormc-layered-tanh": ("errormc", [3, 4, 3, 2], dict(
        activation="tanh", activation_slope=[1.3, 0.8, 1.1], activation_offset=[0.1, -0.2, 0.05],
        activation_slope_std=0.2, activation_offset_std=0.1, **RANDOM_LATERAL)),
    "errormc-skip-tanh": ("errormc", [3, 4, 3, 2], dict(
        activation="tanh", fw_connection_mode="skip", bw_connection_mode="skip", WT_noise=0.2,
        WPP_skip_connection_range=[-0.5, 0.5], BII_skip_connection_range=[-0.5, 0.5],
        **RANDOM_LATERAL)),
    # sacramento2018 outside the SPS with random interneuron weights, FA
    "sacramento2018-linear": ("sacramento2018", [3, 4, 3, 2], dict(model_type="FA", **RANDOM_LATERAL)),
    "sacramento2018-tanh": ("sacramento2018", [3, 4, 3, 2], dict(
        activation="tanh", activation_offset=[0.1, -0.1, 0.2], WT_noise=0.2, **RANDOM_LATERAL)),
    # dPC outside the SPS (BPI = BPI_init @ WIP_init) and in the SPS
    "dPC-linear": ("dPC", [3, 4, 3, 2], dict(WT_noise=0.2, **RANDOM_LATERAL)),
    "dPC-linear-SPS": ("dPC", [3, 4, 3, 2], dict(init_in_SPS=True)),
    "ann-linear-FA": ("ann", [3, 4, 3, 2], dict(model_type="FA")),
    "ann-tanh-BP": ("ann", [3, 4, 3, 2], dict(activation="tanh", activation_offset=[0.2, -0.1, 0.1])),
}


@pytest.mark.parametrize("with_target", [False, True], ids=["no-target", "target"])
@pytest.mark.parametrize("case", sorted(FIXED_POINT_CASES))
def test_fixed_point(case, with_target):
    kind, layers, over = FIXED_POINT_CASES[case]
    P, nets, ens = make(kind, layers, **over)
    x, y = inputs(P)
    uI0 = ens.uI.copy()
    run(ens, x, y if with_target else None, n=40 if kind == "ann" else N_STEPS)
    for s, net in enumerate(nets):
        expected = fixed_point(net, P, x[s], y[s] if with_target else None)
        got = ensemble_state(ens, s)
        assert np.max(np.abs(expected)) > 1e-2  # not a trivial zero fixed point
        np.testing.assert_allclose(got, expected, rtol=0, atol=TOL, err_msg=f"{case} seed {net.seed}")
    if kind == "dPC":  # dPC interneuron somata are never updated (§4.2)
        np.testing.assert_array_equal(ens.uI, uI0)


def test_fixed_point_nonlinear_case_is_really_nonlinear():
    """Guard for the tanh cases: the rest voltages are far from the linear regime of tanh."""
    P, nets, ens = make("errormc", [3, 4, 3, 2], activation="tanh",
                        activation_slope=[1.3, 0.8, 1.1], activation_offset=[0.1, -0.2, 0.05],
                        **RANDOM_LATERAL)
    x, y = inputs(P)
    z = fixed_point(nets[0], P, x[0], y[0])
    uP = z[:9]
    assert np.max(np.abs(np.tanh(uP) - uP)) > 1e-3


def test_feedforward_closed_form_layer_by_layer():
    """No target, no feedback: errormc uP_k -> c W_k phi(uP_{k-1}) (c = gb/(gl+gb+ga)), ann with
    c = gb/(gb+gl) (§4.3, 4.4.4); computed layer by layer."""
    for kind, c in (("errormc", COND["gbas"] / (COND["gl"] + COND["gbas"] + COND["gapi"])),
                    ("ann", COND["gbas"] / (COND["gbas"] + COND["gl"]))):
        P, nets, ens = make(kind, [3, 5, 4, 2], activation="tanh")
        x, _ = inputs(P)
        run(ens, x, None, n=N_STEPS if kind == "errormc" else 10)
        for s, net in enumerate(nets):
            pre, expected = x[s], []
            for W in net.WPP:
                u = c * (W @ pre)
                expected.append(u)
                pre = np.tanh(u)
            np.testing.assert_allclose(ens.uP[s], np.concatenate(expected), rtol=0, atol=TOL)


def test_ann_reaches_fixed_point_in_L_steps():
    """ann: no dt; rep units jump to their drive and errors travel one layer per step (§4.3)."""
    P, nets, ens = make("ann", [3, 4, 3, 2], activation="tanh")
    x, y = inputs(P)
    L = 4
    run(ens, x, y, n=2 * (L - 1) + 1)
    for s, net in enumerate(nets):
        np.testing.assert_allclose(ensemble_state(ens, s), fixed_point(net, P, x[s], y[s]),
                                   rtol=0, atol=1e-13)


# ------------------------------------------------------------------------------------------------
# 2. lookahead and Euler increment (§3)
# ------------------------------------------------------------------------------------------------

def test_lookahead_extrapolates_a_linear_ramp():
    """u(t) = a + b t sampled at t and t - dt: u_breve = u_old + tau (u - u_old)/dt is the linear
    extrapolation by tau from the *old* sample, i.e. u(t - dt + tau) (§3)."""
    rs = np.random.RandomState(0)
    a, b = rs.normal(size=(4, 7)), rs.normal(size=(4, 7))
    for t, tau, dt in ((0.0, 5.0, 0.01), (3.7, 1 / 0.19, 0.01), (12.0, 0.25, 0.05), (1.0, 2.0, 1e-3)):
        u, u_old = a + b * t, a + b * (t - dt)
        got = lookahead(u, u_old, tau, dt)
        np.testing.assert_allclose(got, a + b * (t - dt + tau), rtol=1e-11, atol=1e-11)
        # ... and therefore u(t + tau) - b dt: the formula is anchored at u_old, not at u
        np.testing.assert_allclose(got, a + b * (t + tau) - b * dt, rtol=1e-11, atol=1e-11)
    # per-unit tau (broadcast), constant voltage: u_breve = u
    tau = rs.uniform(0.5, 5, 7)
    np.testing.assert_array_equal(lookahead(a, a, tau, 0.01), a)


def test_lookahead_in_the_network_equals_previous_drive():
    """Inside a step, u_breve = u_old + tau (Delta u)/dt = tau D of the previous step (§3)."""
    P, nets, ens = make("errormc", [3, 4, 3, 2], activation="tanh", **RANDOM_LATERAL)
    x, y = inputs(P)
    run(ens, x, y, n=5)
    gl, gb, ga, gd, gn, gt = g(P)
    D_prev = gb * ens.vbas + ga * ens.vapi           # drive of the step just done
    step(ens, x, y)
    np.testing.assert_allclose(ens.uPb, D_prev / (gl + gb + ga), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("tau_drive, tau_div", [(2.0, 2.0), (0.7, 0.7), (1 / 1.0, 1 / 1.6)])
def test_euler_increment_is_exact_exponential_relaxation(tau_drive, tau_div):
    """n Euler steps of Delta u = dt (tau_drive D - u)/tau_div give
    u_n = tau_drive D + (u0 - tau_drive D) (1 - dt/tau_div)^n (to rounding)."""
    rs = np.random.RandomState(1)
    D, u0 = rs.normal(size=(2, 5)), rs.normal(size=(2, 5))
    dt = 0.01
    u = u0.copy()
    for n in range(1, 1501):
        u = u + euler_increment(D, u, tau_drive, tau_div, dt)
        if n in (1, 10, 100, 1500):
            expected = tau_drive * D + (u0 - tau_drive * D) * (1 - dt / tau_div) ** n
            np.testing.assert_allclose(u, expected, rtol=0, atol=1e-12)


def test_euler_increment_single_step_formula():
    D, u = np.array([[0.3, -1.2]]), np.array([[0.5, 0.1]])
    np.testing.assert_allclose(euler_increment(D, u, 0.5, 0.25, 0.01),
                               0.01 * (0.5 * D - u) / 0.25, rtol=1e-15)


# ------------------------------------------------------------------------------------------------
# 3. self-predicting states (§4.1, 4.2)
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, act", [("sacramento2018", "linear"), ("sacramento2018", "tanh"),
                                       ("dPC", "linear")])
def test_self_predicting_state_silences_apical(kind, act):
    P, nets, ens = make(kind, [3, 5, 4, 2], init_in_SPS=True, activation=act)
    x, _ = inputs(P)
    run(ens, x, None)
    assert ens.vapi.shape == (len(SEEDS), 9)
    assert np.max(np.abs(ens.vapi)) < 1e-6
    # apical silent => closed form, layer by layer: hidden gb/(gl+gb+ga) W r, output gb/(gl+gb) W r
    gl, gb, ga = P["gl"], P["gbas"], P["gapi"]
    for s, net in enumerate(nets):
        pre, expected = x[s], []
        for k, W in enumerate(net.WPP):
            c = gb / (gl + gb) if k == len(net.WPP) - 1 else gb / (gl + gb + ga)
            u = c * (W @ pre)
            expected.append(u)
            pre = phi_layer(net, P, k, u)
        np.testing.assert_allclose(ens.uP[s], np.concatenate(expected), rtol=0, atol=TOL)
        if kind == "sacramento2018":  # interneurons copy the layer above
            np.testing.assert_allclose(ens.uI[s], np.concatenate(expected[1:]), rtol=0, atol=TOL)


def test_without_sps_apical_does_not_vanish():
    """Counter-check of the SPS test: outside the SPS the apical potentials stay non-zero."""
    P, nets, ens = make("sacramento2018", [3, 5, 4, 2], **RANDOM_LATERAL)
    x, _ = inputs(P)
    run(ens, x, None, n=2000)
    assert np.max(np.abs(ens.vapi)) > 1e-3


# ------------------------------------------------------------------------------------------------
# 4. errormc error units (§4.4, 4.4.4)
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["layered", "skip"])
def test_errormc_without_target_errors_decay_to_zero(mode):
    over = dict(fw_connection_mode=mode, bw_connection_mode=mode, WT_noise=0.3,
                WPP_skip_connection_range=[-0.5, 0.5], BII_skip_connection_range=[-0.5, 0.5])
    P, nets, ens = make("errormc", [3, 4, 3, 2], model_type="BP", activation="tanh", **over)
    x, _ = inputs(P)
    assert np.max(np.abs(ens.uI)) > 0.1           # random initial error voltages
    run(ens, x, None)
    assert np.max(np.abs(ens.uI)) < 1e-8
    assert np.max(np.abs(ens.vapi)) < 1e-8
    assert np.max(np.abs(ens.vden)) < 1e-8
    c = P["gbas"] / (P["gl"] + P["gbas"] + P["gapi"])
    np.testing.assert_allclose(ens.uP, c * ens.vbas, rtol=0, atol=TOL)


@pytest.mark.parametrize("mode", ["layered", "skip"])
def test_errormc_steady_state_with_target_identity_lateral(mode):
    """Identity WIP/BPI (the defaults): at rest, with the network's own r = phi(uP):
    output error = (gt/(gl+gt)) WIP (phi'(u) (y - r)); hidden error = (gd/(gl+gd)) (WIP phi') (BII rE);
    rep = c vbas + (ga/(gl+gb+ga)) vapi  (§4.4.4)."""
    over = dict(fw_connection_mode=mode, bw_connection_mode=mode,
                WPP_skip_connection_range=[-0.5, 0.5], BII_skip_connection_range=[-0.5, 0.5])
    P, nets, ens = make("errormc", [3, 4, 3, 2], activation="tanh", **over)
    x, y = inputs(P)
    y = 0.6 * np.sign(y)                            # a target far from the free output
    run(ens, x, y)
    gl, gb, ga, gd, gn, gt = g(P)
    out = slice(7, 9)
    for s, net in enumerate(nets):
        assert all(np.array_equal(w, np.eye(*w.shape)) for w in net.WIP + net.BPI)
        uP, uE = ens.uP[s], ens.uI[s]
        r, d = np.tanh(uP), 1 - np.tanh(uP) ** 2
        expected_out = gt / (gl + gt) * (np.eye(2) @ (d[out] * (y[s] - r[out])))
        assert np.max(np.abs(expected_out)) > 1e-2
        np.testing.assert_allclose(uE[out], expected_out, rtol=0, atol=TOL)
        # hidden error units from the network's own steady error rates (error activation linear)
        if mode == "skip":
            a = net.BII[0] @ uE
        else:
            a = np.concatenate([net.BII[0] @ uE[4:7], net.BII[1] @ uE[7:9], np.zeros(2)])
        np.testing.assert_allclose(uE[:7], gd / (gl + gd) * (d * a)[:7], rtol=0, atol=TOL)
        # representation units: c vbas + (ga/(gl+gb+ga)) vapi with vapi = BPI rE = uE
        vbas = np.concatenate(basal(net, x[s], split(r, [4, 3, 2])))
        np.testing.assert_allclose(uP, (gb * vbas + ga * uE) / (gl + gb + ga), rtol=0, atol=TOL)
        np.testing.assert_allclose(ens.vapi[s], uE, rtol=0, atol=TOL)


# ------------------------------------------------------------------------------------------------
# 5. zero learning rates leave the weights unchanged (§4.1 step 6/7, 4.3, 4.4.3)
# ------------------------------------------------------------------------------------------------

ZERO_LR_CASES = {
    "errormc-layered-BP": ("errormc", dict(WT_noise=0.3, activation="tanh", **RANDOM_LATERAL)),
    "errormc-skip-BP": ("errormc", dict(fw_connection_mode="skip", bw_connection_mode="skip",
                                        WT_noise=0.3, WPP_skip_connection_range=[-0.5, 0.5],
                                        BII_skip_connection_range=[-0.5, 0.5])),
    "errormc-layered-FA-lowpass": ("errormc", dict(model_type="FA", dWPP_low_pass=True,
                                                   dWPP_use_activation=True, activation="tanh")),
    "sacramento2018-BP-SPS": ("sacramento2018", dict(WT_noise=0.3, init_in_SPS=True, activation="tanh")),
    "sacramento2018-FA": ("sacramento2018", dict(model_type="FA", **RANDOM_LATERAL)),
    "dPC-BP": ("dPC", dict(WT_noise=0.3, init_in_SPS=True)),
    "ann-BP": ("ann", dict(activation="tanh")),
    "ann-FA": ("ann", dict(model_type="FA")),
}


def expected_bp_backward(ens):
    """BP backward weights recomputed from WPP: B = N_B + (WPP restricted to P->P)^T, upper-triangular
    in errormc skip mode; sacramento2018/dPC/ann keep only the rows of hidden layers."""
    n0, NP = ens.lay.n0, ens.lay.NP
    WT = np.transpose(ens.full("WPP")[:, :, n0:], (0, 2, 1))   # (S, NP, NP): [pre P unit, post P unit]
    if ens.kind == "errormc":
        B = ens.full("N_B") + WT
        return np.triu(B) if ens.bw_mode == "skip" else B
    return ens.full("N_B") + WT[:, :NP - ens.lay.n_out, :]


@pytest.mark.parametrize("case", sorted(ZERO_LR_CASES))
def test_zero_learning_rates_keep_weights(case):
    kind, over = ZERO_LR_CASES[case]
    P, nets, ens = make(kind, [3, 4, 3, 2], **over)
    x, y = inputs(P)
    before = {name: ens.full(name) for name in ("WPP", "WIP", "BPI", "B")}
    rs = np.random.RandomState(7)
    for sample in range(6):                         # training-like: new input/target every 50 steps
        xs = rs.uniform(-1, 1, x.shape)
        ys = rs.uniform(-0.5, 0.5, y.shape)
        run(ens, xs, ys, n=50, fw=True, lat=True)
    assert np.max(np.abs(ens.full("dWPP"))) == 0    # (dt * 0) * outer(...)
    for name in ("WPP", "WIP", "BPI", "B"):
        if ens.model_type == "BP" and (name == "B" or (name == "BPI" and kind == "sacramento2018")):
            continue
        assert np.array_equal(ens.full(name), before[name]), f"{case}: {name} changed"
    if ens.model_type == "BP":
        B = ens.full("B")
        assert np.array_equal(B, expected_bp_backward(ens))
        if kind == "sacramento2018":
            # BPI <- -BPP (§4.1 step 6); B's columns of the first hidden layer are structurally 0
            n1 = P["layers"][1]
            assert np.array_equal(ens.full("BPI"), -B[:, :, n1:])
            assert not B[:, :, :n1].any()
        if kind in ("errormc", "sacramento2018", "dPC") and P["WT_noise"] > 0:
            assert np.max(np.abs(ens.full("N_B"))) > 0.05    # the noise really is part of B
        if kind == "errormc" and ens.bw_mode == "layered" and P["WT_noise"] > 0:
            # quirk 12.9 / §5.7: BII[0] got its initial noise from an earlier draw than N_BII, so
            # only the last block of the refreshed BII equals its initial value
            last = (ens.lay.i(1), ens.lay.i(2))
            np.testing.assert_array_equal(B[:, last[0], last[1]], before["B"][:, last[0], last[1]])
            assert not np.allclose(B[:, ens.lay.i(0), ens.lay.i(1)],
                                   before["B"][:, ens.lay.i(0), ens.lay.i(1)])
        else:
            # nothing learned, so the refreshed B is the initial B
            np.testing.assert_allclose(B, before["B"], rtol=0, atol=1e-15)


def test_zero_learning_rates_but_nonzero_plasticity_signal():
    """Counter-check: with eta_fw > 0 the same run does change WPP (the signal is non-zero)."""
    P, nets, ens = make("sacramento2018", [3, 4, 3, 2], eta_fw=[0.1, 0.1, 0.1], activation="tanh",
                        **RANDOM_LATERAL)
    x, y = inputs(P)
    W0 = ens.full("WPP")
    run(ens, x, y, n=50, fw=True, lat=True)
    assert np.max(np.abs(ens.full("WPP") - W0)) > 1e-6


def test_rep_and_error_lookahead_switches():
    """rep_lookahead/error_lookahead False: rates from the instantaneous u (§4.4 step 2),
    while phi' always uses the lookahead."""
    import numpy as _np

    from numpy_model.circuit.activations import dphi, phi
    from numpy_model.ensemble import Ensemble as _E
    from numpy_model.circuit.init import draw_network as _draw
    from numpy_model.models import step as _step
    from numpy_model.params import validate as _validate

    P = _validate({"mc_model": "errormc", "layers": [3, 4, 2], "activation": "tanh",
                   "error_activation": "tanh"}, "fw_only", warn=lambda m: None)
    ens = _E.from_inits([_draw("errormc", P, s) for s in (1, 2)], P)
    x = _np.full((2, 3), 0.5)
    for _ in range(3):
        _step(ens, x, None)
    ens = ens.vary(rep_lookahead=_np.zeros(ens.lay.NP, bool),
                   error_lookahead=_np.array([True] * 4 + [False] * 2))
    uP, uI = ens.uP.copy(), ens.uI.copy()
    _step(ens, x, None)
    _np.testing.assert_array_equal(ens.rPb, phi("tanh", uP))
    _np.testing.assert_array_equal(ens.rIb[:, 4:], phi("tanh", uI[:, 4:]))
    _np.testing.assert_array_equal(ens.rIb[:, :4], phi("tanh", ens.uIb[:, :4]))
    _np.testing.assert_array_equal(ens.dP, dphi("tanh", ens.uPb))
    assert not _np.allclose(ens.uPb, uP)


def test_error_unit_activation_noise_extension():
    """error_activation_slope_std/offset_std put per-neuron noise on errormc's error units only
    (Fig 5 'error unit noise'); without the keys nothing changes (drawn after all published draws)."""
    import numpy as _np

    from numpy_model.circuit.init import draw_network as _draw
    from numpy_model.params import validate as _validate

    base = {"mc_model": "errormc", "layers": [3, 4, 2], "error_activation": "logistic"}
    P0 = _validate(base, "fw_only", warn=lambda m: None)
    P1 = _validate({**base, "error_activation_slope_std": 0.5, "error_activation_offset_std": 0.2},
                   "fw_only", warn=lambda m: None)
    a, b = _draw("errormc", P0, 7), _draw("errormc", P1, 7)
    for name in ("uP", "uI", "WPP", "WIP", "BPI", "BII"):
        for x, y in zip(getattr(a, name), getattr(b, name)):
            _np.testing.assert_array_equal(x, y)
    assert a.slope == b.slope and a.offset == b.offset          # rep units untouched
    assert [_np.shape(v) for v in b.error_slope] == [(4,), (2,)]
    assert not _np.allclose(b.error_slope[0], 1.0) and not _np.allclose(b.error_offset[1], 0.0)
    teacher = _draw("errormc", P1, 7, teacher=True)
    assert teacher.error_slope == [1.0, 1.0]                     # students only
