"""Props: watertight meshes, materials as plain data, affordances, analytic distance vs trimesh."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from synth.props.grasps import GRASP_CONTACTS
from synth.props.library import MATERIAL_PRESETS, PROP_NAMES, affordances, make_prop, props_affording


def test_at_least_twelve_props() -> None:
    assert len(PROP_NAMES) >= 12
    for n in ("phone", "mug", "bottle", "cup", "pen", "ball", "card", "key", "mouse", "remote", "book",
              "toothbrush"):
        assert n in PROP_NAMES


@pytest.mark.parametrize("name", PROP_NAMES)
def test_prop_mesh_materials_affordances(name: str) -> None:
    p = make_prop(name, np.random.default_rng(3))
    assert p.name == name and p.category
    m = p.mesh
    assert m.is_watertight
    for comp in p.component_meshes():
        assert comp.is_watertight and comp.is_volume and comp.volume > 0
    ext = m.extents
    assert 0.0005 < ext.min() and ext.max() < 0.3, ext  # metres: everyday hand-held sizes
    assert p.face_material.shape == (len(m.faces),)
    assert p.face_material.min() >= 0 and p.face_material.max() < len(p.material_slots)
    assert set(np.unique(p.face_material)) == set(range(len(p.material_slots)))  # every slot used
    for slot in p.material_slots:
        mat = p.materials[slot]
        assert slot in MATERIAL_PRESETS
        assert all(0.0 <= c <= 1.0 for c in mat.base_color)
        assert 0.0 <= mat.roughness <= 1.0 and mat.metallic in (0.0, 0.3, 1.0)
        assert mat.color_name in MATERIAL_PRESETS[slot].palette
    assert p.affords and all(g in GRASP_CONTACTS for g in p.affords)
    assert affordances(name) == p.affords
    d = p.describe()
    assert d["name"] == name and set(d["materials"]) == set(p.material_slots)


def test_affordances_use_the_gesture_library_names() -> None:
    from synth.gestures.library import load_library

    grasps = {g.name for g in load_library().in_category("grasp")}
    assert set(GRASP_CONTACTS) == grasps
    for n in PROP_NAMES:
        assert set(affordances(n)) <= grasps
    assert "mug" in props_affording("large_diameter")


def test_deterministic_and_size_varies() -> None:
    for name in PROP_NAMES:
        a = make_prop(name, np.random.default_rng(11))
        b = make_prop(name, np.random.default_rng(11))
        c = make_prop(name, np.random.default_rng(12))
        assert np.array_equal(a.mesh.vertices, b.mesh.vertices)
        assert a.params == b.params and a.materials == b.materials
        assert a.params != c.params


def test_unknown_prop() -> None:
    with pytest.raises(ValueError, match="unknown prop"):
        make_prop("teapot", np.random.default_rng(0))


@pytest.mark.parametrize("name", PROP_NAMES)
def test_analytic_distance_matches_trimesh(name: str) -> None:
    """The fitter's analytic distance agrees with trimesh on the mesh near and outside the surface."""
    rng = np.random.default_rng(5)
    p = make_prop(name, rng)
    lo, hi = p.mesh.bounds
    pts = lo - 0.006 + rng.random((1500, 3)) * (hi - lo + 0.012)
    ref = np.max([trimesh.proximity.signed_distance(c, pts) for c in p.component_meshes()], axis=0)
    d = p.sdf(pts)  # negative inside; trimesh: positive inside
    outside = (ref < 0) & (ref > -0.006)
    assert outside.sum() > 100
    # outside and near: agreement to the tessellation / ellipsoid-approximation error
    assert np.abs(d[outside] + ref[outside]).max() < 0.0009
    # sign agrees away from the surface
    clear = np.abs(ref) > 0.001
    assert np.all(np.sign(d[clear]) == -np.sign(ref[clear]))
