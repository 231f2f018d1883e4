"""Build teacher and student ensembles from params and run the protocol (docs/model.md §5.1, 7)."""
import copy
import warnings

import numpy as np

from .ensemble import Ensemble
from .circuit.init import apply_sps, draw_network
from .models import RATE_TARGET_DEFAULT, compiled, specialize
from .analysis.compare import run_compare
from .io import Network, final_state
from .params import effective_rate_target
from .protocol import TASKS, finish_logs, run_students, run_teacher, steps_per_sample
from .signals import step_inputs


class SetupError(ValueError):
    """A configuration that cannot be built (reported like a params error, exit code 2)."""


def teacher_seed(seeds):
    """§5.1.3: G.seed(seeds[0]); G.randint(100000, 999999)."""
    return int(np.random.RandomState(seeds[0]).randint(100000, 999999))


def _teacher_params(P):
    """The published params-dict mutations seen by the teacher (§5.1, quirk 12.15)."""
    Pt = dict(P)
    if P["mc_model"] != "errormc":
        Pt["fw_connection_mode"] = Pt["bw_connection_mode"] = "layered"
    tk = Pt["teacher_mc_model"] or P["mc_model"]
    eta = np.asarray(P["eta_fw"], dtype=float)
    Lt = len(P.get("teacher_layers") or P["layers"])
    if eta.ndim == 2 and tk != "errormc":
        eta = np.diag(eta)
    if len(eta) != Lt - 1:
        # the teacher never learns its forward weights; only the shape of eta_fw matters
        eta = np.zeros((Lt - 1, Lt - 1) if eta.ndim == 2 else Lt - 1)
    Pt["eta_fw"] = eta.tolist()
    if tk == "errormc" and Pt["init_realistic_connectivity"] and not (
            Pt["fw_connection_mode"] == Pt["bw_connection_mode"] == "skip"):
        raise SetupError("init_realistic_connectivity: the errormc teacher is built in layered mode "
                         "(the students' model forces it, as in the published code), but realistic "
                         "connectivity needs skip/skip; set init_realistic_connectivity to false")
    return Pt


def _copy_weights(dst, src):
    for name in ("WPP", "WIP", "BPI"):
        a, b = getattr(dst, name), getattr(src, name)
        if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b)):
            raise SetupError(f"copy_teacher_weights/--cont: {name} shapes differ "
                             f"({[x.shape for x in b]} -> {[x.shape for x in a]})")
        setattr(dst, name, [np.array(x, dtype=float) for x in b])
    bname = "BII" if dst.kind == "errormc" else "BPP"
    sname = "BII" if getattr(src, "BII", None) is not None and (
        getattr(src, "kind", getattr(src, "mc_model", None)) == "errormc") else "BPP"
    a, b = getattr(dst, bname), getattr(src, sname)
    if len(a) != len(b) or any(x.shape != np.shape(y) for x, y in zip(a, b)):
        raise SetupError(f"copy_teacher_weights/--cont: backward weights {sname} -> {bname} shapes differ")
    setattr(dst, bname, [np.array(x, dtype=float) for x in b])


def build(P, task, cont_models=None):
    """Draw students (and teacher) in the published order; returns (students, teacher, t_seed)."""
    kind = P["mc_model"]
    seeds = list(P["random_seed"])
    students = [draw_network(kind, P, s) for s in seeds]
    if P["init_in_SPS"] and kind in ("sacramento2018", "dPC"):
        for net in students:
            apply_sps(net, P)
    _, has_teacher = TASKS[task]
    teacher, t_seed = None, None
    if has_teacher:
        Pt = _teacher_params(P)
        t_seed = teacher_seed(seeds)
        tkind = P["teacher_mc_model"] or kind
        teacher = draw_network(tkind, Pt, t_seed, teacher=True,
                               cartpole_teacher=P["input_signal"] == "cartpole")
        if tkind in ("sacramento2018", "dPC"):
            apply_sps(teacher, Pt)
        if P["copy_teacher_weights"] or P["copy_teacher_voltages"]:
            for net in students:
                if P["copy_teacher_weights"]:
                    _copy_weights(net, teacher)
                if P["copy_teacher_voltages"]:
                    # the published copy sets uP, uP_old, uP_breve (and the uI lists) but not the
                    # construction-time rates, which stay phi(own initial voltages)
                    net.extra["rates_from"] = ([u.copy() for u in net.uP], [u.copy() for u in net.uI])
                    for name in ("uP", "uI"):
                        a, b = getattr(net, name), getattr(teacher, name)
                        if [x.shape for x in a] != [x.shape for x in b]:
                            raise SetupError(f"copy_teacher_voltages: {name} sizes of teacher and "
                                             f"students differ")
                        setattr(net, name, [x.copy() for x in b])
    if cont_models is not None:
        loaded = list(cont_models)
        if loaded and getattr(loaded[0], "is_teacher", False):
            if teacher is not None:
                _copy_weights(teacher, loaded[0])   # deviation: the published --cont skips the teacher
            loaded = loaded[1:]
        for net, src in zip(students, loaded):      # zip truncation, as published
            _copy_weights(net, src)
    return students, teacher, t_seed


def _ensemble(nets, P, taur=None, rate_target=None):
    return Ensemble.from_inits(nets, P, taur=taur, rate_target=rate_target)


def simulate(P, task="fw_only", cont_models=None, progress=None, compare=None, checkpointer=None,
             resume=None, log=None, info=None):
    """Run teacher and students; returns the list of saved Network objects (teacher first).
    With a Checkpointer the students' run is checkpointed; `resume` is a loaded checkpoint.
    log(message) receives the backend line and its warnings (default: warnings.warn for the
    warnings only); `info` (a dict) receives "backend", what ran (provenance)."""
    signal = P["input_signal"]
    if signal == "genMNIST":
        task = "fw_only_no_teacher"          # §5.1.2
    if resume is not None:
        head, run = resume["head"], resume["run"]
    else:
        head, run = _head(P, task, cont_models), None
    backend = head.get("backend", "numpy")
    for line in head.get("backend_log", ()):
        if log is not None:
            log(line)
        elif line.startswith("warning: "):
            warnings.warn(line[len("warning: "):])
    if info is not None:
        info["backend"] = backend
    if checkpointer is not None:
        checkpointer.head = head
    data, targets, extra, saved, ens = head["data"], head["targets"], head["extra"], head["saved"], head["ens"]
    run = run_students(ens, data, targets, P, task, progress=progress, run=run, checkpoint=checkpointer)
    ens, mon, arrays, logs = run.ens, run.mon, run.arrays, run.logs
    students = []
    for s in range(ens.S):
        arr = {"input": arrays["train"][0][s], "input_validation": arrays["val"][0][s],
               "input_testing": arrays["test"][0][s]}
        if targets is not None:
            arr.update(target=arrays["train"][1][s], target_validation=arrays["val"][1][s],
                       target_testing=arrays["test"][1][s])
        if logs is not None:
            arr.update(finish_logs(logs, s))
        students.append(_saved(ens, s, mon, P, arrays=arr))
        students[-1].__dict__.update(extra)
        if s in run.watch.found:
            students[-1].diverged = run.watch.found[s]
    if compare:
        if progress:
            progress(phase="comparing with backprop", epoch=P["epochs"], epochs=P["epochs"])
        healthy = [m for m in students if getattr(m, "diverged", None) is None]
        if healthy and len(healthy) == len(students):
            compare_students(ens, students, P)
        elif healthy:
            warnings.warn("--compare BP skipped: some seeds diverged")
    models = saved + students
    if run.watch.found:
        raise Diverged(models, run.watch.messages)
    return models


class Diverged(Exception):
    """Some seeds diverged; `models` holds every network (the diverged ones marked)."""

    def __init__(self, models, messages):
        super().__init__("; ".join(messages))
        self.models = models
        self.messages = messages


def _head(P, task, cont_models):
    """Build the networks, the input signal and run the teacher: the part of a run before the
    students' protocol (kept in checkpoints)."""
    signal = P["input_signal"]
    students, teacher, t_seed = build(P, task, cont_models)
    seeds = list(P["random_seed"])
    T = steps_per_sample(P)
    D = P["dataset_size"]
    IN = np.random.RandomState(t_seed if teacher is not None else seeds[0])
    mnist_targets, extra = None, {}
    if signal == "genMNIST":
        data, mnist_targets, source = mnist_inputs(T)
        extra["mnist_source"] = source
    elif signal == "cartpole":
        data = step_inputs(IN, D, T, P["layers"][0], low=-1.5, high=1.5)
    else:
        data = step_inputs(IN, D, T, P["layers"][0])
    rate_target = effective_rate_target(P)
    ens = _ensemble(students, P, taur=P.get("taur"), rate_target=rate_target)
    requested = P.get("backend") or "auto"
    use, why = compiled.resolve(requested)
    log = [f"warning: {why}"] if why else []
    ens, why = compiled.choose(ens, use, "students' model")
    fallbacks = [why] if why else []
    ens = specialize.choose(ens, P.get("specialize") or "auto", len(seeds) * P["epochs"] * len(data["train"]))
    backend = ens.c.backend
    saved = []
    targets = None
    if teacher is not None:
        Pt = _teacher_params(P)
        tens = _ensemble([teacher], Pt, rate_target=RATE_TARGET_DEFAULT[teacher.kind])
        tens, why = compiled.choose(tens, use, f"teacher ({teacher.kind})")
        fallbacks += [why] if why else []
        if tens.c.backend != backend:
            backend = f"{backend} (teacher {tens.c.backend})"
        targets, tmon, tlogs = run_teacher(tens, data, Pt, rate_target)
        arr = {"input": data["train"], "input_validation": data["val"], "input_testing": data["test"],
               "target": targets["train"], "target_validation": targets["val"],
               "target_testing": targets["test"]}
        if tlogs is not None:
            arr.update(finish_logs(tlogs, 0))
        saved.append(_saved(tens, 0, tmon, Pt, teacher=True, arrays=arr))
    if mnist_targets is not None:
        targets = mnist_targets
    line = compiled.backend_line(backend) + ("; training on a kernel compiled for this net's sizes (specialize)"
                                             if ens.c.specialize else "")
    if fallbacks and requested == "numba":        # asked for explicitly: one warning line
        log.append("warning: " + "; ".join(fallbacks))
    elif fallbacks:                               # auto: the backend line says what runs where
        line += " (" + "; ".join(f.replace("backend numba: ", "") for f in fallbacks) + ")"
    log.insert(0, line)
    return {"data": data, "targets": targets, "extra": extra, "saved": saved, "ens": ens,
            "backend": backend, "backend_log": log}


def mnist_inputs(T):
    """genMNIST (§6.3): one-hot label inputs and the first image of each digit as targets,
    each held T steps; train = validation = test."""
    from .mnist import MNISTError, load_digits
    try:
        labels, images, source = load_digits()
    except MNISTError as exc:
        raise SetupError(f"input_signal genMNIST: {exc}") from exc
    X = np.repeat(np.eye(10)[labels], T, axis=0)
    Y = np.repeat(np.asarray(images, dtype=float), T, axis=0)
    data = {split: X for split in ("train", "val", "test")}
    return data, {split: Y for split in ("train", "val", "test")}, source


def compare_students(ens, students, P):
    """--compare BP on a live ensemble; the saved state is the one after the comparison pass."""
    if not students or getattr(students[0], "target", None) is None:
        raise SetupError("--compare BP needs a run with teacher targets (tasks fw_only, fw_bw)")
    run_compare(ens, students, P)
    for s, m in enumerate(students):
        m.__dict__.update(final_state(ens, s))
        m.state = ens.seed_state(s)


def restore_ensemble(saved, P=None):
    """Rebuild an ensemble from saved networks of one kind (students, or a teacher) and their
    saved dynamic state, without simulating. P defaults to the params stored in the objects."""
    if any(not isinstance(getattr(m, "state", None), dict) or "dWPP" not in m.state
           or isinstance(m.state.get("WPP"), np.ndarray) for m in saved):
        raise SetupError("the loaded model.pkl has no saved simulation state in this version's "
                         "format (written by an older version); rerun the simulation")
    P = P if P is not None else saved[0].params
    teacher = bool(getattr(saved[0], "is_teacher", False))
    kind = saved[0].mc_model
    nets = [draw_network(kind, P, m.seed, teacher=teacher,
                         cartpole_teacher=teacher and P["input_signal"] == "cartpole") for m in saved]
    if (teacher or P["init_in_SPS"]) and kind in ("sacramento2018", "dPC"):
        for net in nets:
            apply_sps(net, P)
    ens = Ensemble.from_inits(nets, P, taur=None if teacher else P.get("taur"),
                              rate_target=saved[0].rate_target)
    ens.restore([m.state for m in saved])
    for s, m in enumerate(saved):
        ens.rngs[s] = m.rng
    return ens


def compare_loaded(models, P):
    """--compare BP on a loaded model.pkl: rebuild the students' ensemble from their saved
    state (no simulation) and compare; updates the student objects in place."""
    students = [m for m in models if not getattr(m, "is_teacher", False)]
    if not students:
        raise SetupError("--compare BP: the loaded file holds no students")
    try:
        ens = restore_ensemble(students, P)
    except SetupError as exc:
        raise SetupError(f"--compare BP: {exc}") from exc
    use, why = compiled.resolve(P.get("backend") or "auto")
    ens, fallback = compiled.choose(ens, use, "--compare BP pass")
    for line in (why, fallback):
        if line:
            warnings.warn(line)
    compare_students(ens, students, P)
    return models


def _saved(ens, s, mon, P, teacher=False, arrays=None):
    attrs = dict(
        is_teacher=teacher, seed=ens.seeds[s], mc_model=ens.kind, model=ens.model_type,
        model_type=ens.model_type, layers=list(ens.layers), error_layers=list(ens.error_layers),
        dt=P["dt"], Tpres=P["Tpres"], dataset_size=P["dataset_size"], settling_time=P["settling_time"],
        rec_per_steps=P["rec_per_steps"], epochs=1 if teacher else P["epochs"],
        input_signal=P["input_signal"], rate_target=ens.rate_target,
        target_rescale_factor=P["target_rescale_factor"],
        gl=P["gl"], gbas=P["gbas"], gapi=P["gapi"], gden=P["gden"], gnI=P["gnI"], gntgt=P["gntgt"],
        eta_fw=copy.deepcopy(ens.eta_fw), eta_IP=list(ens.eta_IP), eta_PI=list(ens.eta_PI),
        fw_connection_mode=ens.fw_mode, bw_connection_mode=ens.bw_mode,
        activation=list(ens.phiP.names), rng=ens.rngs[s],
        params=copy.deepcopy({k: v for k, v in P.items() if not k.startswith("_")}),
    )
    attrs.update(final_state(ens, s))
    attrs["state"] = ens.seed_state(s)
    attrs.update(mon.seed_series(s))
    if arrays:
        attrs.update({k: np.array(v) for k, v in arrays.items()})
    return Network(**attrs)
