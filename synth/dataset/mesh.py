"""The ``mesh/ID.npz`` arrays of a sample: the exact rendered geometry (world frame, metres)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from synth.scene.spec import PropSpec


def mesh_arrays(vertices: np.ndarray, faces: np.ndarray, face_parts: np.ndarray,
                props: Sequence[PropSpec] = ()) -> dict[str, np.ndarray]:
    """The ``mesh/ID.npz`` arrays: the rendered geometry in the world frame (metres).

    ``vertices`` ``(V + N, 3)`` and ``faces`` ``(F + M, 3)`` hold the hand first, then every held
    object (so a ray cast of ``vertices``/``faces`` reproduces the depth pass). With held objects,
    ``face_part`` ``(F + M,)`` gives each triangle's part id (1..7 hand, 16.. objects) and
    ``n_hand_vertices`` / ``n_hand_faces`` where the hand ends.
    """
    out = {"vertices": vertices.astype(np.float64), "faces": faces.astype(np.int32)}
    if not props:
        return out
    vs, fs, parts = [out["vertices"]], [out["faces"]], [face_parts]
    n = len(vertices)
    for p in props:
        vs.append(np.asarray(p.vertices, dtype=np.float64))
        fs.append(np.asarray(p.faces, dtype=np.int32) + n)
        parts.append(np.full(len(p.faces), p.part_id, dtype=np.uint8))
        n += len(p.vertices)
    return {"vertices": np.concatenate(vs), "faces": np.concatenate(fs), "face_part": np.concatenate(parts),
            "n_hand_vertices": np.int64(len(vertices)), "n_hand_faces": np.int64(len(faces))}
