"""Natural camera viewpoints around a posed hand (pure numpy).

Three camera modes model how real photographs of hands are taken:

* ``third_person`` -- someone photographs the hand: any direction around it except within
  :data:`FOREARM_CONE_DEG` of the forearm axis (never down the forearm at the cut), random roll;
* ``egocentric`` -- a head-mounted camera: the camera sits behind and above the forearm (the
  person's shoulder/head side), looking at the hand, with the forearm entering from the bottom
  of the frame;
* ``selfie`` -- a frontal webcam/selfie view: the camera faces the raised hand roughly
  perpendicular to the forearm, which leaves the frame at the bottom.

Every sampled camera satisfies, checked on the posed mesh itself:

* the forearm's cut end (the stub's cap) projects outside the image, so no floating stump is
  ever visible -- the forearm always leaves the frame;
* unless truncation is allowed, every hand vertex (parts 2..7) projects inside the image with a
  margin, and the hand's projected extent is within ``fraction`` of the short image side;
* the camera is outside the forearm and every hand vertex is at least :data:`NEAR_M` in front.

With held objects (``extra_points``), cameras that show the object are preferred: each valid
draw is scored by :func:`object_view` (the estimated fraction of the object's silhouette not
covered by the hand -- on 40 fits it correlates at 0.91 with the fraction measured on
rasterised hand and object meshes -- and the silhouette's size relative to the object's
face-on area); the first with at least :data:`VIS_OK` visible and :data:`SIZE_OK` of its
face-on area is taken, else the best (:func:`view_score`) of :data:`VIS_CANDIDATES` valid
draws.

Focal lengths are drawn as 35 mm-equivalent focal lengths (``f_px = f_mm / 36 mm * max(W, H)``).
Rejected draws are re-drawn from the same Generator, so the result is deterministic.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from synth.geometry import palm_normal, project_camera, rotation_between, transform
from synth.scene.camera import Camera, intrinsics, look_at

logger = logging.getLogger(__name__)

MODES: tuple[str, ...] = ("third_person", "egocentric", "selfie")
FOREARM_CONE_DEG = 35.0
NEAR_M = 0.06
MARGIN_PX = 2.0
MAX_TRIES = 200


class ViewpointError(ValueError):
    """No camera satisfies the viewpoint constraints (one-line message naming the option)."""
#: Held objects: a camera from which at least this fraction of the object's silhouette is not
#: covered by the hand is taken at once; otherwise the best of :data:`VIS_CANDIDATES` valid
#: cameras is kept (see :func:`object_visibility`).
VIS_OK = 0.6
VIS_CANDIDATES = 8
VIS_RES = 48
#: ... and whose silhouette is at least this fraction of its face-on area (no card seen edge-on,
#: no pen seen end-on; see :func:`object_view`).
SIZE_OK = 0.35
WORLD_UP = np.array([0.0, 0.0, 1.0])
ROLL_DEG = 25.0


@dataclass
class ViewpointConfig:
    """Camera sampling (metres, degrees): the job config's ``camera`` section and the sampler's
    input (one definition).

    Attributes:
        mode: ``mixed`` (draw third-person / egocentric / selfie views with the weights below),
            one of those three modes only, or ``orbit`` (the simple orbit camera below).
            Natural modes keep the forearm's cut out of frame and the hand within ``fraction``
            of the short image side.
        third_person, egocentric, selfie: mixture weights of ``mixed`` (normalised; zero
            disables a mode).
        fraction: (min, max) hand extent as a fraction of the short image side.
        focal_mm: (min, max) 35 mm-equivalent focal length.
        allow_truncation: let the hand leave the frame (the forearm rule still holds).
        distance, fov, elevation, jitter: the ``orbit`` camera: distance to the hand centre,
            horizontal field of view, elevation, look-at jitter (fraction of the hand radius).
    """

    mode: str = "mixed"
    third_person: float = 0.5
    egocentric: float = 0.25
    selfie: float = 0.25
    fraction: tuple[float, float] = (0.3, 0.7)
    focal_mm: tuple[float, float] = (24.0, 85.0)
    allow_truncation: bool = False
    distance: tuple[float, float] = (0.45, 0.7)
    fov: tuple[float, float] = (35.0, 45.0)
    elevation: tuple[float, float] = (-60.0, 80.0)
    jitter: float = 0.15

    @property
    def modes(self) -> dict[str, float]:
        """Mixture weights per natural mode (a single mode when ``mode`` names one)."""
        if self.mode in MODES:
            return {self.mode: 1.0}
        return {"third_person": self.third_person, "egocentric": self.egocentric, "selfie": self.selfie}

    def __post_init__(self) -> None:
        if self.mode not in ("mixed", "orbit", *MODES):
            raise ValueError(f"mode: unknown camera mode {self.mode!r}; expected mixed, orbit, {', '.join(MODES)}")
        if min(self.modes.values()) < 0 or sum(self.modes.values()) <= 0:
            raise ValueError("camera mode weights must be >= 0 and not all zero")
        lo, hi = self.fraction
        if not 0.02 <= lo <= hi <= 1.5:
            raise ValueError(f"camera fraction must satisfy 0.02 <= lo <= hi <= 1.5, got {self.fraction}")
        flo, fhi = self.focal_mm
        if not 8.0 <= flo <= fhi <= 400.0:
            raise ValueError(f"focal_mm must satisfy 8 <= lo <= hi <= 400, got {self.focal_mm}")


@dataclass(frozen=True)
class Viewpoint:
    """A sampled camera with what describes it.

    Attributes:
        camera: the camera (OpenCV conventions).
        mode: camera mode.
        focal_mm: 35 mm-equivalent focal length.
        fraction: hand extent / short image side actually achieved.
        elevation_deg: angle of the viewing ray above the palm plane, seen from the palm side
            (+90 looking straight at the palm, -90 at the back of the hand).
        tries: draws needed.
        object_visible: with held objects, the estimated fraction of their silhouette not
            covered by the hand (:func:`object_view`); None without.
        object_size: with held objects, their silhouette relative to their face-on area.
    """

    camera: Camera
    mode: str
    focal_mm: float
    fraction: float
    elevation_deg: float
    tries: int
    object_visible: float | None = None
    object_size: float | None = None

    def attributes(self) -> dict[str, object]:
        out: dict[str, object] = {"camera_mode": self.mode, "focal_mm": round(self.focal_mm, 2),
                                  "hand_fraction": round(self.fraction, 4),
                                  "view_elevation_deg": round(self.elevation_deg, 2)}
        if self.object_visible is not None:
            out["object_visible_fraction"] = round(self.object_visible, 3)
        if self.object_size is not None:
            out["object_face_on_fraction"] = round(self.object_size, 3)
        return out


def _splat_min(ix: np.ndarray, iy: np.ndarray, z: np.ndarray, gw: int, gh: int) -> np.ndarray:
    """Per-cell minimum of ``z`` ``(N,)`` over cells ``(iy, ix)`` of a ``(gh, gw)`` grid (inf where
    empty); out-of-grid points are dropped."""
    ok = (ix >= 0) & (ix < gw) & (iy >= 0) & (iy < gh)
    out = np.full(gh * gw, np.inf)
    np.minimum.at(out, iy[ok] * gw + ix[ok], z[ok])
    return out.reshape(gh, gw)


def _min3(z: np.ndarray) -> np.ndarray:
    """3x3 minimum filter of a ``(H, W)`` grid (inf outside)."""
    p = np.pad(z, 1, constant_values=np.inf)
    H, W = z.shape
    out = z.copy()
    for dy in range(3):
        for dx in range(3):
            out = np.minimum(out, p[dy:dy + H, dx:dx + W])
    return out


def object_visibility(cam: Camera, hand: np.ndarray, obj: np.ndarray, res: int = VIS_RES) -> float:
    """Estimated fraction of a held object's silhouette that the hand does not cover (0..1);
    see :func:`object_view`."""
    return object_view(cam, hand, obj, res)[0]


def view_score(visible: float, size: float) -> float:
    """How well a camera shows a held object: the visible fraction, scaled down when the
    silhouette is under :data:`SIZE_OK` of the face-on area."""
    return visible * min(1.0, size / SIZE_OK)


def object_view(cam: Camera, hand: np.ndarray, obj: np.ndarray, res: int = VIS_RES) -> tuple[float, float]:
    """Estimated fraction of a held object's silhouette that the hand does not cover (0..1).

    On a ``res``-cell grid over the image: the object's silhouette is the convex hull of its
    projected points ``obj`` ``(N, 3)`` (world, e.g. its mesh vertices); its front depth per cell
    is the nearest object point in the cell, interpolated linearly (Delaunay) over the cells
    without one, e.g. along a pencil whose mesh has vertices only at its ends. The hand is a
    depth buffer of its vertices ``hand`` ``(V, 3)`` spread over 3x3 cells (their spacing is
    below a cell at the hand sizes used). A silhouette cell is covered where the hand is nearer than the
    object. A few milliseconds; deterministic.

    Returns:
        ``(visible, size)``: the fraction of the silhouette not covered by the hand (1.0 when the
        object is not in front of the camera), and the silhouette's area relative to the
        object's face-on area (the product of its two longest principal extents, projected at
        its median depth): about 1 face-on, small for a card seen edge-on or a pen end-on.
    """
    import cv2

    s = res / float(max(cam.width, cam.height))
    gw, gh = max(1, int(np.ceil(cam.width * s))), max(1, int(np.ceil(cam.height * s)))
    po = transform(obj, cam.world_to_cam)
    po = po[po[:, 2] > 1e-3]
    if len(po) < 3:
        return 1.0, 0.0
    uo = project_camera(po, cam.K) * s
    mask = np.zeros((gh, gw), dtype=np.uint8)
    hull = cv2.convexHull(np.round(uo * 16).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 1, lineType=cv2.LINE_8, shift=4)
    sil = mask > 0
    area = int(sil.sum())
    if area == 0:
        return 1.0, 0.0
    c = po - po.mean(axis=0)
    axes = np.linalg.eigh(c.T @ c)[1][:, ::-1]
    ext = np.ptp(c @ axes, axis=0)
    f = float(np.sqrt(cam.K[0, 0] * cam.K[1, 1]))
    face_on = float(ext[0] * ext[1]) * (f * s / float(np.median(po[:, 2]))) ** 2  # grid cells
    size = min(1.0, area / max(face_on, 1e-9))
    zo = _splat_min(np.floor(uo[:, 0]).astype(np.int64), np.floor(uo[:, 1]).astype(np.int64), po[:, 2], gw, gh)
    empty = sil & ~np.isfinite(zo)
    if empty.any():  # silhouette cells without an object point: interpolated between those with one
        from scipy.interpolate import griddata

        have = np.argwhere(np.isfinite(zo))
        need = np.argwhere(empty)
        vals = zo[have[:, 0], have[:, 1]]
        fill = None
        if len(have) == 0:  # every object point lies outside the image, only its hull crosses it
            fill = np.full(len(need), float(np.median(po[:, 2])))
        elif len(have) >= 4 and np.linalg.matrix_rank(have - have.mean(axis=0)) == 2:
            fill = griddata(have.astype(np.float64), vals, need.astype(np.float64), method="linear")
        if fill is None:
            fill = np.full(len(need), np.nan)
        gap = np.isnan(fill)
        if gap.any():  # outside the samples' hull: the nearest sample
            nn = ((need[gap][:, None, :] - have[None]) ** 2).sum(-1).argmin(axis=1)
            fill[gap] = vals[nn]
        zo[need[:, 0], need[:, 1]] = fill
    ph = transform(hand, cam.world_to_cam)
    ph = ph[ph[:, 2] > 1e-3]
    uh = project_camera(ph, cam.K) * s
    zh = _min3(_splat_min(np.floor(uh[:, 0]).astype(np.int64), np.floor(uh[:, 1]).astype(np.int64), ph[:, 2],
                          gw, gh))
    covered = int((sil & (zh < zo)).sum())
    return 1.0 - covered / area, size


def hand_frame(vertices: np.ndarray, parts: np.ndarray, keypoints: np.ndarray, side: str) -> dict[str, np.ndarray]:
    """Directions of a posed hand in world coordinates.

    Returns a dict with ``centre`` (3,) centre of the hand's bounding box (parts 2..7),
    ``forearm`` (3,) unit vector from the wrist toward the forearm's cut, ``palmar`` (3,) unit
    palm normal pointing out of the palm, ``cap`` (N, 3) the vertices of the forearm's cut end.
    """
    hand = vertices[parts >= 2]
    centre = (hand.min(0) + hand.max(0)) / 2.0
    wrist = keypoints[0]
    fore = vertices[parts == 1]
    d = np.linalg.norm(fore - wrist, axis=1)
    cap = fore[d > 0.9 * d.max()]
    a = cap.mean(0) - wrist
    a /= np.linalg.norm(a)
    return {"centre": centre, "forearm": a, "palmar": palm_normal(keypoints, side), "cap": cap}


def _perp(v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    r = rng.standard_normal(3)
    r -= r.dot(v) * v
    return r / np.linalg.norm(r)


def _direction(mode: str, fr: dict[str, np.ndarray], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(view direction from camera to hand, image-up hint) for a mode."""
    a = fr["forearm"]
    if mode == "third_person":
        while True:
            v = rng.standard_normal(3)
            v /= np.linalg.norm(v)
            if abs(v @ a) < np.cos(np.radians(FOREARM_CONE_DEG)):
                break
        # photographs are mostly upright: world up, rolled by up to ROLL_DEG (any roll when the
        # camera looks straight up or down)
        up = WORLD_UP - (WORLD_UP @ v) * v
        if np.linalg.norm(up) < 0.2:
            return v, _perp(v, rng)
        up /= np.linalg.norm(up)
        roll = np.radians(rng.uniform(-ROLL_DEG, ROLL_DEG))
        up = np.cos(roll) * up + np.sin(roll) * np.cross(v, up)
        return v, up
    if mode == "egocentric":
        # camera behind and above the forearm: the ray makes 20-55 degrees with the distal axis
        u = _perp(a, rng)
        if u @ (-fr["palmar"]) < 0 and rng.random() < 0.75:  # mostly the back of the hand
            u = -u
        ang = np.radians(rng.uniform(20.0, 55.0))
        v = -(np.cos(ang) * a) - np.sin(ang) * u  # from camera (at +a, +u side) to the hand
        v /= np.linalg.norm(v)
        return v, -a
    # selfie / webcam: roughly perpendicular to the forearm, either side of the hand
    u = _perp(a, rng)
    tilt = np.radians(rng.uniform(-20.0, 20.0))
    v = np.cos(tilt) * u + np.sin(tilt) * a
    v /= np.linalg.norm(v)
    return v, -a


def sample_viewpoint(
    rng: np.random.Generator,
    vertices: np.ndarray,
    parts: np.ndarray,
    keypoints: np.ndarray,
    side: str,
    width: int,
    height: int,
    config: ViewpointConfig | None = None,
    extra_points: np.ndarray | None = None,
) -> Viewpoint:
    """Draw a natural camera for a posed hand (world coordinates, metres).

    Args:
        rng: the sample's Generator.
        vertices: ``(V, 3)`` posed hand vertices, world frame.
        parts: ``(V,)`` part ids (1 forearm, 2..7 hand).
        keypoints: ``(21, 3)`` posed keypoints, world frame.
        side: ``right`` or ``left``.
        width, height: image size in pixels.
        config: the camera distribution.
        extra_points: ``(N, 3)`` more points that must stay in frame (held objects), optional.
    Returns:
        A :class:`Viewpoint`. Raises :class:`ViewpointError` (a ValueError) if no valid camera
        is found in :data:`MAX_TRIES` draws (with the default fraction range this does not
        happen for poses within the joint limits; a narrow ``fraction`` range can cause it).
    """
    cfg = config or ViewpointConfig()
    fr = hand_frame(vertices, parts, keypoints, side)
    names = [m for m in MODES if cfg.modes.get(m, 0.0) > 0]
    w = np.array([cfg.modes[m] for m in names], dtype=np.float64)
    w /= w.sum()
    hand = vertices[parts >= 2]
    held = extra_points is not None and len(extra_points) > 0
    if held:
        hand = np.concatenate([hand, extra_points])
    best: Viewpoint | None = None
    best_score = -1.0
    n_valid = 0
    fore = vertices[parts == 1]
    short = float(min(width, height))
    # The mode is drawn once so modes occur at their configured rates; only the view within the
    # mode is re-drawn (after MAX_TRIES // 2 failed draws, any mode is allowed).
    mode = names[int(rng.choice(len(names), p=w))]
    for t in range(1, MAX_TRIES + 1):
        if t > MAX_TRIES // 2:
            mode = names[int(rng.choice(len(names), p=w))]
        v, up = _direction(mode, fr, rng)
        f_mm = float(rng.uniform(*cfg.focal_mm))
        f_px = f_mm / 36.0 * max(width, height)
        K = intrinsics(f_px, width, height)
        target_frac = float(rng.uniform(*cfg.fraction))
        c = fr["centre"]
        dist = 0.5
        for _ in range(3):  # fix the distance so the projected extent matches the target fraction
            w2c = look_at(c - v * dist, c, up)
            pc = transform(hand, w2c)
            if (pc[:, 2] <= NEAR_M).any():
                dist *= 1.5
                continue
            uv = pc[:, :2] / pc[:, 2:3] * f_px
            extent = float((uv.max(0) - uv.min(0)).max())
            dist *= extent / (target_frac * short)
        eye = c - v * dist
        w2c = look_at(eye, c, up)
        # place the hand centre at a random image position that keeps it in frame
        pc = transform(hand, w2c)
        if (pc[:, 2] <= NEAR_M).any():
            continue
        uv = pc[:, :2] / pc[:, 2:3] * f_px  # relative to the principal point
        lo, hi = uv.min(0), uv.max(0)
        half = np.array([(width - 1) / 2.0, (height - 1) / 2.0]) - MARGIN_PX
        if cfg.allow_truncation:
            shift = rng.uniform(-half, half)
        else:
            smin, smax = -half - lo, half - hi
            if (smin > smax).any():
                continue
            shift = rng.uniform(smin, smax)
        # rotate the camera so that the hand centre (now on the optical axis) projects at `shift`
        # from the principal point
        r = np.array([shift[0], shift[1], f_px])
        M = np.eye(4)
        M[:3, :3] = rotation_between(np.array([0.0, 0.0, 1.0]), r / np.linalg.norm(r))
        w2c = M @ w2c
        cam = Camera(K=K, world_to_cam=w2c, width=width, height=height)
        ok, frac = _check(cam, hand, fore, fr["cap"], cfg.allow_truncation, short)
        if not ok or not (cfg.fraction[0] <= frac <= cfg.fraction[1] or cfg.allow_truncation):
            continue
        elev = float(np.degrees(np.arcsin(np.clip(-v @ fr["palmar"], -1.0, 1.0))))
        if not held:
            return Viewpoint(cam, mode, f_mm, frac, elev, t)
        # held objects: prefer a view that shows them (the first good one, else the best of a few)
        vis, size = object_view(cam, vertices, np.asarray(extra_points, dtype=np.float64))
        vp = Viewpoint(cam, mode, f_mm, frac, elev, t, vis, size)
        n_valid += 1
        score = view_score(vis, size)
        if best is None or score > best_score:
            best, best_score = vp, score
        if (vis >= VIS_OK and size >= SIZE_OK) or n_valid >= VIS_CANDIDATES:
            return best
    if best is not None:
        return best
    raise ViewpointError(f"no valid camera found in {MAX_TRIES} draws: the hand cannot fill camera.fraction "
                         f"{tuple(cfg.fraction)} of the short side with its forearm's cut end out of frame; "
                         "widen camera.fraction or pass --allow-truncation")


def _check(cam: Camera, hand: np.ndarray, fore: np.ndarray, cap: np.ndarray, allow_trunc: bool,
           short: float) -> tuple[bool, float]:
    """Validity of a camera: (ok, hand extent fraction)."""
    W, H = cam.width, cam.height
    pc = transform(hand, cam.world_to_cam)
    if (pc[:, 2] <= NEAR_M).any():
        return False, 0.0
    uv = project_camera(pc, cam.K)
    inside = (uv[:, 0] >= MARGIN_PX - 0.5) & (uv[:, 0] <= W - 0.5 - MARGIN_PX) & \
             (uv[:, 1] >= MARGIN_PX - 0.5) & (uv[:, 1] <= H - 0.5 - MARGIN_PX)
    if not allow_trunc and not inside.all():
        return False, 0.0
    if allow_trunc and not inside.any():
        return False, 0.0
    frac = float((uv.max(0) - uv.min(0)).max() / short)
    # the camera must not sit inside the forearm
    fc = transform(fore, cam.world_to_cam)
    if np.linalg.norm(fc, axis=1).min() < 0.05:
        return False, frac
    # the cut end must not be visible: every cap vertex behind the camera or outside the image
    cc = transform(cap, cam.world_to_cam)
    front = cc[:, 2] > 1e-3
    if front.any():
        cuv = project_camera(cc[front], cam.K)
        cin = (cuv[:, 0] > -0.5) & (cuv[:, 0] < W - 0.5) & (cuv[:, 1] > -0.5) & (cuv[:, 1] < H - 0.5)
        if cin.any():
            return False, frac
    return True, frac
