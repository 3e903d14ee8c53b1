"""Rendering a job: plan -> pose -> render -> label -> write, for both runtimes.

:func:`run_job` is what ``synth render`` and ``blender -b -P blender_scripts/render_shard.py --``
call. The renderers know nothing about the dataset writer; this module connects them.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from synth import __version__
from synth.config import JobConfig, RenderConfig
from synth.hand.rig import HandRig
from synth.labels.sample import VISIBILITY_DEFINITION, build_label, palm_normal
from synth.labels.visibility import DEPTH_TOLERANCE_M
from synth.render.types import HandMesh, Passes, face_parts_from_vertex_parts
from synth.scene.plan import PoseSampler, free_pose, plan_sample, posed_world
from synth.scene.spec import SampleSpec

logger = logging.getLogger(__name__)


class Renderer(Protocol):
    """What a backend provides: ``render(spec, vertices (V, 3) world) -> Passes``."""

    device_info: str

    def render(self, spec: SampleSpec, vertices: np.ndarray) -> Passes: ...

    def close(self) -> None: ...


@dataclass
class RenderedSample:
    """One sample, ready to write."""

    spec: SampleSpec
    passes: Passes
    label: dict[str, Any]
    vertices: np.ndarray
    faces: np.ndarray


@dataclass
class JobStats:
    """What :func:`run_job` did."""

    written: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    seconds: float = 0.0
    render_seconds: float = 0.0


def sides_of(cfg: JobConfig) -> tuple[str, ...]:
    return ("right", "left") if cfg.hand.side == "both" else (cfg.hand.side,)


def load_rigs(cfg: JobConfig) -> dict[str, HandRig]:
    """The hand rig of every side the job can draw."""
    from synth.hand.models import load_model

    return {s: load_model(cfg.hand.model, s) for s in sides_of(cfg)}


def hand_meshes(rigs: dict[str, HandRig]) -> dict[str, HandMesh]:
    """Static render topology per side: the rig's triangles, smooth-shaded, no subdivision (so
    the saved mesh, the keypoints and the rendered surface are the same geometry)."""
    from synth.hand.skinning import forward
    from synth.scene.skin import (
        crease_attributes,
        hair_weight,
        nail_coordinate,
        palm_line_attributes,
        skin_attributes,
        vein_attribute,
    )

    out = {}
    for s, r in rigs.items():
        palm, nail = skin_attributes(r)
        ct, cw = crease_attributes(r)
        out[s] = HandMesh(side=s, faces=r.faces.astype(np.int64), face_parts=face_parts_from_vertex_parts(r.faces, r.parts),
                          face_uvs=r.face_uvs, palm=palm, nail=nail, crease_t=ct, crease_w=cw,
                          palm_lines=palm_line_attributes(r, palm), nail_u=nail_coordinate(r),
                          rest_vertices=forward(r).vertices, veins=vein_attribute(r, palm), hair=hair_weight(r, palm))
    return out


def make_renderer(cfg: JobConfig, meshes: dict[str, HandMesh]) -> Renderer:
    """The backend named by ``cfg.render.renderer``."""
    if cfg.render.renderer == "raster":
        from synth.render.raster import RasterRenderer

        return RasterRenderer(cfg.render, meshes)
    from synth.render.blender.renderer import BlenderRenderer

    return BlenderRenderer(cfg.render, meshes)


def find_pose_sampler(gestures: list[str], pose_range: float = 0.6) -> PoseSampler | None:
    """A pose sampler over the gesture library when ``synth.gestures.sampler`` provides
    ``PoseSampler`` (variations, blends and natural random hands, collision-checked), else None
    (the planner then draws free poses within the joint limits).

    Raises:
        ValueError: a name in ``gestures`` is not in the library.
    """
    try:
        mod = importlib.import_module("synth.gestures.sampler")
    except ModuleNotFoundError as exc:
        if exc.name not in ("synth.gestures.sampler", "synth.gestures"):
            raise
        logger.info("no gesture sampler available: free poses within the joint limits")
        return None
    sampler = mod.PoseSampler(gestures=list(gestures) or None)
    library = sampler.library

    def sample(rng: np.random.Generator, _names: list[str]) -> tuple[np.ndarray, str, str]:
        try:
            batch = sampler.sample(rng, 1)
        except RuntimeError as exc:  # no collision-free pose found: a free pose (still deterministic)
            logger.warning("gesture sampler: %s; drawing a free pose within the joint limits instead", exc)
            return free_pose(rng, pose_range), "free", "free"
        name = str(batch.gesture[0])
        category = library.get(name).category if name in library else "free"
        return batch.poses[0], name, category

    return sample


def job_pose_sampler(cfg: JobConfig) -> PoseSampler | None:
    """The pose sampler ``cfg.hand.pose_source`` asks for (None: free poses)."""
    if cfg.hand.pose_source == "free":
        return None
    sampler = find_pose_sampler(cfg.hand.gestures, cfg.hand.pose_range)
    if cfg.hand.pose_source == "gestures" and sampler is None:
        raise ValueError("hand.pose_source=gestures, but synth.gestures has no pose sampler")
    return sampler


def find_describe() -> Callable[..., tuple[str, dict[str, Any]]] | None:
    """``synth.labels.captions.describe`` when that module exists, else None."""
    try:
        mod = importlib.import_module("synth.labels.captions")
    except ModuleNotFoundError as exc:
        if exc.name != "synth.labels.captions":
            raise
        return None
    return getattr(mod, "describe", None)


def render_info(cfg: JobConfig, renderer: Renderer) -> dict[str, Any]:
    r = cfg.render
    return {"renderer": r.renderer, "engine": r.engine if r.renderer == "blender" else "pyrender",
            "samples": r.effective_samples if r.renderer == "blender" else 1,
            "denoise": r.effective_denoise if r.renderer == "blender" else False,
            "device": r.device, "device_info": renderer.device_info, "filter_width": r.effective_filter_width,
            "view_transform": "Standard (sRGB)"}


def render_sample(
    cfg: JobConfig,
    i: int,
    rigs: dict[str, HandRig],
    renderer: Renderer,
    pose_sampler: PoseSampler | None = None,
    describe: Callable[..., tuple[str, dict[str, Any]]] | None = None,
) -> RenderedSample:
    """Plan, pose, render and label sample ``i``."""
    from synth.hand.skinning import to_native

    spec = plan_sample(cfg, i, rigs, pose_sampler)
    rig = rigs[spec.hand.side]
    vertices, keypoints = posed_world(rig, spec.hand)
    passes = renderer.render(spec, vertices)
    appearance = appearance_attributes(spec)
    if "post" in spec.extra:  # camera effects on the RGB only; labels describe the sharp geometry
        from synth.scene.post import apply_post

        passes.rgb = apply_post(passes.rgb, spec.extra["post"], passes.depth)
    if passes.info:
        appearance.update(passes.info)
    kc = (keypoints @ spec.camera.world_to_cam[:3, :3].T) + spec.camera.world_to_cam[:3, 3]
    caption, attrs = "", {}
    if describe is not None:
        gesture = None if spec.hand.gesture == "free" else spec.hand.gesture
        caption, attrs = describe(spec.hand.pose_deg, spec.hand.side, gesture,
                                  palm_normal_cam=palm_normal(kc, spec.hand.side), keypoints_cam=kc,
                                  extra=caption_words(spec, passes.parts),
                                  rng=np.random.default_rng(np.random.SeedSequence([cfg.seed, i, 1])))
    attrs = {**attrs, **appearance}
    hand_model = {"name": spec.hand.model, "side": spec.hand.side,
                  "shape": dict(zip(rig.shape_names, map(float, spec.hand.shape), strict=True)),
                  "pose_deg": spec.hand.pose_deg.tolist(), "pose_native": to_native(rig, spec.hand.pose_deg).tolist(),
                  "root": spec.hand.root.tolist()}
    label = build_label(spec, keypoints, vertices, passes.depth, passes.parts, hand_model,
                        render_info(cfg, renderer), caption, attrs)
    return RenderedSample(spec, passes, label, vertices, rig.faces)


def appearance_attributes(spec: SampleSpec) -> dict[str, Any]:
    """JSON-safe attributes of the sampled appearance (viewpoint, skin, lighting, post effects)."""
    out: dict[str, Any] = {}
    if "viewpoint" in spec.extra:
        out.update(spec.extra["viewpoint"])
    if "skin" in spec.extra:
        sk = spec.extra["skin"]
        out["skin"] = sk.attributes()
        out["monk_skin_tone"] = sk.monk
    if "lighting" in spec.extra:
        out["lighting"] = spec.extra["lighting"].attributes()
        out["lighting_type"] = spec.extra["lighting"].env.kind
    if "post" in spec.extra:
        out["post"] = spec.extra["post"].attributes()
    if spec.extra.get("room") is not None:
        out["room"] = spec.extra["room"].attributes()
    if spec.extra.get("surface") is not None:
        table = next(p for p in spec.props if p.category == "surface")
        out["surface"] = {**spec.extra["surface"].attributes(), "part_id": int(table.part_id),
                          "words": spec.extra["surface_words"]}
    worn = [p for p in spec.props if p.category == "accessory"]
    if worn:
        out["accessories"] = [{"kind": p.name, "color": p.color_name, "bone": p.description["params"]["bone"],
                               "part_id": int(p.part_id), "words": p.description["words"]} for p in worn]
    return out


def held_object_words(spec: SampleSpec) -> str | None:
    """What the hand holds, for captions: ``"a white mug between the thumb and the index and
    middle fingers"``, ``"a yellow mug by its handle, index and middle fingers through the
    handle"`` (:func:`synth.labels.captions.held_object_phrase`: colour of the main material,
    the fingers from the fit's contacts)."""
    held = [p for p in spec.props if p.category not in ("accessory", "surface")]
    if not held:
        return None
    p = held[0]
    from synth.labels.captions import held_object_phrase

    return held_object_phrase(p.name, p.color_name, p.grasp, p.contacts)


#: A table is named in the caption only when it covers at least this fraction of the image.
SURFACE_CAPTION_MIN_FRACTION = 0.02


def caption_words(spec: SampleSpec, parts: np.ndarray | None = None) -> dict[str, Any]:
    """Appearance words for captions: skin tone, lighting, background, camera mode, held object,
    worn accessories, the table (only when ``parts``, the rendered part mask, shows it on at
    least :data:`SURFACE_CAPTION_MIN_FRACTION` of the image)."""
    words: dict[str, Any] = {"skin_tone": spec.material.skin_tone, "camera_mode": spec.camera_mode}
    held = held_object_words(spec)
    if held:
        words["held_object"] = held
    worn = [p.description["words"] for p in spec.props if p.category == "accessory"]
    if worn:
        words["accessories"] = worn[0] if len(worn) == 1 else ", ".join(worn[:-1]) + " and " + worn[-1]
    if "skin" in spec.extra:
        words["skin_tone"] = spec.extra["skin"].tone_words
    if "lighting" in spec.extra:
        ls = spec.extra["lighting"]
        words["lighting"] = ls.env.words
        if ls.background.words:
            words["background"] = ls.background.words
        if spec.extra.get("room") is not None:
            words["background"] = spec.extra["room"].words
            if ls.env.kind == "hdri":  # the HDRI lights the room; its place ("in a forest") is not seen
                words["lighting"] = "in natural light"
    if spec.extra.get("surface_words"):
        table = next(p for p in spec.props if p.category == "surface")
        if parts is None or (parts == table.part_id).mean() >= SURFACE_CAPTION_MIN_FRACTION:
            words["surface"] = spec.extra["surface_words"]
    if "viewpoint" in spec.extra:
        f = spec.extra["viewpoint"]["hand_fraction"]
        framing = "close-up " if f > 0.55 else "wide " if f < 0.38 else ""
        post = spec.extra.get("post")
        if post is not None and (post.dof_coc_px_at_infinity or 0.0) >= 0.02 * spec.camera.width:
            framing = "shallow-focus " + framing  # the background is visibly blurred
        mode = {"third_person": "third-person", "egocentric": "first-person (egocentric)", "selfie": "selfie"}
        words["camera_mode"] = framing + mode.get(spec.camera_mode, spec.camera_mode)
    return words


def _blender_version() -> str | None:
    """Version of the installed bpy (read from package metadata: no bpy import), or of the
    running Blender when synth runs inside a Blender binary."""
    import sys
    from importlib import metadata

    if "bpy" in sys.modules and hasattr(sys.modules["bpy"], "app"):
        return str(sys.modules["bpy"].app.version_string)
    try:
        return metadata.version("bpy")
    except metadata.PackageNotFoundError:
        return None


def hand_model_provenance(cfg: JobConfig) -> dict[str, Any]:
    """Name, asset files (sha256), licence and provenance of the hand model(s) of the job."""
    import hashlib
    from pathlib import Path

    from synth.hand.models import BUILTIN, assets_dir, load_model

    out: dict[str, Any] = {"name": cfg.hand.model, "sides": {}}
    for side in sides_of(cfg):
        rig = load_model(cfg.hand.model, side)
        path = assets_dir() / BUILTIN[cfg.hand.model][side] if cfg.hand.model in BUILTIN else Path(cfg.hand.model)
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        out["sides"][side] = {"file": path.name, "sha256": digest, "vertices": rig.n_vertices}
        out["licence"] = rig.licence
        out["provenance"] = rig.provenance
    return out


def object_part_ids(cfg: JobConfig) -> dict[str, int]:
    """Part ids of held objects (``object_0``: 16), when the job has any."""
    from synth.scene.spec import OBJECT_PART_BASE

    return {"object_0": OBJECT_PART_BASE} if cfg.props.fraction > 0 or cfg.props.grasp_fraction > 0 else {}


def dataset_meta(cfg: JobConfig) -> dict[str, Any]:
    """The ``dataset.json`` content this job contributes."""
    from synth.hand.keypoints import schema
    from synth.hand.rig import PART_IDS

    return {"generator": {"name": "synth", "version": __version__, "blender": _blender_version(),
                          "numpy": np.__version__},
            "hand_model": hand_model_provenance(cfg), "config": cfg.to_dict(), "keypoints": schema(),
            "part_ids": {**PART_IDS, **object_part_ids(cfg)},
            "objects": "labels' objects[k] (name, category, object_to_world 4x4 prop->world, part_id 16+k, grasp, "
                       "contacts with hand vertex ids, material colour) is drawn with part id 16+k; bbox and "
                       "hand_pixels cover the hand parts 1..7 only; mesh/ID.npz holds the hand then the objects "
                       "(face_part gives each triangle's part id)",
            "accessories": "worn accessories (sleeve, watch, bracelet, ring; accessories config section) follow the "
                           "held objects in labels' objects list with category 'accessory': objects[k] has part id "
                           "16+k, so a sample with n held objects gives its accessories 16+n, 16+n+1, ...; they are "
                           "in the depth pass and mesh/ID.npz, so they hide the keypoints behind them",
            "surface": "a table slab under the hand (lighting.table_prob) is the last entry of labels' objects, with "
                       "category 'surface', name 'table' and the next part id; it is in the depth, parts and normals "
                       "passes and mesh/ID.npz; its contacts are the hand vertices within 2 mm of its top; it is "
                       "always below the camera, so it never hides the hand",
            "room": "background kind 'room' (lighting.background_weights) draws a procedural indoor room behind the "
                    "hand (attributes.room): it is background, not in the depth, parts or normals passes nor in "
                    "mesh/ID.npz (depth 0, part 0, normal 0 like the world), and lies deeper than everything "
                    "labelled, so it never hides the hand, objects or table",
            "visibility": {"definition": VISIBILITY_DEFINITION, "depth_tolerance_m": DEPTH_TOLERANCE_M},
            "bbox": "[x0, y0, x1, y1] integer pixel indices, exclusive end: parts[y0:y1, x0:x1] holds the hand"}


class RenderSession:
    """Everything built once per process for a job: rigs, topology, pose sampler, captioner and
    the renderer's scene; renders samples by id (recycling the renderer every
    ``cfg.render.recycle_after`` samples). :func:`run_job` and farm workers share it.

    Args:
        cfg: the job.
        render_settings: renderer settings to use instead of ``cfg.render`` (e.g. another thread
            count or device on a farm worker); labels still record ``cfg.render``.
    """

    def __init__(self, cfg: JobConfig, render_settings: RenderConfig | None = None):
        self.cfg = cfg
        self._render_cfg = cfg if render_settings is None else dataclasses.replace(cfg, render=render_settings)
        self.rigs = load_rigs(cfg)
        self.pose_sampler = job_pose_sampler(cfg)
        self.describe = find_describe()
        self.meshes = hand_meshes(self.rigs)
        self.renderer: Renderer | None = None
        self.since_build = 0
        self.rendered = 0

    def render(self, i: int) -> RenderedSample:
        """Plan, pose, render and label sample ``i`` (builds or recycles the renderer first)."""
        recycle = self.cfg.render.recycle_after
        if self.renderer is not None and recycle and self.since_build >= recycle:
            self.renderer.close()
            self.renderer = None
        if self.renderer is None:
            self.renderer = make_renderer(self._render_cfg, self.meshes)
            self.since_build = 0
        s = render_sample(self.cfg, i, self.rigs, self.renderer, self.pose_sampler, self.describe)
        self.since_build += 1
        self.rendered += 1
        return s

    def files(self, s: RenderedSample) -> tuple[dict[str, np.ndarray], dict[str, bytes] | None]:
        """``(images, extra_files)`` of a sample for :meth:`DatasetWriter.write_sample`."""
        from synth.dataset.writer import npz_bytes

        images = {k: getattr(s.passes, k) for k in self.cfg.output.passes}
        extra = None
        if self.cfg.output.save_mesh:
            extra = {"mesh": npz_bytes(**mesh_arrays(s, self.rigs[s.spec.hand.side]))}
        return images, extra

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.close()
            self.renderer = None


def mesh_arrays(s: RenderedSample, rig: HandRig) -> dict[str, np.ndarray]:
    """The ``mesh/ID.npz`` arrays: the rendered geometry in the world frame (metres).

    ``vertices`` ``(V + N, 3)`` and ``faces`` ``(F + M, 3)`` hold the hand first, then every held
    object (so a ray cast of ``vertices``/``faces`` reproduces the depth pass). With held objects,
    ``face_part`` ``(F + M,)`` gives each triangle's part id (1..7 hand, 16.. objects) and
    ``n_hand_vertices`` / ``n_hand_faces`` where the hand ends.
    """
    out = {"vertices": s.vertices.astype(np.float64), "faces": s.faces.astype(np.int32)}
    if not s.spec.props:
        return out
    vs, fs, parts = [out["vertices"]], [out["faces"]], [face_parts_from_vertex_parts(rig.faces, rig.parts)]
    n = len(s.vertices)
    for p in s.spec.props:
        vs.append(np.asarray(p.vertices, dtype=np.float64))
        fs.append(np.asarray(p.faces, dtype=np.int32) + n)
        parts.append(np.full(len(p.faces), p.part_id, dtype=np.uint8))
        n += len(p.vertices)
    return {"vertices": np.concatenate(vs), "faces": np.concatenate(fs), "face_part": np.concatenate(parts),
            "n_hand_vertices": np.int64(len(s.vertices)), "n_hand_faces": np.int64(len(s.faces))}


def run_job(
    cfg: JobConfig,
    ids: Iterable[int] | None = None,
    progress: Callable[[int], None] | None = None,
    resume: bool = True,
    force: bool = False,
    verify: bool = False,
) -> JobStats:
    """Render the job's samples into ``cfg.out`` with the dataset writer.

    Args:
        cfg: the job (``cfg.out`` must be set).
        ids: sample ids (default ``start .. start + count - 1``).
        progress: called with each written id.
        resume: skip ids already complete in the output directory.
        force: resume even into a directory made by a different config.
        verify: on resume, check the sha256 of every existing file (sizes are always checked).
    """
    from synth.dataset.writer import DatasetWriter

    if not cfg.out:
        raise ValueError("the job has no output directory (out)")
    t0 = time.perf_counter()
    ids = list(range(cfg.start, cfg.start + cfg.count)) if ids is None else list(ids)
    stats = JobStats()
    session = RenderSession(cfg)  # before the writer: a bad model or gesture name leaves no directory
    writer = DatasetWriter(cfg.out, dataset_meta(cfg), resume=resume, force=force, verify=verify)
    from synth.farm.blas import blas_threads

    try:
        done = writer.completed_ids()
        stats.skipped = [i for i in ids if i in done]
        for i in ids:
            if i in done:
                continue
            t = time.perf_counter()
            with blas_threads(1):  # label bytes must not depend on the core count (see synth.farm.blas)
                s = session.render(i)
            stats.render_seconds += time.perf_counter() - t
            images, extra = session.files(s)
            writer.write_sample(i, images, s.label, extra)
            stats.written.append(i)
            if progress is not None:
                progress(i)
    finally:
        session.close()
        writer.close()
    stats.seconds = time.perf_counter() - t0
    return stats
