"""Triangle-mesh helpers for defect twins (pure numpy): boundary loops, dome caps, compaction,
closedness and stretch measures.

Meshes are ``vertices (V, 3)`` float64 metres and ``faces (F, 3)`` int triangles, counter-clockwise
seen from outside (the rig's convention).
"""

from __future__ import annotations

import numpy as np


def boundary_loops(faces: np.ndarray) -> list[np.ndarray]:
    """Ordered boundary loops of a triangle set: each loop ``(n,)`` vertex ids in the direction
    of the faces' half-edges (so a cap over the hole must run the other way)."""
    he = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    key = {(int(a), int(b)) for a, b in he}
    nxt: dict[int, int] = {}
    for a, b in he:
        a, b = int(a), int(b)
        if (b, a) not in key:
            nxt[a] = b
    loops: list[np.ndarray] = []
    seen: set[int] = set()
    for start in sorted(nxt):
        if start in seen:
            continue
        loop = [start]
        seen.add(start)
        v = nxt[start]
        while v != start and v not in seen:
            loop.append(v)
            seen.add(v)
            v = nxt.get(v, start)
        loops.append(np.array(loop, dtype=np.int64))
    return loops


def dome_cap(vertices: np.ndarray, loop: np.ndarray, outward: np.ndarray, rings: int = 3,
             height: float = 0.35) -> tuple[np.ndarray, np.ndarray]:
    """Close a hole with a dome of concentric rings.

    Args:
        vertices: ``(V, 3)`` the mesh vertices (the loop's ids index it).
        loop: ``(n,)`` boundary loop in the faces' half-edge direction.
        outward: ``(3,)`` direction the dome bulges toward (out of the hole).
        rings: rings between the loop and the apex.
        height: dome height as a fraction of the loop's mean radius.
    Returns:
        ``new_vertices (rings * n + 1, 3)`` and ``faces (M, 3)`` indexing ``vertices`` followed by
        the new vertices (ids ``len(vertices) ..``), wound so the cap faces ``outward``.
    """
    P = vertices[loop]
    c = P.mean(axis=0)
    n = len(loop)
    u = outward / max(np.linalg.norm(outward), 1e-12)
    r = float(np.linalg.norm(P - c, axis=1).mean())
    base = len(vertices)
    new = []
    ids = [loop]
    for k in range(1, rings + 1):
        t = k / (rings + 1)
        s = np.cos(t * np.pi / 2)  # radius factor
        new.append(c + (P - c) * s + u * (height * r * np.sin(t * np.pi / 2)))
        ids.append(base + (k - 1) * n + np.arange(n))
    apex = c + u * height * r
    new.append(apex[None])
    apex_id = base + rings * n
    faces = []
    # The loop runs along the existing faces' half-edges (a -> b); the cap uses b -> a.
    for k in range(rings):
        a, b = ids[k], ids[k + 1]
        a1, b1 = np.roll(a, -1), np.roll(b, -1)
        faces.append(np.stack([a1, a, b], axis=1))
        faces.append(np.stack([a1, b, b1], axis=1))
    last = ids[-1]
    faces.append(np.stack([np.roll(last, -1), last, np.full(n, apex_id)], axis=1))
    return np.concatenate(new), np.concatenate(faces).astype(np.int64)


def compact(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop unused vertices: ``(vertices', faces', kept)`` with ``kept`` the old ids of the kept ones."""
    kept = np.unique(faces)
    remap = np.full(len(vertices), -1, dtype=np.int64)
    remap[kept] = np.arange(len(kept))
    return vertices[kept], remap[faces], kept


def components(faces: np.ndarray, n_vertices: int) -> np.ndarray:
    """``(F,)`` connected-component label of each face (vertex-connected)."""
    parent = np.arange(n_vertices)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b, c in faces:
        ra, rb, rc = find(int(a)), find(int(b)), find(int(c))
        parent[rb] = ra
        parent[find(rc)] = ra
    roots = np.array([find(int(f[0])) for f in faces])
    return np.unique(roots, return_inverse=True)[1]


def open_edges(faces: np.ndarray) -> int:
    """Number of edges not shared by exactly two faces with opposite orientation (0 for a
    closed, consistently wound mesh, one component or many)."""
    he = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]).astype(np.int64)
    n = int(he.max()) + 1
    fwd = he[:, 0] * n + he[:, 1]
    rev = he[:, 1] * n + he[:, 0]
    u, cnt = np.unique(fwd, return_counts=True)
    dup = int((cnt > 1).sum())
    return dup + int((~np.isin(rev, u)).sum())


def edge_lengths(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """``(F, 3)`` edge lengths of every triangle (metres)."""
    v = vertices[faces]
    return np.linalg.norm(v - np.roll(v, -1, axis=1), axis=2)
