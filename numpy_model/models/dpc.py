"""dPC: dendritic predictive coding (Mikulasch et al., 2023; docs/model.md §4.2).

The pyramidal dynamics, time constants and forward rule of sacramento2018 (its equations are
reused from `numpy_model.models.sacramento2018`), with the interneuron replaced by the
pyramidal rates of the previous step and no interneuron soma:

    r_I := r_breve_P of the previous step (hidden layers);  u_I is never updated
    v_api = B_PP r_P,layer-above + B_PI r_I,   B_PP = W_PP initially, B_PI = B_PI,init W_IP,init
    lateral rule   dB_PI = (dt eta_PI) (-v_api,prev) r_I,prev^T      (no W_IP plasticity)
    BP             B_PP = W_PP^T + N, refreshed from the pre-update W_PP
A linear activation is used for the students whatever `activation` says (§4.2).
"""
import numpy as np

from . import common, sacramento2018 as sac
from .kernels import add_into, euler_increment, lookahead, matvec, rank1

RATE_TARGET_DEFAULT = False
interneuron_sizes = sac.interneuron_sizes
lateral_length = sac.lateral_length


def constants(nets, P, lay, taur=None, rate_target=None):
    return sac.constants(nets, P, lay, taur, rate_target, kind="dPC")


def initial_state(nets, C):
    st = sac.initial_state(nets, C)
    st.rIb = st.r_full[:, C.lay.n0:C.lay.n0 + C.lay.NPh].copy()
    st.rIb_prev = st.rIb.copy()
    st.r_full_prev2 = st.r_full.copy()
    st.ub_prev = st.ub.copy()
    return st


def step(C, st, x, y, phase):
    """One dt for every network (§4.2), in place."""
    n0, NP, NPh = C.lay.n0, C.lay.NP, C.lay.NPh
    st.r_full, st.r_full_prev, st.r_full_prev2 = st.r_full_prev2, st.r_full, st.r_full_prev
    st.vbas, st.vbas_prev = st.vbas_prev, st.vbas
    st.vapi, st.vapi_prev = st.vapi_prev, st.vapi
    st.ub, st.ub_prev = st.ub_prev, st.ub
    rI = st.r_full_prev[:, n0:n0 + NPh]            # r_breve_I := r_breve_P of the previous step
    rI_prev = st.r_full_prev2[:, n0:n0 + NPh]
    ub = lookahead(st.u, st.u_old, C.tau_look, C.dt, out=st.ub)
    rP = st.r_full[:, n0:]
    C.phiP(ub[:, :NP], out=rP)
    st.r_full[:, :n0] = x
    matvec(st.WPP, C.WPP, st.r_full, st.vbas)
    sac.apical(C, st, rP, rI)
    D = np.zeros_like(st.u)
    tau_drive = sac.pyramidal_drive(C, st, y, D)
    du = euler_increment(D, st.u, tau_drive, C.tau, C.dt)
    du[:, NP:] = 0.0                                # dPC interneuron somata are never updated
    post = None
    if phase.plastic:
        post = common.forward_post(C, st)
        common.forward_plasticity(C, st, post)
        if C.lr_PI is not None:
            rank1(st.dBPI, C.BPI, -st.vapi_prev, rI_prev, C.lr_PI)
        if C.refresh is not None:
            common.bp_refresh(C, st)
    common.advance(st, du)
    if phase.fw:
        common.apply_forward(C, st, post)
    if phase.lat and C.lr_PI is not None:
        add_into(st.BPI, st.dBPI)


def layers_of(C, st, name):
    """dPC's recordable variables: its "interneuron" values are the previous pyramidal ones."""
    lay = C.lay
    if name == "uI_breve":
        return lay.split(st.ub_prev[:, :lay.NP])
    if name == "rI_breve":
        return lay.split(st.r_full_prev[:, lay.n0:])
    if name == "lat_mismatch":
        return sac.lat_mismatch(C, st, st.ub_prev[:, lay.p_sizes[0]:lay.NP])
    return sac.shared_layers(C, st, name)
