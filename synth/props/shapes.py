"""Primitive solids with both a watertight triangle mesh and an analytic signed distance.

Every prop is a union of a few primitives (:class:`Primitive`). Each primitive gives

* ``mesh()``: a watertight :class:`trimesh.Trimesh` in the prop's frame (metres), and
* ``sdf(points)``: the signed distance ``(N,)`` in metres of ``(N, 3)`` prop-frame points,
  **negative inside**, positive outside (the opposite of trimesh's sign convention).

The analytic distance is what the grasp fitter optimises against (microseconds per thousand
points, no precomputed grid); the mesh is what gets rendered and what the fit is finally checked
against with trimesh proximity queries (:func:`synth.props.fitting.measure`). The tessellations
put their vertices on the analytic surface, so the two agree to the chord error (< 0.2 mm for the
resolutions used here, checked in ``tests/props``).

The union of overlapping primitives is exact outside (``min`` of the distances) and a bound
inside; it is what every query in this package uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import trimesh

#: Distance (m) below which :meth:`Primitive.sdf` is exact.
FAR = 0.012


def row_sq_norms(v: np.ndarray) -> np.ndarray:
    """Squared norms ``(N,)`` of rows ``(N, 3)`` (faster than a reduction over the short axis)."""
    return v[:, 0] * v[:, 0] + v[:, 1] * v[:, 1] + v[:, 2] * v[:, 2]


def _apply_inverse(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map ``(N, 3)`` prop-frame points into a primitive's local frame (rigid transform)."""
    R = transform[:3, :3]
    t = transform[:3, 3]
    return (points - t) @ R


@dataclass(frozen=True)
class Primitive:
    """Base class: a solid in its local frame placed in the prop frame by ``transform`` (4x4 rigid).

    ``material`` names the material slot of all its faces (see :class:`synth.props.library.Prop`).
    """

    material: str
    transform: np.ndarray = field(default_factory=lambda: np.eye(4))

    def local_sdf(self, q: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def local_mesh(self) -> trimesh.Trimesh:  # pragma: no cover - abstract
        raise NotImplementedError

    def local_bounds(self) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - abstract
        """``(lo, hi)`` corners ``(3,)`` of a local box containing the solid."""
        raise NotImplementedError

    def sdf(self, points: np.ndarray, far: float = FAR) -> np.ndarray:
        """Signed distance ``(N,)`` (m, negative inside) of prop-frame points ``(N, 3)``.

        Exact (up to the primitive's own accuracy) wherever it is below ``far``; points farther
        than ``far`` from the primitive's bounding box get the distance to that box instead (a
        lower bound, >= ``far``), which saves the exact evaluation for most hand vertices.
        """
        q = _apply_inverse(self.transform, np.asarray(points, dtype=np.float64))
        lo, hi = self.local_bounds()
        gap = np.maximum(np.maximum(lo - q, 0.0), q - hi)
        box = np.sqrt(row_sq_norms(gap))
        near = box < far
        if near.all():
            return self.local_sdf(q)
        out = box
        if near.any():
            out[near] = self.local_sdf(q[near])
        return out

    def mesh(self) -> trimesh.Trimesh:
        m = self.local_mesh()
        m.apply_transform(self.transform)
        return m


# ---- rounded box ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundedBox(Primitive):
    """Box of inner half-extents ``half`` (3,) grown by a sphere of radius ``radius`` (m).

    Outer size is ``2 * (half + radius)``; ``radius`` may be 0 for no rounding.
    """

    half: tuple[float, float, float] = (0.01, 0.01, 0.01)
    radius: float = 0.0
    n_flat: int = 6
    n_round: int = 5

    def local_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        e = np.asarray(self.half, dtype=np.float64) + self.radius
        return -e, e

    def local_sdf(self, q: np.ndarray) -> np.ndarray:
        d = np.abs(q) - np.asarray(self.half)
        outside = np.sqrt(row_sq_norms(np.maximum(d, 0.0)))
        inside = np.minimum(np.maximum(np.maximum(d[:, 0], d[:, 1]), d[:, 2]), 0.0)
        return outside + inside - self.radius

    def local_mesh(self) -> trimesh.Trimesh:
        h = np.asarray(self.half, dtype=np.float64)
        r = float(self.radius)
        verts: list[np.ndarray] = []
        faces: list[np.ndarray] = []
        offset = 0

        def axis_coords(k: int) -> np.ndarray:
            flat = np.linspace(-h[k], h[k], max(2, self.n_flat))
            if r <= 0:
                return flat
            # angles of the rounding band so that vertices land evenly on the quarter circle
            ang = np.linspace(0.0, np.pi / 4, self.n_round + 1)[1:]
            band = h[k] + r * np.tan(ang)  # points on the outer cube face whose projection is even
            return np.concatenate([-band[::-1], flat, band])

        for axis in range(3):
            u_ax, v_ax = [a for a in range(3) if a != axis]
            cu, cv = axis_coords(u_ax), axis_coords(v_ax)
            for sign in (-1.0, 1.0):
                U, Vv = np.meshgrid(cu, cv, indexing="ij")
                P = np.zeros(U.shape + (3,))
                P[..., u_ax] = U
                P[..., v_ax] = Vv
                P[..., axis] = sign * (h[axis] + r)
                nu, nv = U.shape
                idx = np.arange(nu * nv).reshape(nu, nv) + offset
                a, b, c, d = idx[:-1, :-1], idx[1:, :-1], idx[1:, 1:], idx[:-1, 1:]
                tri = np.concatenate(
                    [np.stack([a, b, c], -1).reshape(-1, 3), np.stack([a, c, d], -1).reshape(-1, 3)]
                )
                # orient outward: (u, v, axis) right-handed iff the cyclic order holds
                right_handed = (u_ax, v_ax, axis) in ((0, 1, 2), (1, 2, 0), (2, 0, 1))
                if right_handed != (sign > 0):
                    tri = tri[:, ::-1]
                verts.append(P.reshape(-1, 3))
                faces.append(tri)
                offset += nu * nv
        V = np.concatenate(verts)
        if r > 0:
            c = np.clip(V, -h, h)
            d = V - c
            n = np.linalg.norm(d, axis=1, keepdims=True)
            V = c + r * d / np.maximum(n, 1e-12)
        m = trimesh.Trimesh(V, np.concatenate(faces), process=False)
        m.merge_vertices(digits_vertex=9)
        m.update_faces(m.nondegenerate_faces())
        m.remove_unreferenced_vertices()
        return m


# ---- solids of revolution --------------------------------------------------------------------


def _polygon_sdf_2d(p: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Signed distance ``(N,)`` of 2-D points ``(N, 2)`` to a closed polygon ``(K, 2)``
    (negative inside; even-odd rule)."""
    # (K, N) layout: the reductions run over the leading axis (contiguous rows)
    ax, ay = poly[:, 0][:, None], poly[:, 1][:, None]  # (K, 1)
    b = np.roll(poly, -1, axis=0)
    ex, ey = b[:, 0][:, None] - ax, b[:, 1][:, None] - ay
    px, py = p[:, 0][None], p[:, 1][None]  # (1, N)
    wx, wy = px - ax, py - ay  # (K, N)
    ee = np.maximum(ex * ex + ey * ey, 1e-18)
    t = np.clip((wx * ex + wy * ey) / ee, 0.0, 1.0)
    dx, dy = wx - t * ex, wy - t * ey
    d = np.sqrt(np.minimum.reduce(dx * dx + dy * dy, axis=0))
    # crossing number for the sign
    by = b[:, 1][:, None]
    cond = (ay <= py) != (by <= py)
    with np.errstate(divide="ignore", invalid="ignore"):
        xint = ax + (py - ay) * ex / ey
    inside = np.logical_xor.reduce(cond & (px < xint), axis=0)
    return np.where(inside, -d, d)


@dataclass(frozen=True)
class Revolved(Primitive):
    """Solid of revolution about the local +z axis.

    ``profile`` ``(K, 2)`` lists ``(radius, z)`` points counter-clockwise in the (r, z) half-plane,
    starting and ending on the axis (r = 0), so the revolved surface is closed.
    """

    profile: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    sections: int = 48

    def local_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        prof = np.asarray(self.profile, dtype=np.float64)
        rm = float(prof[:, 0].max())
        return np.array([-rm, -rm, prof[:, 1].min()]), np.array([rm, rm, prof[:, 1].max()])

    def local_sdf(self, q: np.ndarray) -> np.ndarray:
        r = np.hypot(q[:, 0], q[:, 1])
        prof = np.asarray(self.profile, dtype=np.float64)
        # close the polygon along the axis (and mirror to r < 0 is unnecessary: r >= 0)
        return _polygon_sdf_2d(np.stack([r, q[:, 2]], axis=1), prof)

    def local_mesh(self) -> trimesh.Trimesh:
        prof = np.asarray(self.profile, dtype=np.float64)
        m = trimesh.creation.revolve(prof, sections=self.sections)
        m.merge_vertices(digits_vertex=9)
        m.update_faces(m.nondegenerate_faces())
        m.remove_unreferenced_vertices()
        if m.volume < 0:  # a clockwise profile: turn the faces outward
            m.invert()
        return m


def arc_profile(r: float, z0: float, a0: float, a1: float, n: int) -> np.ndarray:
    """Points ``(n, 2)`` of a circular arc of radius ``r`` centred on the axis at height ``z0``
    (angles in radians from the +r axis, counter-clockwise)."""
    a = np.linspace(a0, a1, n)
    return np.stack([r * np.cos(a), z0 + r * np.sin(a)], axis=1)


@dataclass(frozen=True)
class Sphere(Primitive):
    """Sphere of radius ``radius`` (m) about the local origin (UV tessellation)."""

    radius: float = 0.03
    rings: int = 32
    sections: int = 48

    def local_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return np.full(3, -self.radius), np.full(3, self.radius)

    def local_sdf(self, q: np.ndarray) -> np.ndarray:
        return np.sqrt(row_sq_norms(q)) - self.radius

    def local_mesh(self) -> trimesh.Trimesh:
        r = self.radius
        prof = np.concatenate([[[0, -r]], arc_profile(r, 0.0, -np.pi / 2, np.pi / 2, self.rings + 1)[1:-1],
                               [[0, r]]])
        return Revolved(self.material, profile=prof, sections=self.sections).local_mesh()


# ---- ellipsoid -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ellipsoid(Primitive):
    """Ellipsoid of semi-axes ``radii`` (3,) (m). The distance is exact up to the iteration
    tolerance (closest point ``x_i = a_i^2 p_i / (t + a_i^2)``, root ``t`` of
    ``sum (a_i p_i / (t + a_i^2))^2 = 1`` found by Newton's method, after Eberly)."""

    radii: tuple[float, float, float] = (0.02, 0.02, 0.02)
    subdivisions: int = 4
    iterations: int = 14

    def local_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        a = np.asarray(self.radii, dtype=np.float64)
        return -a, a

    def local_sdf(self, q: np.ndarray) -> np.ndarray:
        a = np.asarray(self.radii, dtype=np.float64)
        a2 = a * a
        p = np.abs(q)
        inside = row_sq_norms(p / a) < 1.0
        # Newton on the convex, decreasing F(t) from a start left of the root converges
        # monotonically (Eberly): t = 0 outside; inside t = -a_min^2 + a_min * |p_min|.
        k = int(np.argmin(a))
        t = np.where(inside, -a2[k] + a[k] * p[:, k], 0.0)
        ap = a * p
        for _ in range(self.iterations):
            den = t[:, None] + a2
            u = ap / den
            uu = u * u
            f = row_sq_norms(u) - 1.0
            df = -2.0 * (uu[:, 0] / den[:, 0] + uu[:, 1] / den[:, 1] + uu[:, 2] / den[:, 2])
            step = f / np.minimum(df, -1e-30)
            t = t - step
            if np.abs(step).max() < 1e-16:  # converged (Newton: quadratic) to double precision
                break
        x = a2 * p / (t[:, None] + a2)
        d = np.sqrt(row_sq_norms(p - x))
        return np.where(inside, -d, d)

    def local_mesh(self) -> trimesh.Trimesh:
        m = trimesh.creation.icosphere(subdivisions=self.subdivisions, radius=1.0)
        m.vertices = m.vertices * np.asarray(self.radii)
        return m


# ---- arc tube (handles) -----------------------------------------------------------------------


@dataclass(frozen=True)
class ArcTube(Primitive):
    """Tube of radius ``tube`` along a circular arc of radius ``major`` in the local xy plane,
    from angle ``a0`` to ``a1`` (radians, about +z from +x), with flat end caps."""

    major: float = 0.03
    tube: float = 0.005
    a0: float = -1.0
    a1: float = 1.0
    n_arc: int = 24
    n_ring: int = 16

    def local_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        e = self.major + self.tube
        return np.array([-e, -e, -self.tube]), np.array([e, e, self.tube])

    def local_sdf(self, q: np.ndarray) -> np.ndarray:
        x, y, z = q[:, 0], q[:, 1], q[:, 2]
        phi = np.arctan2(y, x)
        rho = np.sqrt(x * x + y * y)
        on_arc = (phi >= self.a0) & (phi <= self.a1)
        d_arc = np.sqrt((rho - self.major) ** 2 + z * z) - self.tube
        # beyond the arc: distance to the nearer flat end disc (outward normal along -/+ tangent)
        d_cap = np.full(len(q), np.inf)
        for a, sgn in ((self.a0, -1.0), (self.a1, 1.0)):
            ca, sa = np.cos(a), np.sin(a)
            wx, wy = x - self.major * ca, y - self.major * sa
            nx, ny = -sgn * sa, sgn * ca
            h = wx * nx + wy * ny
            rx, ry = wx - h * nx, wy - h * ny
            rad = np.sqrt(rx * rx + ry * ry + z * z)
            d = np.sqrt(np.maximum(rad - self.tube, 0.0) ** 2 + np.maximum(h, 0.0) ** 2)
            d = np.where((h <= 0) & (rad <= self.tube), np.maximum(h, rad - self.tube), d)
            d_cap = np.minimum(d_cap, d)
        return np.where(on_arc, d_arc, d_cap)

    def local_mesh(self) -> trimesh.Trimesh:
        a = np.linspace(self.a0, self.a1, self.n_arc)
        b = np.linspace(0.0, 2 * np.pi, self.n_ring, endpoint=False)
        A, B = np.meshgrid(a, b, indexing="ij")
        rho = self.major + self.tube * np.cos(B)
        V = np.stack([rho * np.cos(A), rho * np.sin(A), self.tube * np.sin(B)], -1).reshape(-1, 3)
        na, nb = self.n_arc, self.n_ring
        idx = np.arange(na * nb).reshape(na, nb)
        i0, i1 = idx[:-1], idx[1:]
        j0, j1 = i0, np.roll(i0, -1, axis=1)
        k0, k1 = i1, np.roll(i1, -1, axis=1)
        F = np.concatenate(
            [np.stack([j0, k0, k1], -1).reshape(-1, 3), np.stack([j0, k1, j1], -1).reshape(-1, 3)]
        )
        centres = np.array(
            [[self.major * np.cos(x), self.major * np.sin(x), 0.0] for x in (self.a0, self.a1)]
        )
        c0, c1 = len(V), len(V) + 1
        V = np.concatenate([V, centres])
        ring0, ring1 = idx[0], idx[-1]
        cap0 = np.stack([np.full(nb, c0), ring0, np.roll(ring0, -1)], -1)
        cap1 = np.stack([np.full(nb, c1), np.roll(ring1, -1), ring1], -1)
        m = trimesh.Trimesh(V, np.concatenate([F, cap0, cap1]), process=False)
        if m.volume < 0:
            m.invert()
        return m


def union_sdf(prims: tuple[Primitive, ...] | list[Primitive], points: np.ndarray) -> np.ndarray:
    """Signed distance ``(N,)`` of prop-frame points ``(N, 3)`` to the union of ``prims``."""
    pts = np.asarray(points, dtype=np.float64)
    out = prims[0].sdf(pts)
    for p in prims[1:]:
        out = np.minimum(out, p.sdf(pts))
    return out


def union_sdf_grad(
    prims: tuple[Primitive, ...] | list[Primitive], points: np.ndarray, eps: float = 1e-4
) -> tuple[np.ndarray, np.ndarray]:
    """Distance ``(N,)`` and its gradient ``(N, 3)`` (central differences, step ``eps`` m)."""
    pts = np.asarray(points, dtype=np.float64)
    n = len(pts)
    offs = np.concatenate([np.zeros((1, 3)), np.eye(3) * eps, -np.eye(3) * eps])  # (7, 3)
    allp = (pts[None] + offs[:, None]).reshape(-1, 3)
    d = union_sdf(prims, allp).reshape(7, n)
    g = (d[1:4] - d[4:7]).T / (2 * eps)
    return d[0], g


def mesh_signed_distance(
    mesh: trimesh.Trimesh, points: np.ndarray, sign_hint: np.ndarray | None = None,
    hint_margin: float = 0.001, chunk: int = 64,
) -> np.ndarray:
    """Signed distance ``(N,)`` (m) of points ``(N, 3)`` to a closed triangle mesh, **positive
    inside** (trimesh's convention), without a spatial index.

    The distance is exact: :func:`trimesh.triangles.closest_point` on every triangle whose
    bounding box is within the nearest-vertex distance of the point. Inside/outside comes from
    the generalised winding number (sum of the triangles' solid angles, Van Oosterom & Strackee
    1983), except where ``sign_hint`` (a signed distance, any convention-compatible estimate
    positive inside, e.g. minus the analytic distance) is farther than ``hint_margin`` from zero:
    there its sign is used (the analytic surfaces here are within 0.6 mm of their meshes, see
    ``tests/props``). For a few hundred points against a few thousand triangles this is faster
    than :func:`trimesh.proximity.signed_distance`, which first builds an r-tree; the two are
    compared in ``tests/props``.
    """
    P = np.asarray(points, dtype=np.float64)
    if len(P) == 0:
        return np.zeros(0)
    tri = np.asarray(mesh.triangles)
    verts = np.asarray(mesh.vertices)
    lo, hi = tri.min(axis=1), tri.max(axis=1)
    dist = np.empty(len(P))
    for s in range(0, len(P), chunk):
        p = P[s : s + chunk]
        n = len(p)
        ub = ((p[:, None, :] - verts[None]) ** 2).sum(-1).min(axis=1)  # squared, (n,)
        gap = np.maximum(np.maximum(lo[None] - p[:, None], 0.0), p[:, None] - hi[None])  # (n, F, 3)
        pi, fi = np.nonzero((gap * gap).sum(-1) <= ub[:, None] + 1e-18)
        cp = trimesh.triangles.closest_point(tri[fi], p[pi])
        d = np.full(n, np.inf)
        np.minimum.at(d, pi, np.linalg.norm(cp - p[pi], axis=1))
        dist[s : s + n] = d
    inside = np.zeros(len(P), dtype=bool)
    need = np.ones(len(P), dtype=bool)
    if sign_hint is not None:
        h = np.asarray(sign_hint, dtype=np.float64)
        sure = np.abs(h) > hint_margin
        inside[sure] = h[sure] > 0
        need = ~sure
    idx = np.nonzero(need)[0]
    for s in range(0, len(idx), chunk):
        ii = idx[s : s + chunk]
        a = tri[None, :, 0] - P[ii, None]
        b = tri[None, :, 1] - P[ii, None]
        c = tri[None, :, 2] - P[ii, None]
        la, lb, lc = (np.linalg.norm(x, axis=-1) for x in (a, b, c))
        det = np.einsum("nfi,nfi->nf", a, np.cross(b, c))
        den = (la * lb * lc + np.einsum("nfi,nfi->nf", a, b) * lc + np.einsum("nfi,nfi->nf", a, c) * lb
               + np.einsum("nfi,nfi->nf", b, c) * la)
        wind = 2.0 * np.arctan2(det, den).sum(axis=1) / (4 * np.pi)
        inside[ii] = np.abs(wind) > 0.5
    return np.where(inside, dist, -dist)
