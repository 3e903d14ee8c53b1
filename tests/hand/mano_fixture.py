"""A synthetic, structurally valid MANO-format model for tests (no licensed data).

The geometry is a crude hand made of 16 tubes (palm + 15 finger segments) around a hand-like
skeleton in MANO joint order, with 778 vertices (smplx's fingertip vertex ids 744/320/443/554/671
sit at the finger ends), smooth random skinning weights, a sparse joint regressor with rows
summing to 1, random shape directions (the first one a size change, as in MANO) and small random
pose correctives. It is placed in an arbitrary rotated "MANO-like" frame so the importer cannot
rely on axis conventions. Every random draw comes from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import pickle
import sys
import types
from pathlib import Path

import numpy as np
import scipy.sparse

PARENTS = np.array([-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14])
TIP_IDS = {"thumb": 744, "index": 320, "middle": 443, "ring": 554, "pinky": 671}
# Distal bone -> finger name.
_DISTAL = {3: "index", 6: "middle", 9: "pinky", 12: "ring", 15: "thumb"}

# Right hand, x little-finger side, y toward the fingers, z dorsal (metres), MANO joint order.
_JOINTS = np.array([
    [0.000, 0.000, 0.000],
    [-0.025, 0.085, 0.000], [-0.028, 0.125, 0.000], [-0.030, 0.150, 0.000],
    [-0.005, 0.088, 0.000], [-0.005, 0.133, 0.000], [-0.005, 0.160, 0.000],
    [0.033, 0.075, 0.000], [0.037, 0.105, 0.000], [0.040, 0.124, 0.000],
    [0.015, 0.083, 0.000], [0.017, 0.123, 0.000], [0.019, 0.148, 0.000],
    [-0.030, 0.025, -0.010], [-0.055, 0.050, -0.015], [-0.070, 0.075, -0.015],
])  # fmt: skip
_TIPS = {3: [-0.031, 0.172, 0.0], 6: [-0.005, 0.183, 0.0], 9: [0.041, 0.142, 0.0],
         12: [0.020, 0.170, 0.0], 15: [-0.080, 0.097, -0.012]}
_N_RINGS, _N_AROUND = 6, 8


def _rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    return q


def make_mano_right(rng: np.random.Generator) -> dict[str, object]:
    """A synthetic right-hand MANO model dict (plain numpy; ``J_regressor`` scipy.sparse csc)."""
    joints = _JOINTS + rng.normal(scale=0.001, size=_JOINTS.shape)
    verts, faces, bone_of, t_of, ring0 = [], [], [], [], {}
    child = {int(p): j for j, p in reversed(list(enumerate(PARENTS))) if p >= 0}
    tip_vertex = {}
    for b in range(16):
        s = joints[b]
        e = np.array(_TIPS[b]) if b in _TIPS else joints[4] * 0.8 if b == 0 else joints[child[b]]
        a = (e - s) / np.linalg.norm(e - s)
        z = np.array([0.0, 0.0, 1.0])
        w = z - a * (z @ a)
        w /= np.linalg.norm(w)
        u = np.cross(w, a)
        ru, rw = (0.035, 0.012) if b == 0 else (0.010, 0.009) if b >= 13 else (0.008, 0.007)
        start = len(verts)
        ring0[b] = list(range(start, start + _N_AROUND))
        for i in range(_N_RINGS):
            t = i / (_N_RINGS - 1)
            for k in range(_N_AROUND):
                th = 2 * np.pi * k / _N_AROUND
                verts.append(s + t * (e - s) + ru * np.cos(th) * u + rw * np.sin(th) * w)
                bone_of.append(b)
                t_of.append(t)
        for i in range(_N_RINGS - 1):
            for k in range(_N_AROUND):
                A = start + i * _N_AROUND + k
                B = start + i * _N_AROUND + (k + 1) % _N_AROUND
                C = A + _N_AROUND
                Dd = B + _N_AROUND
                faces += [[A, B, C], [B, Dd, C]]
        if b in _DISTAL:
            tip_vertex[_DISTAL[b]] = len(verts)
            verts.append(e + 0.006 * a)
            bone_of.append(b)
            t_of.append(1.0)
            last = start + (_N_RINGS - 1) * _N_AROUND
            for k in range(_N_AROUND):
                faces.append([last + k, last + (k + 1) % _N_AROUND, tip_vertex[_DISTAL[b]]])
    while len(verts) < 778:  # unreferenced filler vertices inside the palm
        verts.append(joints[0] * 0.5 + joints[4] * 0.3 + rng.normal(scale=0.003, size=3))
        bone_of.append(0)
        t_of.append(0.5)
    v = np.array(verts)
    bone_of_a = np.array(bone_of)
    t_a = np.array(t_of)

    W = np.zeros((778, 16))
    W[np.arange(778), bone_of_a] = 1.0 + rng.uniform(0, 0.05, 778)
    for i, (b, t) in enumerate(zip(bone_of_a, t_a, strict=True)):
        if b > 0:
            W[i, PARENTS[b]] += 0.6 * max(0.0, 1.0 - 2.0 * t)
        if b in child:
            W[i, child[b]] += 0.3 * max(0.0, 2.0 * t - 1.0)
        W[i, rng.integers(0, 16)] += rng.uniform(0, 0.02)
    W /= W.sum(1, keepdims=True)

    Jr = np.zeros((16, 778))
    for b in range(16):
        r = rng.uniform(0.5, 1.5, _N_AROUND)
        Jr[b, ring0[b]] = r / r.sum()

    # Permute so the tips land on smplx's MANO tip ids.
    order = np.full(778, -1)
    for finger, new_id in TIP_IDS.items():
        order[new_id] = tip_vertex[finger]
    rest = [i for i in range(778) if i not in set(tip_vertex.values())]
    order[order < 0] = rest
    inv = np.empty(778, dtype=np.int64)
    inv[order] = np.arange(778)
    v, W, Jr = v[order], W[order], Jr[:, order]
    f = inv[np.array(faces)]

    c = v.mean(0)
    sd = np.empty((778, 3, 10))
    sd[:, :, 0] = 0.03 * (v - c)  # MANO's first component is an overall size change
    for s in range(1, 10):
        sd[:, :, s] = (v - c) @ rng.normal(scale=0.01, size=(3, 3)) + rng.normal(scale=2e-4, size=(778, 3))
    pd = rng.normal(scale=2e-3, size=(778, 3, 135))

    # Move everything into an arbitrary rotated frame with the wrist away from the origin.
    Rm = _rotation(rng)
    off = np.array([0.09, 0.006, 0.006])
    v = v @ Rm.T + off
    sd = np.einsum("dc,vcs->vds", Rm, sd)
    P = pd.reshape(3 * 778, 135).T  # (135, 3V) smplx layout
    K = np.kron(np.eye(15), np.kron(Rm, Rm))  # feature in the new frame: f_old = f_new K
    pd = ((K @ P).reshape(135, 778, 3) @ Rm.T).reshape(135, 3 * 778).T.reshape(778, 3, 135)

    kin = np.stack([PARENTS, np.arange(16)]).astype(np.int64)
    kin[0, 0] = 4294967295  # as in the released files
    return {
        "v_template": v,
        "f": f.astype(np.uint32),
        "weights": W,
        "kintree_table": kin,
        "J_regressor": scipy.sparse.csc_matrix(Jr),
        "shapedirs": sd,
        "posedirs": pd,
        "hands_components": np.linalg.qr(rng.normal(size=(45, 45)))[0],
        "hands_mean": rng.normal(scale=0.1, size=45),
        "hands_coeffs": rng.normal(size=(4, 45)),
        "bs_style": "lbs",
        "bs_type": "lrotmin",
    }


def mirror_model(right: dict[str, object], buggy_shapedirs: bool = True) -> dict[str, object]:
    """The left-hand model: the exact x-mirror of ``right`` (MANO's left/right relation), faces
    re-wound. With ``buggy_shapedirs`` the shape directions are copied unmirrored from the right
    model, like the released MANO_LEFT.pkl (smplx issue #48)."""
    M = np.diag([-1.0, 1.0, 1.0])
    out = dict(right)
    V = right["v_template"].shape[0]  # type: ignore[union-attr]
    out["v_template"] = right["v_template"] @ M  # type: ignore[operator]
    out["f"] = right["f"][:, ::-1].copy()  # type: ignore[index]
    sd = np.asarray(right["shapedirs"])
    out["shapedirs"] = sd.copy() if buggy_shapedirs else np.einsum("dc,vcs->vds", M, sd)
    P = np.asarray(right["posedirs"]).reshape(3 * V, 135).T
    K = np.kron(np.eye(15), np.kron(M, M))
    out["posedirs"] = ((K @ P).reshape(135, V, 3) @ M).reshape(135, 3 * V).T.reshape(V, 3, 135)
    return out


def _fake_chumpy() -> dict[str, type]:
    """Classes that pickle under chumpy's module and class names, with chumpy's attribute names
    (``chumpy.ch.Ch.x``; ``chumpy.reordering`` ``Select(a, idxs, preferred_shape)``,
    ``Reshape(a, newshape)``, ``transpose(a, axes)``) and chumpy-like private state."""

    class _Base:
        def __init__(self, **kw: object) -> None:
            self._dirty_vars = set()
            self._itr = None
            self._depends_on_deps = {}
            self.__dict__.update(kw)

    class Ch(_Base):
        pass

    class Select(_Base):
        pass

    class Reshape(_Base):
        pass

    class transpose(_Base):  # noqa: N801 - chumpy's class name
        pass

    out = {}
    for cls, mod in ((Ch, "chumpy.ch"), (Select, "chumpy.reordering"), (Reshape, "chumpy.reordering"),
                     (transpose, "chumpy.reordering")):
        cls.__module__, cls.__qualname__ = mod, cls.__name__
        out[cls.__name__] = cls
    return out


def save_pkl(model: dict[str, object], path: Path, chumpy: bool, protocol: int = 2) -> Path:
    """Pickle ``model`` (default protocol 2, like the released files); with ``chumpy`` ``v_template`` is a
    ``chumpy.ch.Ch``, ``posedirs`` a ``Reshape``, ``shapedirs`` a ``transpose`` and ``weights`` a
    ``Select`` of ``Ch`` objects -- pickled through a temporary fake ``chumpy`` package that is
    removed again, so loading must work without chumpy."""
    data = dict(model)
    if not chumpy:
        with open(path, "wb") as fh:
            pickle.dump(data, fh, protocol=protocol)
        return path
    fake = _fake_chumpy()
    Ch = fake["Ch"]
    mods = {"chumpy": types.ModuleType("chumpy"), "chumpy.ch": types.ModuleType("chumpy.ch"),
            "chumpy.reordering": types.ModuleType("chumpy.reordering")}
    for name, cls in fake.items():
        setattr(mods[cls.__module__], name, cls)
    saved = {k: sys.modules.get(k) for k in mods}
    sys.modules.update(mods)
    try:
        data["v_template"] = Ch(x=np.asarray(model["v_template"]))
        pd = np.asarray(model["posedirs"])
        data["posedirs"] = fake["Reshape"](a=Ch(x=pd.ravel()), newshape=pd.shape)
        sd = np.asarray(model["shapedirs"])
        data["shapedirs"] = fake["transpose"](a=Ch(x=np.ascontiguousarray(sd.transpose(2, 0, 1))), axes=(1, 2, 0))
        w = np.asarray(model["weights"])
        data["weights"] = fake["Select"](a=Ch(x=w.ravel()[::-1].copy()), idxs=np.arange(w.size)[::-1].copy(),
                                         preferred_shape=w.shape)
        with open(path, "wb") as fh:
            pickle.dump(data, fh, protocol=protocol)
    finally:
        for k, m in saved.items():
            if m is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = m
    return path


def save_npz(model: dict[str, object], path: Path, sparse_object: bool = False) -> Path:
    """Save ``model`` as an ``.npz``: a dense regressor and no pickled objects, or with
    ``sparse_object`` the scipy.sparse regressor pickled inside an object member."""
    data = {k: (v.toarray() if hasattr(v, "toarray") else np.asarray(v)) for k, v in model.items()}
    if sparse_object:
        obj = np.empty((), dtype=object)
        obj[()] = scipy.sparse.csc_matrix(data["J_regressor"])
        data["J_regressor"] = obj
    np.savez(path, **data)
    return path


def save_unsupported_chumpy_pkl(model: dict[str, object], path: Path) -> Path:
    """A pickle whose ``v_template`` is a chumpy arithmetic op (``chumpy.ch_ops.add``)."""
    fake = _fake_chumpy()

    class add:  # noqa: N801 - chumpy's class name
        def __init__(self, a: object, b: object) -> None:
            self.a, self.b = a, b

    add.__module__, add.__qualname__ = "chumpy.ch_ops", "add"
    mods = {"chumpy": types.ModuleType("chumpy"), "chumpy.ch": types.ModuleType("chumpy.ch"),
            "chumpy.ch_ops": types.ModuleType("chumpy.ch_ops")}
    mods["chumpy.ch"].Ch = fake["Ch"]  # type: ignore[attr-defined]
    mods["chumpy.ch_ops"].add = add  # type: ignore[attr-defined]
    saved = {k: sys.modules.get(k) for k in mods}
    sys.modules.update(mods)
    try:
        v = np.asarray(model["v_template"])
        data = {**model, "v_template": add(fake["Ch"](x=v), fake["Ch"](x=np.zeros_like(v)))}
        with open(path, "wb") as fh:
            pickle.dump(data, fh, protocol=2)
    finally:
        for k, m in saved.items():
            if m is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = m
    return path
