"""The step function of each model kind, over a whole ensemble (SPEC section 4).

`step(ens, x, y, LW, LL, LB, compare=False)` advances every network of `ens` by one dt, in place:
  x  (S, n0) input rates;  y  (S, n_out) target used for nudging, or None (no target in the
  dynamics: settling, validation, testing);  LW/LL/LB learn forward/lateral/backward weights;
  compare: compute the plasticity (dWPP) without applying it (SPEC 9.1).
"Old" buffers are swapped, not copied; all per-layer structure lives in block matrices and
per-unit vectors (numpy_model.layout), and both populations share one voltage vector
u = [uP | uI], so a step is a fixed number of NumPy calls, independent of depth.
Every per-element expression keeps the published grouping (SPEC 0, "float evaluation order").
"""
import numpy as np


def _mv_matmul(W, v):
    return np.matmul(W, v[:, :, None])[:, :, 0]


# Batched matrix-vector product W @ v over the seed axis: (S, a, b), (S, b) -> (S, a).
# numpy >= 2.2 has it as one gufunc (same kernel and numbers as matmul, less call overhead).
mv = getattr(np, "matvec", _mv_matmul)


def outer(a, b):
    """Batched outer product (S, m), (S, n) -> (S, m, n); each entry is the single product a_i b_j."""
    return np.einsum("si,sj->sij", a, b)


def lookahead(u, u_old, tau, dt):
    """Prospective voltage u_breve = u_old + (tau (u - u_old)) / dt (SPEC 3)."""
    return u_old + (tau * (u - u_old)) / dt


def euler_increment(drive, u, tau_drive, tau_div, dt):
    """Delta u = dt ((tau D - u) / tau) (SPEC 3); tau_drive differs from tau_div only for the
    sacramento2018/dPC output without target (quirk 12.5)."""
    return dt * ((tau_drive * drive - u) / tau_div)


def _refresh_B(ens):
    """BP backward weights from the current (pre-update) WPP, in place (SPEC 4.1 step 6, 4.4.3):
    B = [triu](N_B + gathered WPP^T). Where error and representation sizes agree the gather is a
    transposed view of WPP times a 0/1 mask (exact); otherwise precomputed flat indices."""
    if ens.B_mask is not None:
        np.multiply(np.swapaxes(ens.WPP[:, :, ens.lay.n0:], 1, 2)[:, :ens.B.shape[1], :ens.B.shape[2]],
                    ens.B_mask, out=ens.B)
        ens.B += ens.N_B
    else:
        S = ens.S
        if not ens.B_fresh:           # entries outside the gather only ever need N_B once
            np.copyto(ens.B, ens.N_B)
            ens.B_fresh = True
        ens.B.reshape(S, -1)[:, ens.g_dst] = ens.N_B_dst + ens.WPP.reshape(S, -1)[:, ens.g_src]


def _advance(ens, du):
    """u_old <- u (buffer swap), u <- u + Delta u."""
    ens.u_old, ens.u = ens.u, ens.u_old
    np.add(ens.u_old, du, out=ens.u)


def _post_fw(ens, c):
    """Forward plasticity postsynaptic term (SPEC 4.1 step 6, 4.4.1)."""
    if ens.dWPP_use_activation:
        return ens.rPb - ens.phiP(c * ens.vbas_prev)
    return ens.uPb - c * ens.vbas_prev


def _rates_P(ens, arg):
    """r_breve_P = phi(arg) written into the full rate vector; returns the rP view."""
    rP = ens.r_full[:, ens.lay.n0:]
    ens.phiP(arg, out=rP)
    return rP


def step_errormc(ens, x, y, LW, LL, LB, compare=False):
    """errormc: representation units uP and error units uE (stored as uI), SPEC 4.4."""
    lay, dt, g = ens.lay, ens.dt, ens.g
    n0, NP = lay.n0, lay.NP
    # 1. buffers
    ens.r_full, ens.r_full_prev = ens.r_full_prev, ens.r_full
    ens.rIb, ens.rIb_prev = ens.rIb_prev, ens.rIb
    ens.vbas_prev, ens.vden_prev, ens.vapi_prev = ens.vbas, ens.vden, ens.vapi
    # 2. lookahead and rates
    ub = ens.ub = lookahead(ens.u, ens.u_old, ens.tau_look, dt)
    uPb, uIb = ub[:, :NP], ub[:, NP:]
    if ens.rep_lookahead is None:
        rP = _rates_P(ens, uPb)
        dP = ens.dP = ens.phiP.d(uPb, rP)
    else:
        rP = _rates_P(ens, np.where(ens.rep_lookahead, uPb, ens.uP))
        dP = ens.dP = ens.phiP.d(uPb)
    argE = uIb if ens.error_lookahead is None else np.where(ens.error_lookahead, uIb, ens.uI)
    rE = ens.rIb = ens.psiE(argE)
    # 3. x_last <- x
    ens.r_full[:, :n0] = x
    # 4.-6. dendrites
    ens.vbas = mv(ens.WPP, ens.r_full)
    a_vapi = mv(ens.BB, rE)            # [BII r_E | BPI r_E]
    a, ens.vapi = a_vapi[:, :lay.NI], a_vapi[:, lay.NI:]
    ens.vden = mv(ens.WIP, dP) * a if ens.varphi_transfer else a
    # 8. increments (drive D = [g_b vbas + g_a vapi | g_d vden, output: nudging])
    D = ens.D
    DP, DE = D[:, :NP], D[:, NP:]
    np.multiply(ens.vbas, g["gb"], out=DP)
    DP += g["ga"] * ens.vapi
    np.multiply(ens.vden, g["gd"], out=DE)
    if y is not None:
        if ens.gtW_out is None:       # g_t WIP[out], cached until WIP learns
            ens.gtW_out = g["gt"] * ens.WIP[:, lay.i_out, lay.out]
        DE[:, lay.i_out] = mv(ens.gtW_out * dP[:, None, lay.out], y - rP[:, lay.out])
    else:
        DE[:, lay.i_out] = 0.0
    du = euler_increment(D, ens.u, ens.tau, ens.tau, dt)
    # 9. plasticity
    if LW or LL or LB or compare:
        post = _post_fw(ens, ens.c_fw)
        ens.dWPP = outer(post, ens.r_full_prev) * ens.m_WPP
        if ens.m_IP is not None:
            ens.dWIP = ens.m_IP * (ens.WIP - ens.I_WIP)
        if ens.m_PI is not None:
            ens.dBPI = ens.m_PI * (ens.BPI - ens.I_BPI)
        if ens.model_type == "BP":
            _refresh_B(ens)
    # 10. apply
    _advance(ens, du)
    if LW:
        if ens.dWPP_low_pass:
            ens.LWPP += (dt / ens.tauLO) * (ens.dWPP - ens.LWPP)
            ens.WPP += ens.LWPP
        else:
            ens.WPP += ens.dWPP
    if LL:
        if ens.m_IP is not None:
            ens.WIP += ens.dWIP
            ens.gtW_out = None
        if ens.m_PI is not None:
            ens.BPI += ens.dBPI


def step_sacramento(ens, x, y, LW, LL, LB, compare=False):
    """sacramento2018 (pyramidal cells + interneurons, SPEC 4.1) and dPC (SPEC 4.2)."""
    lay, dt, g = ens.lay, ens.dt, ens.g
    n0, NP, NPh, n1 = lay.n0, lay.NP, lay.NPh, lay.p_sizes[0]
    dpc = ens.kind == "dPC"
    # 1. buffers
    if dpc:
        ens.r_full, ens.r_full_prev, ens.r_full_prev2 = ens.r_full_prev2, ens.r_full, ens.r_full_prev
        ens.ub_prev = ens.ub
        rI = ens.r_full_prev[:, n0:n0 + NPh]          # r_breve_I := r_breve_P of the previous step
        rI_prev = ens.r_full_prev2[:, n0:n0 + NPh]
    else:
        ens.r_full, ens.r_full_prev = ens.r_full_prev, ens.r_full
        ens.rIb, ens.rIb_prev = ens.rIb_prev, ens.rIb
        rI_prev = ens.rIb_prev
    ens.vbas_prev, ens.vden_prev, ens.vapi_prev = ens.vbas, ens.vden, ens.vapi
    # 2. lookahead and rates
    ub = ens.ub = lookahead(ens.u, ens.u_old, ens.tau_look, dt)
    uPb = ub[:, :NP]
    rP = _rates_P(ens, uPb)
    if not dpc:
        rI = ens.rIb = ens.phiI(ub[:, NP:])
    # 3. x_last <- x
    ens.r_full[:, :n0] = x
    # 4. dendrites
    ens.vbas = mv(ens.WPP, ens.r_full)
    if not dpc:
        ens.vden = mv(ens.WIP, rP)
    ens.vapi = mv(ens.B, rP) + mv(ens.BPI, rI)
    # 5. increments: D = [g_b vbas + g_x [vapi | y], g_d vden + g_n uP_breve(layer above)]
    D = ens.D
    DP = D[:, :NP]
    apical = ens.apical
    apical[:, :NPh] = ens.vapi
    if y is not None:
        apical[:, lay.out] = y
        tau_drive = ens.tau
    else:
        apical[:, lay.out] = 0.0
        tau_drive = ens.tau_drive_nt
    np.multiply(ens.vbas, g["gb"], out=DP)
    DP += ens.gx * apical
    if not dpc:
        DI = D[:, NP:]
        np.multiply(ens.vden, g["gd"], out=DI)
        DI += g["gn"] * uPb[:, n1:]
    du = euler_increment(D, ens.u, tau_drive, ens.tau, dt)
    if dpc:
        du[:, NP:] = 0.0       # dPC interneuron somata are never updated
    # 6. plasticity
    if LW or LL or LB or compare:
        post = _post_fw(ens, ens.c_fw)
        ens.dWPP = outer(post, ens.r_full_prev) * ens.m_WPP
        if not dpc:
            postI = ens.rIb - ens.phiI((g["gd"] / (g["gl"] + g["gd"])) * ens.vden_prev)
            ens.dWIP = outer(postI, ens.r_full_prev[:, n0:]) * ens.m_IP
        if ens.m_PI is not None:
            ens.dBPI = outer(-ens.vapi_prev, rI_prev) * ens.m_PI
        if ens.model_type == "BP":
            _refresh_B(ens)
            if not dpc:
                np.negative(ens.B[:, :, n1:], out=ens.BPI)
    # 7. apply
    _advance(ens, du)
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
    n0, NP, NPh = lay.n0, lay.NP, lay.NPh
    ens.r_full, ens.r_full_prev = ens.r_full_prev, ens.r_full
    uP, uI = ens.uP, ens.uI
    rP = _rates_P(ens, uP)
    d = ens.phiP.d(uP, rP)
    ens.r_full[:, :n0] = x
    D = ens.D
    DI = D[:, NP:]
    DI[:, :NPh] = mv(d[:, :NPh, None] * ens.B, uI)
    if y is not None:
        DI[:, lay.out] = d[:, lay.out] * (y - rP[:, lay.out])
    else:
        DI[:, lay.out] = 0.0
    D[:, :NP] = mv(ens.c_ann * ens.WPP, ens.r_full)
    du = D - ens.u
    if LW or LL or LB or compare:
        ens.dWPP = outer(uI, ens.r_full_prev) * ens.m_WPP
        if ens.model_type == "BP":
            _refresh_B(ens)
    _advance(ens, du)
    if LW:
        ens.WPP += ens.dWPP


STEP = {"errormc": step_errormc, "sacramento2018": step_sacramento, "dPC": step_sacramento,
        "ann": step_ann}


def step(ens, x, y, LW=False, LL=False, LB=False, compare=False):
    STEP[ens.kind](ens, x, y, LW, LL, LB, compare)
