"""The step function of each model kind, over a whole ensemble (SPEC section 4).

`step(ens, x, y, LW, LL, LB, compare=False)` advances every network of `ens` by one dt, in place:
  x  (S, n0) input rates;  y  (S, n_out) target used for nudging, or None (no target in the
  dynamics: settling, validation, testing);  LW/LL/LB learn forward/lateral/backward weights;
  compare: compute the plasticity (dWPP) without applying it (SPEC 9.1).
"Old" buffers are swapped, not copied; all per-layer structure lives in block matrices and
per-unit vectors (numpy_model.layout), so a step is a fixed number of NumPy calls.
"""
import numpy as np


def mv(W, v):
    """Batched matrix-vector product W @ v over the seed axis: (S, a, b), (S, b) -> (S, a)."""
    return np.matmul(W, v[:, :, None])[:, :, 0]


def outer(a, b):
    """Batched outer product (S, m), (S, n) -> (S, m, n)."""
    return a[:, :, None] * b[:, None, :]


def lookahead(u, u_old, tau, dt):
    """Prospective voltage u_breve = u_old + (tau (u - u_old)) / dt (SPEC 3)."""
    return u_old + (tau * (u - u_old)) / dt


def euler_increment(drive, u, tau_drive, tau_div, dt):
    """Delta u = dt ((tau D - u) / tau) (SPEC 3); tau_drive differs from tau_div only for the
    sacramento2018/dPC output without target (quirk 12.5)."""
    return dt * ((tau_drive * drive - u) / tau_div)


def _refresh_B(ens):
    """BP backward weights from the current (pre-update) WPP, in place:
    B = [triu](N_B + gather(WPP^T)) (SPEC 4.1 step 6, 4.4.3). `ens.g_dst`/`g_src` hold only the
    positions that survive the triu, and `ens.N_B` is stored already triangular, so no triu and no
    temporary full matrix are needed."""
    S = ens.S
    np.copyto(ens.B, ens.N_B)
    ens.B.reshape(S, -1)[:, ens.g_dst] = ens.N_B_dst + ens.WPP.reshape(S, -1)[:, ens.g_src]


def _advance_voltages(ens, duP, duI):
    """u_old <- u (buffer swap), u <- u + Delta u."""
    ens.uP_old, ens.uP = ens.uP, ens.uP_old
    np.add(ens.uP_old, duP, out=ens.uP)
    if duI is not None:
        ens.uI_old, ens.uI = ens.uI, ens.uI_old
        np.add(ens.uI_old, duI, out=ens.uI)


def _post_fw(ens, c):
    """Forward plasticity postsynaptic term (SPEC 4.1 step 6, 4.4.1)."""
    if ens.dWPP_use_activation:
        return ens.rPb - ens.phiP(c * ens.vbas_prev)
    return ens.uPb - c * ens.vbas_prev


def step_errormc(ens, x, y, LW, LL, LB, compare=False):
    """errormc: representation units uP and error units uE (stored as uI), SPEC 4.4."""
    lay, dt, g = ens.lay, ens.dt, ens.g
    n0 = lay.n0
    # 1. buffers
    ens.r_full, ens.r_full_prev = ens.r_full_prev, ens.r_full
    ens.rIb, ens.rIb_prev = ens.rIb_prev, ens.rIb
    ens.vbas, ens.vbas_prev = ens.vbas_prev, ens.vbas
    ens.vden, ens.vden_prev = ens.vden_prev, ens.vden
    ens.vapi, ens.vapi_prev = ens.vapi_prev, ens.vapi
    # 2. lookahead and rates
    ens.uPb = lookahead(ens.uP, ens.uP_old, ens.tau_look_P, dt)
    ens.uIb = lookahead(ens.uI, ens.uI_old, ens.tau_look_I, dt)
    argP = ens.uPb if ens.rep_lookahead is None else np.where(ens.rep_lookahead, ens.uPb, ens.uP)
    ens.r_full[:, n0:] = ens.phiP(argP)
    ens.dP = ens.phiP.d(ens.uPb)
    argE = ens.uIb if ens.error_lookahead is None else np.where(ens.error_lookahead, ens.uIb, ens.uI)
    ens.rIb = ens.psiE(argE)
    # 3. x_last <- x
    ens.r_full[:, :n0] = x
    rP = ens.r_full[:, n0:]
    # 4.-6. dendrites
    ens.vbas = mv(ens.WPP, ens.r_full)
    a = mv(ens.B, ens.rIb)
    ens.vden = mv(ens.WIP, ens.dP) * a if ens.varphi_transfer else a
    ens.vapi = mv(ens.BPI, ens.rIb)
    # 8. increments
    DE = g["gd"] * ens.vden
    if y is not None:
        W_out = ens.WIP[:, lay.i_out, lay.out]
        DE[:, lay.i_out] = mv((g["gt"] * W_out) * ens.dP[:, None, lay.out], y - rP[:, lay.out])
    else:
        DE[:, lay.i_out] = 0.0
    duI = euler_increment(DE, ens.uI, ens.tauI, ens.tauI, dt)
    duP = euler_increment(g["gb"] * ens.vbas + g["ga"] * ens.vapi, ens.uP, ens.tauP, ens.tauP, dt)
    # 9. plasticity
    if LW or LL or LB or compare:
        post = _post_fw(ens, ens.c_fw)
        ens.dWPP = ens.m_WPP * outer(post, ens.r_full_prev)
        if ens.m_IP is not None:
            ens.dWIP = ens.m_IP * (ens.WIP - ens.I_WIP)
        if ens.m_PI is not None:
            ens.dBPI = ens.m_PI * (ens.BPI - ens.I_BPI)
        if ens.model_type == "BP":
            _refresh_B(ens)
    # 10. apply
    _advance_voltages(ens, duP, duI)
    if LW:
        if ens.dWPP_low_pass:
            ens.LWPP += (dt / ens.tauLO) * (ens.dWPP - ens.LWPP)
            ens.WPP += ens.LWPP
        else:
            ens.WPP += ens.dWPP
    if LL:
        if ens.m_IP is not None:
            ens.WIP += ens.dWIP
        if ens.m_PI is not None:
            ens.BPI += ens.dBPI


def step_sacramento(ens, x, y, LW, LL, LB, compare=False):
    """sacramento2018 (pyramidal cells + interneurons, SPEC 4.1) and dPC (SPEC 4.2)."""
    lay, dt, g = ens.lay, ens.dt, ens.g
    n0, NPh = lay.n0, lay.NPh
    dpc = ens.kind == "dPC"
    # 1. buffers
    if dpc:
        ens.r_full, ens.r_full_prev, ens.r_full_prev2 = ens.r_full_prev2, ens.r_full, ens.r_full_prev
        ens.uPb_prev = ens.uPb
        rI = ens.r_full_prev[:, n0:n0 + NPh]          # r_breve_I := r_breve_P of the previous step
        rI_prev = ens.r_full_prev2[:, n0:n0 + NPh]
    else:
        ens.r_full, ens.r_full_prev = ens.r_full_prev, ens.r_full
        ens.rIb, ens.rIb_prev = ens.rIb_prev, ens.rIb
    ens.vbas, ens.vbas_prev = ens.vbas_prev, ens.vbas
    ens.vden, ens.vden_prev = ens.vden_prev, ens.vden
    ens.vapi, ens.vapi_prev = ens.vapi_prev, ens.vapi
    # 2. lookahead and rates
    ens.uPb = lookahead(ens.uP, ens.uP_old, ens.tau_look_P, dt)
    ens.r_full[:, n0:] = ens.phiP(ens.uPb)
    if not dpc:
        ens.uIb = lookahead(ens.uI, ens.uI_old, ens.tau_look_I, dt)
        ens.rIb = rI = ens.phiI(ens.uIb)
        rI_prev = ens.rIb_prev
    # 3. x_last <- x
    ens.r_full[:, :n0] = x
    rP = ens.r_full[:, n0:]
    # 4. dendrites
    ens.vbas = mv(ens.WPP, ens.r_full)
    if not dpc:
        ens.vden = mv(ens.WIP, rP)
    ens.vapi = mv(ens.B, rP) + mv(ens.BPI, rI)
    # 5. increments
    duI = None
    if not dpc:
        duI = euler_increment(g["gd"] * ens.vden + g["gn"] * ens.uPb[:, lay.p_sizes[0]:],
                              ens.uI, ens.tauI, ens.tauI, dt)
    apical = np.empty_like(ens.uP)
    apical[:, :NPh] = ens.vapi
    if y is not None:
        apical[:, lay.out] = y
        tau_drive = ens.tauP
    else:
        apical[:, lay.out] = 0.0
        tau_drive = ens.tau_drive_notgt
    duP = euler_increment(g["gb"] * ens.vbas + ens.gx * apical, ens.uP, tau_drive, ens.tauP, dt)
    # 6. plasticity
    if LW or LL or LB or compare:
        post = _post_fw(ens, ens.c_fw)
        ens.dWPP = ens.m_WPP * outer(post, ens.r_full_prev)
        if not dpc:
            postI = ens.rIb - ens.phiI((g["gd"] / (g["gl"] + g["gd"])) * ens.vden_prev)
            ens.dWIP = ens.m_IP * outer(postI, ens.r_full_prev[:, n0:])
        if ens.m_PI is not None:
            ens.dBPI = ens.m_PI * outer(-ens.vapi_prev, rI_prev)
        if ens.model_type == "BP":
            _refresh_B(ens)
            if not dpc:
                ens.BPI = -ens.B[:, :, lay.p_sizes[0]:]
    # 7. apply
    _advance_voltages(ens, duP, duI)
    if LW:
        ens.WPP += ens.dWPP
    if LL:
        if not dpc:
            ens.WIP += ens.dWIP
        if ens.m_PI is not None:
            ens.BPI += ens.dBPI


def step_ann(ens, x, y, LW, LL, LB, compare=False):
    """ann: rate network with explicit error units, no lookahead (SPEC 4.3)."""
    lay = ens.lay
    n0, NPh = lay.n0, lay.NPh
    ens.r_full, ens.r_full_prev = ens.r_full_prev, ens.r_full
    ens.r_full[:, n0:] = ens.phiP(ens.uP)
    d = ens.phiP.d(ens.uP)
    ens.r_full[:, :n0] = x
    rP = ens.r_full[:, n0:]
    duI = np.empty_like(ens.uI)
    duI[:, :NPh] = mv(d[:, :NPh, None] * ens.B, ens.uI) - ens.uI[:, :NPh]
    if y is not None:
        duI[:, lay.out] = d[:, lay.out] * (y - rP[:, lay.out]) - ens.uI[:, lay.out]
    else:
        duI[:, lay.out] = 0 - ens.uI[:, lay.out]
    duP = mv(ens.c_ann * ens.WPP, ens.r_full) - ens.uP
    if LW or LL or LB or compare:
        ens.dWPP = ens.m_WPP * outer(ens.uI, ens.r_full_prev)
        if ens.model_type == "BP":
            _refresh_B(ens)
    _advance_voltages(ens, duP, duI)
    if LW:
        ens.WPP += ens.dWPP


STEP = {"errormc": step_errormc, "sacramento2018": step_sacramento, "dPC": step_sacramento,
        "ann": step_ann}


def step(ens, x, y, LW=False, LL=False, LB=False, compare=False):
    STEP[ens.kind](ens, x, y, LW, LL, LB, compare)
