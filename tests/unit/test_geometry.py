"""synth.geometry and synth.jsonable: the one copy of normals, rotations, projection, palm normal
and the JSON converter, checked against independent implementations (trimesh, OpenCV)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import trimesh

from synth.geometry import palm_normal, project_points, rotation_between, transform, vertex_normals
from synth.jsonable import to_jsonable


def test_vertex_normals_of_a_sphere_point_outward_and_are_area_weighted() -> None:
    m = trimesh.creation.icosphere(subdivisions=2)
    n = vertex_normals(m.vertices, m.faces)
    assert n.dtype == np.float64 and n.shape == m.vertices.shape
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-12)
    # a sphere's vertex normal is its radial direction (within the facets' angular error)
    assert (np.sum(n * m.vertices / np.linalg.norm(m.vertices, axis=1, keepdims=True), axis=1) > 0.99).all()
    # area weighting, from trimesh's own face normals and areas
    ref = np.zeros_like(n)
    for f, fn, area in zip(m.faces, m.face_normals, m.area_faces, strict=True):
        ref[f] += fn * area
    np.testing.assert_allclose(n, ref / np.linalg.norm(ref, axis=1, keepdims=True), atol=1e-9)


def test_vertex_normals_of_an_unused_vertex_are_zero() -> None:
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [5, 5, 5]], dtype=np.float32)
    n = vertex_normals(v, np.array([[0, 1, 2]]))
    np.testing.assert_array_equal(n[3], 0.0)
    np.testing.assert_allclose(n[:3], [[0, 0, 1]] * 3)


@pytest.mark.parametrize("seed", range(5))
def test_rotation_between_takes_a_to_b_minimally(seed: int) -> None:
    g = np.random.default_rng(seed)
    a, b = g.standard_normal(3), g.standard_normal(3)
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    R = rotation_between(a, b)
    np.testing.assert_allclose(R @ a, b, atol=1e-12)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(R) == pytest.approx(1.0)
    # minimal: the rotation angle is the angle between a and b
    angle = np.arccos(np.clip((np.trace(R) - 1) / 2, -1, 1))
    assert angle == pytest.approx(np.arccos(a @ b), abs=1e-9)
    np.testing.assert_allclose(R @ np.cross(a, b), np.cross(a, b), atol=1e-12)  # about a x b


@pytest.mark.parametrize("a", [[0, 0, 1], [0, -1, 0], [1, 0, 0], [0.6, 0.0, 0.8], [0.36, 0.48, 0.8]])
def test_rotation_between_opposite_vectors_is_a_half_turn(a: list[float]) -> None:
    """The fix: the camera copy returned the identity for opposite vectors (it took +z to +z
    when asked for -z)."""
    a = np.asarray(a, dtype=np.float64)
    R = rotation_between(a, -a)
    np.testing.assert_allclose(R @ a, -a, atol=1e-12)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(R) == pytest.approx(1.0)
    np.testing.assert_allclose(rotation_between(a, a), np.eye(3))


def test_rotation_between_opposite_forearm_axis_turns_about_x() -> None:
    np.testing.assert_array_equal(rotation_between(np.array([0.0, -1.0, 0.0]), np.array([0.0, 1.0, 0.0])),
                                  np.diag([1.0, -1.0, -1.0]))


def test_project_points_equals_opencv() -> None:
    import cv2

    g = np.random.default_rng(3)
    p = g.uniform(-0.2, 0.2, (50, 3)) + [0, 0, 1.0]
    R = cv2.Rodrigues(np.array([0.1, -0.2, 0.05]))[0]
    M = np.eye(4)
    M[:3, :3], M[:3, 3] = R, [0.01, -0.02, 0.1]
    K = np.array([[500.0, 0, 63.5], [0, 480.0, 60.0], [0, 0, 1]])
    ref = cv2.projectPoints(p, cv2.Rodrigues(R)[0], M[:3, 3], K, None)[0][:, 0]
    np.testing.assert_allclose(project_points(p, K, M), ref, atol=1e-9)
    np.testing.assert_allclose(transform(p, M), p @ R.T + M[:3, 3])


def test_palm_normal_points_out_of_the_palm_for_both_sides() -> None:
    """Right hand in its model frame: fingers +y, thumb toward -x... built from an open-hand rig."""
    from synth.hand.models import load_model
    from synth.hand.skinning import forward

    for side in ("right", "left"):
        rig = load_model("open-hand", side)
        out = forward(rig)
        n = palm_normal(out.keypoints, side)
        assert np.linalg.norm(n) == pytest.approx(1.0)
        palm = out.vertices[rig.parts == 2]
        centre = palm.mean(axis=0)
        # the palm's surface vertices on the normal's side are the palmar skin: the rig's own
        # palmar direction (-z of the dominant bone frames) agrees with the keypoint normal
        dom = np.argmax(rig.skin_weights, axis=1)
        palmar = -rig.joint_frames[dom[rig.parts == 2]][:, :, 2].mean(axis=0)
        assert n @ palmar / np.linalg.norm(palmar) > 0.8, side
        assert np.isfinite(centre).all()


def test_to_jsonable_makes_plain_json() -> None:
    obj = {"a": np.arange(3), "b": (np.float32(0.5), np.int64(2)), 3: Path("x/y"), "c": [{"d": np.bool_(True)}]}
    out = to_jsonable(obj)
    assert out == {"a": [0, 1, 2], "b": [0.5, 2], "3": "x/y", "c": [{"d": True}]}
    json.dumps(out, allow_nan=False)
