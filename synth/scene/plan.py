"""Sample planning: ``(job config, i)`` -> :class:`SampleSpec` (pure numpy).

Sample ``i`` draws everything from its own Generator,
``main`` stream (:mod:`synth.rng`: ``SeedSequence([seed, i])``), in a fixed order (side,
shape, pose, hand orientation, camera, material, lights, background), so any split of a job into
shards gives identical samples.

Worn accessories (``cfg.accessories``, natural planning only) draw from a third stream,
``accessories`` stream (:mod:`synth.scene.accessories`), and follow the held objects in
``spec.props`` (part ids ``16 + n_objects + k``, category ``accessory``).

Held objects (``cfg.props``) draw from a second stream of the sample,
``props`` stream: whether the hand holds something (one draw,
always consumed), then the prop (uniform over ``cfg.props.names``), one of the grasps it affords,
its size and materials and the fit
(:func:`synth.props.fitting.sample_fit`). A fitted grasp replaces the drawn pose (the main stream
still draws it, so the draw order of everything else is unchanged and jobs with
``props.fraction = 0`` are identical to jobs made before props existed).

World layout: the hand's palm centre is at the world origin with a uniformly random orientation;
the camera orbits the origin (distance, elevation and azimuth drawn from the config, at least
60 degrees away from the forearm's direction) and looks at a point jittered around it; one area
key light sits on the camera's side.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable

import numpy as np

from synth.config import JobConfig
from synth.geometry import project_camera, rotation_between, skew, transform
from synth.hand import anatomy
from synth.hand.rig import HandRig
from synth.rng import stream
from synth.scene.camera import Camera, intrinsics, look_at
from synth.scene.spec import (
    OBJECT_PART_BASE,
    BackgroundSpec,
    HandSpec,
    LightingSpec,
    LightSpec,
    MaterialSpec,
    PropMaterial,
    PropSpec,
    SampleSpec,
    SurfaceSpec,
)

logger = logging.getLogger(__name__)

#: Minimum angle between the camera direction (seen from the palm) and the forearm, degrees.
FOREARM_CLEARANCE_DEG = 60.0
#: Rough bounding radius of a hand around the palm centre (metres), for the look-at jitter.
HAND_RADIUS_M = 0.1

#: Default skin albedos (linear RGB) by tone label; the appearance issue replaces this sampler.
SKIN_TONES: dict[str, tuple[float, float, float]] = {
    "light": (0.80, 0.57, 0.47),
    "medium": (0.62, 0.40, 0.29),
    "tan": (0.48, 0.30, 0.20),
    "dark": (0.24, 0.14, 0.09),
}

#: ``(rng, gesture names) -> (pose_deg (16, 3), gesture name, category)``
PoseSampler = Callable[[np.random.Generator, list[str]], tuple[np.ndarray, str, str]]


@functools.lru_cache(maxsize=1)
def _grasp_poses() -> dict[str, np.ndarray]:
    from synth.gestures.library import load_library

    return {g.name: g.pose for g in load_library().in_category("grasp")}


def prop_pairs(cfg: JobConfig) -> list[tuple[str, str]]:
    """The (grasp, prop) pairs a job draws from: the props of ``cfg.props.names`` (all when
    empty) and the library's grasps (those of ``cfg.hand.gestures`` when it names any)."""
    from synth.props.fitting import affording_pairs
    from synth.props.library import PROP_NAMES

    grasps = set(_grasp_poses())
    chosen = grasps & set(cfg.hand.gestures)
    pairs = affording_pairs(sorted(chosen or grasps), list(cfg.props.names) or list(PROP_NAMES))
    if not pairs:
        raise ValueError(f"no grasp of the gesture library affords the props {list(cfg.props.names) or 'all'}"
                         + (f" among the gestures {sorted(chosen)}" if chosen else ""))
    return pairs


def fit_prop(cfg: JobConfig, i: int, rig: HandRig, shape: np.ndarray, gesture: str = "free",
             category: str = "free"):  # noqa: ANN201 - GraspFit | None
    """Decide whether sample ``i`` holds an object and, if so, fit one (stream ``props``).

    A drawn gesture that holds something (a grasp, or a device gesture such as ``holding_cup``:
    :func:`synth.props.holding.holds_object`) holds an object with probability
    ``props.grasp_fraction``, any other with ``props.fraction`` (one draw, always consumed); the
    object fits the drawn grasp or names the gesture's object first, then any grasp and prop
    (:func:`synth.props.holding.fit_for_gesture`).

    Returns:
        A :class:`synth.props.fitting.GraspFit` in the hand model frame with ``stage`` set
        (``drawn`` or ``fallback``), or None (no object, or no fit found: logged, the sample
        then holds nothing and keeps its drawn pose).
    """
    from synth.props.holding import fit_for_gesture, holds_object

    rng = stream(cfg.seed, i, "props")
    p = cfg.props.grasp_fraction if holds_object(gesture, category) else cfg.props.fraction
    holds = rng.random() < p  # always drawn
    if not holds:
        return None
    fit, stage = fit_for_gesture(rig, shape, rng, _grasp_poses(), prop_pairs(cfg), gesture, category)
    if fit is None:
        logger.warning("sample %d: no grasp fit found for %s; the hand holds nothing", i, gesture)
        return None
    return dataclasses.replace(fit, stage=stage)


def prop_spec(fit, root: np.ndarray, index: int = 0) -> PropSpec:  # noqa: ANN001 - GraspFit
    """The world-frame :class:`PropSpec` of a fit, for a hand with model-to-world ``root``."""
    prop = fit.prop
    T = np.asarray(root, dtype=np.float64) @ np.asarray(fit.object_to_model, dtype=np.float64)
    v = np.asarray(prop.mesh.vertices, dtype=np.float64) @ T[:3, :3].T + T[:3, 3]
    mats = tuple(PropMaterial(name=s, base_color=tuple(float(x) for x in prop.materials[s].base_color),
                              roughness=float(prop.materials[s].roughness), metallic=float(prop.materials[s].metallic),
                              transmission=float(prop.materials[s].transmission),
                              color_name=prop.materials[s].color_name)
                 for s in prop.material_slots)
    d = fit.to_dict()
    summary = {k: d[k] for k in ("max_penetration_m", "pose_offsets_deg", "opposition")}
    summary["stage"] = fit.stage  # drawn: fits the drawn gesture; fallback: another grasp / prop
    return PropSpec(name=prop.name, category=prop.category, part_id=OBJECT_PART_BASE + index, object_to_world=T,
                    vertices=v, faces=np.asarray(prop.mesh.faces, dtype=np.int64),
                    face_material=np.asarray(prop.face_material, dtype=np.int64), materials=mats,
                    grasp=str(fit.grasp or ""), contacts=tuple(d["contacts"]), description=prop.describe(),
                    fit=summary)


def plan_accessories(cfg: JobConfig, i: int, rig: HandRig, hand: HandSpec, n_objects: int) -> tuple[PropSpec, ...]:
    """Sample ``i``'s worn accessories, placed on the posed hand (part ids after the
    ``n_objects`` held objects); drawn from the ``accessories`` stream."""
    probs = cfg.accessories.probs()
    if not any(probs.values()):
        return ()
    from synth.scene import accessories as acc

    accs = acc.sample_accessories(stream(cfg.seed, i, "accessories"), rig, hand.shape, probs, hand.pose_deg,
                                  posed=hand.posed)
    if not accs:
        return ()
    bt = hand.posed.bone_transforms
    return acc.accessory_specs(accs, bt, hand.root, rig.bone_names, n_objects)


def free_pose(rng: np.random.Generator, pose_range: float) -> np.ndarray:
    """A ``(16, 3)`` pose drawn uniformly in the central ``pose_range`` fraction of
    :data:`synth.hand.anatomy.LIMITS`, degrees (twist kept at a quarter of that)."""
    lo, hi = anatomy.LIMITS[..., 0], anatomy.LIMITS[..., 1]
    mid, half = (lo + hi) / 2.0, (hi - lo) / 2.0 * pose_range
    half = half * np.array([1.0, 1.0, 0.25])
    return mid + half * (2.0 * rng.random((anatomy.N_JOINTS, 3)) - 1.0)


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random ``(3, 3)`` rotation (unit quaternion from 4 normals)."""
    q = rng.standard_normal(4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])  # fmt: skip


def posed_hand(rig: HandRig, hand: HandSpec) -> HandSpec:
    """``hand`` carrying its posed mesh for its own shape and pose (after changing either)."""
    from synth.hand.skinning import forward

    return dataclasses.replace(hand, posed=forward(rig, hand.shape, hand.pose_deg))


def palm_centre(keypoints: np.ndarray) -> np.ndarray:
    """``(3,)`` palm centre of ``(21, 3)`` posed keypoints (same frame): the mean of the wrist and
    the four finger MCP keypoints (shape parameters move the wrist, so this is computed, not fixed)."""
    return keypoints[[0, 5, 9, 13, 17]].mean(axis=0)


def _uniform(rng: np.random.Generator, lohi: tuple[float, float]) -> float:
    return float(lohi[0] + (lohi[1] - lohi[0]) * rng.random())


def plan_sample(
    cfg: JobConfig,
    i: int,
    rigs: dict[str, HandRig],
    pose_sampler: PoseSampler | None = None,
) -> SampleSpec:
    """Plan sample ``i`` of the job.

    Args:
        cfg: the job.
        i: sample id.
        rigs: hand rig per side (those ``cfg.hand.side`` can choose).
        pose_sampler: gesture pose sampler; None draws a free pose (:func:`free_pose`).
    Returns:
        The sample's spec; identical for identical ``(cfg, i)``.
    """
    rng = stream(cfg.seed, i)
    sides = ("right", "left") if cfg.hand.side == "both" else (cfg.hand.side,)
    side = sides[int(rng.integers(len(sides)))]
    rig = rigs[side]
    shape = rig.sample_shape(rng) if cfg.hand.shape == "random" else rig.shape_default.copy()
    if pose_sampler is not None:
        pose, gesture, category = pose_sampler(rng, list(cfg.hand.gestures))
    else:
        pose, gesture, category = free_pose(rng, cfg.hand.pose_range), "free", "free"
    pose = anatomy.clamp(np.asarray(pose, dtype=np.float64))
    holding = cfg.props.fraction > 0 or cfg.props.grasp_fraction > 0
    fit = fit_prop(cfg, i, rig, shape, gesture, category) if holding else None
    if fit is not None:  # the grasp the object was fitted to, with its adjusted flexion
        pose, gesture, category = np.asarray(fit.pose_deg, dtype=np.float64), str(fit.grasp), "grasp"
    from synth.hand.skinning import forward

    posed = forward(rig, shape, pose)  # the posed hand of the sample: computed once, carried in HandSpec

    natural = cfg.camera.mode != "orbit" or cfg.lighting.mode == "natural" or cfg.appearance.skin == "monk"
    if natural:
        root = natural_root(rng, posed.keypoints)
        if fit is not None and fit.prop.category == "container":
            root = upright_root(cfg.seed, i, root, np.asarray(fit.object_to_model, dtype=np.float64))
        R = root[:3, :3]
    else:
        R = random_rotation(rng)
        root = np.eye(4)
        root[:3, :3] = R
        root[:3, 3] = -R @ palm_centre(posed.keypoints)
    hand = HandSpec(model=cfg.hand.model, side=side, shape=shape, pose_deg=pose, root=root,
                    gesture=gesture, gesture_category=category, posed=posed)
    props = (prop_spec(fit, root),) if fit is not None else ()
    if natural:
        worn = plan_accessories(cfg, i, rig, hand, len(props))
        spec = dataclasses.replace(_plan_natural(cfg, i, rng, rig, hand, props), props=props + worn)
        spec = drop_visible_sleeve_ends(spec)
        return plan_room(cfg, i, plan_surface(cfg, i, spec, rig))

    W, H = cfg.render.size
    c = cfg.camera
    dist = _uniform(rng, c.distance)
    # The forearm points along the model's -y axis: keep the camera at least FOREARM_CLEARANCE
    # away from that direction so the arm does not run into the lens (re-drawn from rng).
    forearm = R @ np.array([0.0, -1.0, 0.0])
    for _ in range(32):
        elev = np.radians(_uniform(rng, c.elevation))
        azim = 2.0 * np.pi * rng.random()
        view = np.array([np.cos(elev) * np.cos(azim), np.cos(elev) * np.sin(azim), np.sin(elev)])
        if view @ forearm < np.cos(np.radians(FOREARM_CLEARANCE_DEG)):
            break
    eye = dist * view
    target = (2.0 * rng.random(3) - 1.0) * c.jitter * HAND_RADIUS_M
    fov = np.radians(_uniform(rng, c.fov))
    focal = (W / 2.0) / np.tan(fov / 2.0)
    camera = Camera(K=intrinsics(focal, W, H), world_to_cam=look_at(eye, target), width=W, height=H)

    tones = list(SKIN_TONES)
    tone = tones[int(rng.integers(len(tones)))]
    hand = dataclasses.replace(hand, material=MaterialSpec(base_color=SKIN_TONES[tone],
                                                           roughness=_uniform(rng, (0.35, 0.6)),
                                                           subsurface_weight=0.1, skin_tone=tone))

    # Key light: on the camera's side, up to 60 degrees off the view direction, 1 m away.
    fwd = eye / np.linalg.norm(eye)
    off = rng.standard_normal(3)
    off -= off.dot(fwd) * fwd
    off /= max(np.linalg.norm(off), 1e-9)
    ang = np.radians(60.0) * rng.random()
    ldir = np.cos(ang) * fwd + np.sin(ang) * off
    light = LightSpec(position=tuple(float(x) for x in ldir * 1.0), target=(0.0, 0.0, 0.0),
                      power=_uniform(rng, cfg.lighting.key_power), size=0.3)
    grey = _uniform(rng, (0.05, 0.6))
    tint = 1.0 + 0.2 * (2.0 * rng.random(3) - 1.0)
    background = BackgroundSpec(color=tuple(float(x) for x in np.clip(grey * tint, 0, 1)),
                                strength=_uniform(rng, cfg.lighting.world_strength))
    return SampleSpec(sample_id=int(i), seed=int(cfg.seed), hands=(hand,), camera=camera, camera_mode="orbit",
                      lighting=LightingSpec(kind="basic", key_lights=(light,), world=background), props=props)


#: A sleeve's far end: its vertices within this distance (metres) of its farthest from the wrist.
SLEEVE_END_M = 0.02


def drop_visible_sleeve_ends(spec: SampleSpec) -> SampleSpec:
    """Remove a sleeve whose far (elbow-side) end would show in the image -- a cloth tube ending
    in mid-air is the stump the viewpoint rules keep out of frame for the bare forearm; the
    objects after it move down one part id. Unchanged when no sleeve end is visible."""
    if not any(p.category == "accessory" and p.name == "sleeve" for p in spec.props):
        return spec
    _, kp = spec.hand.world()
    cam = spec.camera
    kept = []
    for p in spec.props:
        if p.category == "accessory" and p.name == "sleeve":
            d = np.linalg.norm(p.vertices - kp[0], axis=1)
            end = p.vertices[d > d.max() - SLEEVE_END_M]
            c = transform(end, cam.world_to_cam)
            uv = project_camera(c[c[:, 2] > 1e-3], cam.K)  # the points in front of the camera
            if ((uv[:, 0] > -0.5) & (uv[:, 0] < cam.width - 0.5) & (uv[:, 1] > -0.5) & (uv[:, 1] < cam.height - 0.5)).any():
                logger.debug("sample %d: the sleeve's end would be in the image; no sleeve", spec.sample_id)
                continue
        kept.append(p)
    if len(kept) == len(spec.props):
        return spec
    kept = [q if q.part_id == OBJECT_PART_BASE + k else dataclasses.replace(q, part_id=OBJECT_PART_BASE + k)
            for k, q in enumerate(kept)]
    return dataclasses.replace(spec, props=tuple(kept))


def plan_surface(cfg: JobConfig, i: int, spec: SampleSpec, rig: HandRig) -> SampleSpec:
    """Add the table of sample ``i`` when its lighting drew one (:mod:`synth.scene.surface`,
    stream ``surface``): a slab under the hand, forearm, held object and
    accessories, appended to ``spec.props`` (category ``surface``). Local lights that would sit
    under the top are mirrored above it. Unchanged when the camera is not above the top."""
    ls = spec.lighting.sample
    if ls is None or not ls.background.table:
        return spec
    from synth.scene import surface as sf

    verts, _ = spec.hand.world()
    pts = np.concatenate([verts] + [np.asarray(p.vertices) for p in spec.props])
    surf = sf.sample_surface(stream(cfg.seed, i, "surface"), pts, spec.camera.position, cfg.lighting.table_rest_prob)
    if surf is None:
        logger.debug("sample %d: camera below the table top; no table", i)
        ls = dataclasses.replace(ls, background=dataclasses.replace(ls.background, table=False))
        return dataclasses.replace(spec, lighting=dataclasses.replace(spec.lighting, sample=ls))
    ps = sf.surface_spec(surf, OBJECT_PART_BASE + len(spec.props), verts, rig.parts)
    lifted = []
    for li in ls.lights:
        z = li.position[2]
        if z < surf.top_z + 0.1:
            li = dataclasses.replace(li, position=(li.position[0], li.position[1], 2.0 * surf.top_z - z + 0.2))
        lifted.append(li)
    ls = dataclasses.replace(ls, lights=tuple(lifted))
    worn = [np.asarray(p.vertices) for p in spec.props if p.category == "accessory"]
    body_low = float(np.concatenate([verts] + worn)[:, 2].min())  # the hand or what it wears touches the top
    touches = surf.resting and body_low - surf.top_z <= sf.CONTACT_TOLERANCE_M + 3e-3
    return dataclasses.replace(spec, props=spec.props + (ps,), lighting=dataclasses.replace(spec.lighting, sample=ls),
                               surface=SurfaceSpec(surf, sf.surface_words(surf, touches)))


def plan_room(cfg: JobConfig, i: int, spec: SampleSpec) -> SampleSpec:
    """Add the room of sample ``i`` when its background kind is ``room`` (:mod:`synth.scene.room`,
    stream ``room``) as ``spec.room``: behind everything the sample labels (hand, objects,
    accessories, table). Unchanged otherwise."""
    ls = spec.lighting.sample
    if ls is None or ls.background.kind != "room":
        return spec
    from synth.scene import room as rm

    verts, _ = spec.hand.world()
    pts = np.concatenate([verts] + [np.asarray(p.vertices) for p in spec.props])
    cam = spec.camera
    room = rm.sample_room(stream(cfg.seed, i, "room"), cam.world_to_cam, cam.K, (cam.width, cam.height), pts)
    return dataclasses.replace(spec, room=room)


@functools.lru_cache(maxsize=8)
def _hdris(dirs: tuple[str, ...], exclude: tuple[str, ...] = ()) -> list:
    from synth.scene.lighting import available_hdris

    return [p for p in available_hdris(dirs) if str(p) not in exclude]


@functools.lru_cache(maxsize=8)
def _backgrounds(dirs: tuple[str, ...], exclude: tuple[str, ...] = ()) -> list:
    from synth.scene.lighting import IMAGE_SUFFIXES, list_files

    return [p for d in dirs for p in list_files(d, IMAGE_SUFFIXES, "background") if str(p) not in exclude]


#: The forearm points at most this far from straight down (world -Z): hands are raised, held
#: out or hang, with the elbow below or level with the hand far more often than above it.
FOREARM_MAX_FROM_DOWN_DEG = 100.0


#: A held container (mug, cup, bottle) stands within this angle of upright (degrees).
UPRIGHT_TILT_DEG = 25.0
#: ... unless its hand's forearm would then point more than this far from straight down.
UPRIGHT_FOREARM_MAX_DEG = 125.0


def upright_root(seed: int, i: int, root: np.ndarray, object_to_model: np.ndarray) -> np.ndarray:
    """Turn a hand holding a container about its palm centre (the world origin) so that the
    container's axis (prop +z, its opening) points within :data:`UPRIGHT_TILT_DEG` of world up,
    as people hold drinks; the tilt is drawn from the ``upright`` stream. Returns ``root``
    unchanged when the forearm would then point more than :data:`UPRIGHT_FOREARM_MAX_DEG` from
    straight down (an elbow above the hand)."""
    g = stream(seed, i, "upright")
    tilt, azim = np.radians(UPRIGHT_TILT_DEG) * np.sqrt(g.random()), 2.0 * np.pi * g.random()
    target = np.array([np.sin(tilt) * np.cos(azim), np.sin(tilt) * np.sin(azim), np.cos(tilt)])
    up = root[:3, :3] @ object_to_model[:3, :3] @ np.array([0.0, 0.0, 1.0])
    Rf = rotation_between(up, target)
    forearm = Rf @ root[:3, :3] @ np.array([0.0, -1.0, 0.0])
    if forearm[2] > -np.cos(np.radians(UPRIGHT_FOREARM_MAX_DEG)):  # more than the limit from (0, 0, -1)
        return root
    out = root.copy()
    out[:3, :3] = Rf @ root[:3, :3]
    out[:3, 3] = Rf @ root[:3, 3]
    return out


def natural_root(rng: np.random.Generator, keypoints: np.ndarray) -> np.ndarray:
    """``(4, 4)`` model-to-world transform of a naturally held hand: palm centre at the origin,
    the forearm (model -y) within :data:`FOREARM_MAX_FROM_DOWN_DEG` of world down, and a uniform
    rotation about the forearm (pronation / supination), so that upright cameras see upright
    worlds around plausibly oriented hands."""
    cos_t = rng.uniform(np.cos(np.radians(FOREARM_MAX_FROM_DOWN_DEG)), 1.0)
    phi = rng.uniform(0.0, 2.0 * np.pi)
    sin_t = np.sqrt(1.0 - cos_t**2)
    a_w = -np.array([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t])  # forearm direction, world
    a_m = np.array([0.0, -1.0, 0.0])  # forearm direction, model frame
    R0 = rotation_between(a_m, a_w)
    tw = rng.uniform(0.0, 2.0 * np.pi)
    K = skew(a_w)
    R = (np.eye(3) + np.sin(tw) * K + (1 - np.cos(tw)) * K @ K) @ R0
    root = np.eye(4)
    root[:3, :3] = R
    root[:3, 3] = -R @ palm_centre(keypoints)
    return root


def _plan_natural(cfg: JobConfig, i: int, rng: np.random.Generator, rig: HandRig, hand: HandSpec,
                  props: tuple[PropSpec, ...] = ()) -> SampleSpec:
    """Camera, skin, lighting and post effects from the appearance samplers (issue 5): natural
    viewpoints around the posed hand, Monk-scale skin, HDRI / sky / studio light, backgrounds.

    Draw order (fixed): camera, skin, lighting, post effects. The samples are kept in the spec's
    sections (``viewpoint``, the hand's ``skin``, ``lighting``, ``post``) for the renderer and labels.
    """
    from synth.scene import lighting as lt
    from synth.scene.post import sample_post
    from synth.scene.skin import sample_skin
    from synth.scene.viewpoint import sample_viewpoint

    W, H = cfg.render.size
    vertices, keypoints = hand.world()
    held = np.concatenate([p.vertices for p in props]) if props else None  # keep held objects in frame
    vp = sample_viewpoint(rng, vertices, rig.parts, keypoints, hand.side, W, H, cfg.camera,
                          extra_points=held)
    sk = None
    if cfg.appearance.skin == "monk":
        sk = sample_skin(rng, np.asarray(cfg.appearance.monk_weights), cfg.appearance.polish_prob)
        material = MaterialSpec(base_color=sk.back_color, roughness=sk.roughness, subsurface_weight=1.0,
                                subsurface_radius=sk.subsurface_radius, skin_tone=f"monk {sk.monk} ({sk.tone_words})")
    else:
        tones = list(SKIN_TONES)
        tone = tones[int(rng.integers(len(tones)))]
        material = MaterialSpec(base_color=SKIN_TONES[tone], roughness=_uniform(rng, (0.35, 0.6)),
                                subsurface_weight=0.1, skin_tone=tone)
    centre = vertices[rig.parts >= 2].mean(axis=0)
    if cfg.lighting.mode == "natural":
        skip = tuple(cfg.lighting.exclude_files)
        ls = lt.sample_lighting(rng, cfg.lighting, _hdris(tuple(cfg.lighting.hdri_dirs), skip), centre,
                                vp.camera.position, _backgrounds(tuple(cfg.lighting.background_dirs), skip))
        lighting = LightingSpec(kind="natural", sample=ls)
    else:
        fwd = vp.camera.position - centre
        fwd /= np.linalg.norm(fwd)
        lights = (LightSpec(position=tuple(float(x) for x in centre + fwd), target=tuple(float(x) for x in centre),
                            power=_uniform(rng, cfg.lighting.key_power), size=0.3),)
        grey = _uniform(rng, (0.05, 0.6))
        lighting = LightingSpec(kind="basic", key_lights=lights, world=BackgroundSpec(
            color=(grey, grey, grey), strength=_uniform(rng, cfg.lighting.world_strength)))
    # Depth of field focuses on the hand centre (planar camera depth).
    focus = float(vp.camera.world_to_cam[2, :3] @ centre + vp.camera.world_to_cam[2, 3])
    post = sample_post(rng, cfg.post, focus_m=focus, focal_mm=vp.focal_mm,
                       focal_px=float(vp.camera.K[0, 0]))
    hand = dataclasses.replace(hand, material=material, skin=sk)
    return SampleSpec(sample_id=int(i), seed=int(cfg.seed), hands=(hand,), camera=vp.camera, camera_mode=vp.mode,
                      viewpoint=vp, lighting=lighting, post=post)
