"""Linear blend skinning forward pass (pure numpy, batched).

``forward(rig, shape, pose, root)`` -> :class:`PosedHand`. Shapes below use ``B`` for an optional
leading batch dimension: inputs without one give outputs without one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synth.hand import anatomy
from synth.hand.rig import HandRig


@dataclass(frozen=True)
class PosedHand:
    """A posed hand in world coordinates (metres).

    Attributes:
        vertices: ``(B, V, 3)`` posed surface.
        joints: ``(B, J, 3)`` posed bone heads (joint centres).
        keypoints: ``(B, 21, 3)`` keypoints in synth order.
        bone_transforms: ``(B, J, 4, 4)`` skinning transforms (rest -> posed).
        rest_vertices: ``(B, V, 3)`` shaped rest vertices (model frame, before pose).
    """

    vertices: np.ndarray
    joints: np.ndarray
    keypoints: np.ndarray
    bone_transforms: np.ndarray
    rest_vertices: np.ndarray


def local_bone_rotations(rig: HandRig, pose_deg: np.ndarray) -> np.ndarray:
    """World-aligned local rotation of every bone ``(..., J, 3, 3)`` for anatomical angles
    ``(..., 16, 3)`` degrees: ``R = F A F^T`` for driven bones, identity for the others."""
    p = anatomy.as_pose(pose_deg)
    A = anatomy.local_rotations(p, rig.angle_signs)  # (..., 16, 3, 3)
    F = rig.joint_frames[rig.anat_bones]  # (16, 3, 3)
    Rw = F @ A @ np.swapaxes(F, -1, -2)
    R = np.broadcast_to(np.eye(3), p.shape[:-2] + (rig.n_bones, 3, 3)).copy()
    R[..., rig.anat_bones, :, :] = Rw
    return R


def anatomical_from_bone_rotations(rig: HandRig, R: np.ndarray) -> np.ndarray:
    """Inverse of :func:`local_bone_rotations` for the driven bones: ``(..., J, 3, 3)`` ->
    ``(..., 16, 3)`` degrees (rotations of undriven bones are ignored)."""
    F = rig.joint_frames[rig.anat_bones]
    A = np.swapaxes(F, -1, -2) @ R[..., rig.anat_bones, :, :] @ F
    return anatomy.angles_from_local_rotations(A, rig.angle_signs)


def to_native(rig: HandRig, pose_deg: np.ndarray) -> np.ndarray:
    """Model-native pose: per-bone axis-angle (radians) of the local rotations in the rig's
    model-frame axes, ``(..., J, 3)``. For an imported MANO rig the model frame is MANO's frame
    rotated by ``rig.extra["mano_to_model"]``; use ``synth.hand.models.mano.mano_pose_from_rotations``
    to get MANO's own 45-D ``hand_pose`` and ``global_orient``."""
    return anatomy.matrix_to_axis_angle(local_bone_rotations(rig, pose_deg))


def from_native(rig: HandRig, native: np.ndarray) -> np.ndarray:
    """Anatomical angles ``(..., 16, 3)`` degrees from a native axis-angle pose ``(..., J, 3)``."""
    return anatomical_from_bone_rotations(rig, anatomy.axis_angle_to_matrix(native))


def _levels(parents: np.ndarray) -> list[np.ndarray]:
    depth = np.zeros(len(parents), dtype=int)
    for j in range(1, len(parents)):
        depth[j] = depth[parents[j]] + 1
    return [np.nonzero(depth == d)[0] for d in range(1, depth.max() + 1)]


_LEVEL_CACHE: dict[tuple[int, ...], list[np.ndarray]] = {}


def forward(
    rig: HandRig,
    shape: np.ndarray | dict[str, float] | None = None,
    pose: np.ndarray | dict[str, object] | None = None,
    root: np.ndarray | None = None,
    bone_rotations: np.ndarray | None = None,
) -> PosedHand:
    """Pose a hand.

    Args:
        rig: the hand model.
        shape: ``(B?, P)`` shape parameters (default: ``rig.shape_default``).
        pose: ``(B?, 16, 3)`` anatomical angles in degrees (default: rest pose).
        root: ``(B?, 4, 4)`` model-to-world transform applied to the root bone (default: identity).
        bone_rotations: ``(B?, J, 3, 3)`` world-aligned local rotations, overriding ``pose``
            (used for model-native poses).
    Returns:
        A :class:`PosedHand`; arrays carry a leading batch axis only if an input had one.
    """
    sp = rig.shape_params(shape)
    if bone_rotations is not None:
        R = np.asarray(bone_rotations, dtype=np.float64)
    else:
        R = local_bone_rotations(rig, anatomy.as_pose(pose))
    batched = sp.ndim == 2 or R.ndim == 4 or (root is not None and np.asarray(root).ndim == 3)
    coeffs = np.atleast_2d(rig.shape_coefficients(sp))
    R = R.reshape((-1,) + R.shape[-3:])
    B = max(coeffs.shape[0], R.shape[0], 1 if root is None else np.asarray(root).reshape(-1, 4, 4).shape[0])
    J, V = rig.n_bones, rig.n_vertices

    S = rig.shape_dirs.shape[0]
    v_rest = rig.template_vertices[None] + (coeffs @ rig.shape_dirs.reshape(S, -1)).reshape(-1, V, 3)
    j_rest = rig.rest_joints[None] + (coeffs @ rig.joint_shape_dirs.reshape(S, -1)).reshape(-1, J, 3)
    v_rest = np.broadcast_to(v_rest, (B, V, 3))
    j_rest = np.broadcast_to(j_rest, (B, J, 3))
    R = np.broadcast_to(R, (B, J, 3, 3))
    if rig.posedirs.shape[0]:
        feat = (R[:, 1:] - np.eye(3)).reshape(B, -1)
        v_rest = v_rest + (feat @ rig.posedirs).reshape(B, V, 3)

    # Local transforms: rotation R_c about the bone head j_c.
    Tl = np.zeros((B, J, 4, 4))
    Tl[:, :, :3, :3] = R
    Tl[:, :, :3, 3] = j_rest - np.einsum("bjik,bjk->bji", R, j_rest)
    Tl[:, :, 3, 3] = 1.0
    G = np.empty_like(Tl)
    G[:, 0] = Tl[:, 0] if root is None else np.asarray(root, dtype=np.float64).reshape(-1, 4, 4) @ Tl[:, 0]
    key = tuple(int(p) for p in rig.bone_parents)  # by value: an id() could be reused by another rig
    levels = _LEVEL_CACHE.get(key)
    if levels is None:
        levels = _LEVEL_CACHE[key] = _levels(rig.bone_parents)
    for idx in levels:
        G[:, idx] = G[:, rig.bone_parents[idx]] @ Tl[:, idx]

    # Skinning: blend the 3x4 transforms per vertex.
    W = rig.skin_weights.astype(np.float64)
    Gv = (W @ G[:, :, :3, :].reshape(B, J, 12)).reshape(B, V, 3, 4)
    verts = np.einsum("bvik,bvk->bvi", Gv[..., :3], v_rest) + Gv[..., 3]
    joints = np.einsum("bjik,bjk->bji", G[:, :, :3, :3], j_rest) + G[:, :, :3, 3]
    kp = np.where(
        (rig.keypoint_kind == 0)[None, :, None],
        joints[:, np.where(rig.keypoint_kind == 0, rig.keypoint_index, 0)],
        verts[:, np.where(rig.keypoint_kind == 1, rig.keypoint_index, 0)],
    )
    if not batched:
        return PosedHand(verts[0], joints[0], kp[0], G[0], v_rest[0])
    return PosedHand(verts, joints, kp, G, np.ascontiguousarray(v_rest))
