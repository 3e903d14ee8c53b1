"""Rendering a job: plan -> pose -> render -> label -> write, for both runtimes.

:func:`run_job` is what ``synth render`` and ``blender -b -P blender_scripts/render_shard.py --``
call. The renderers know nothing about the dataset writer; this module connects them.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from synth.config import JobConfig, RenderConfig
from synth.dataset.mesh import mesh_arrays
from synth.dataset.meta import dataset_meta
from synth.geometry import palm_normal, transform
from synth.hand.rig import HandRig
from synth.labels.attributes import appearance_attributes, caption_words
from synth.labels.captions import describe
from synth.labels.sample import build_label
from synth.render.types import HandMesh, Passes, face_parts_from_vertex_parts
from synth.rng import stream
from synth.scene.plan import PoseSampler, free_pose, plan_sample
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


def load_rigs(cfg: JobConfig) -> dict[str, HandRig]:
    """The hand rig of every side the job can draw."""
    from synth.hand.models import load_model

    return {s: load_model(cfg.hand.model, s) for s in cfg.hand.sides}


def hand_meshes(rigs: dict[str, HandRig]) -> dict[str, HandMesh]:
    """Static render topology per side: the rig's triangles, smooth-shaded, no subdivision (so
    the saved mesh, the keypoints and the rendered surface are the same geometry)."""
    from synth.hand.skinning import forward
    from synth.scene.skin import crease_attributes, nail_coordinate, palm_line_attributes, skin_attributes

    out = {}
    for s, r in rigs.items():
        palm, nail = skin_attributes(r)
        ct, cw = crease_attributes(r)
        out[s] = HandMesh(side=s, faces=r.faces.astype(np.int64), face_parts=face_parts_from_vertex_parts(r.faces, r.parts),
                          face_uvs=r.face_uvs, palm=palm, nail=nail, crease_t=ct, crease_w=cw,
                          palm_lines=palm_line_attributes(r, palm), nail_u=nail_coordinate(r),
                          rest_vertices=forward(r).vertices)
    return out


def make_renderer(cfg: JobConfig, meshes: dict[str, HandMesh]) -> Renderer:
    """The backend named by ``cfg.render.renderer``."""
    if cfg.render.renderer == "raster":
        from synth.render.raster import RasterRenderer

        return RasterRenderer(cfg.render, meshes)
    from synth.render.blender.renderer import BlenderRenderer

    return BlenderRenderer(cfg.render, meshes)


def gesture_pose_sampler(gestures: list[str], pose_range: float = 0.6) -> PoseSampler:
    """A pose sampler over the gesture library (:class:`synth.gestures.sampler.PoseSampler`:
    variations, blends and natural random hands, collision-checked); a free pose within
    ``pose_range`` of the joint limits when it finds no collision-free pose.

    Raises:
        ValueError: a name in ``gestures`` is not in the library.
    """
    from synth.gestures.sampler import PoseSampler as GesturePoseSampler

    sampler = GesturePoseSampler(gestures=list(gestures) or None)
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
    return gesture_pose_sampler(cfg.hand.gestures, cfg.hand.pose_range)


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
    vertices, keypoints = spec.hand.world()
    passes = renderer.render(spec, vertices)
    appearance = appearance_attributes(spec)
    if spec.post is not None:  # camera effects on the RGB only; labels describe the sharp geometry
        from synth.scene.post import apply_post

        passes.rgb = apply_post(passes.rgb, spec.post, passes.depth)
    if passes.info:
        appearance.update(passes.info)
    kc = transform(keypoints, spec.camera.world_to_cam)
    caption, attrs = "", {}
    if describe is not None:
        gesture = None if spec.hand.gesture == "free" else spec.hand.gesture
        caption, attrs = describe(spec.hand.pose_deg, spec.hand.side, gesture,
                                  palm_normal_cam=palm_normal(kc, spec.hand.side), keypoints_cam=kc,
                                  extra=caption_words(spec, passes.parts),
                                  rng=stream(cfg.seed, i, "caption"))
    attrs = {**attrs, **appearance}
    hand_model = {"name": spec.hand.model, "side": spec.hand.side,
                  "shape": dict(zip(rig.shape_names, map(float, spec.hand.shape), strict=True)),
                  "pose_deg": spec.hand.pose_deg.tolist(), "pose_native": to_native(rig, spec.hand.pose_deg).tolist(),
                  "root": spec.hand.root.tolist()}
    label = build_label(spec, keypoints, vertices, passes.depth, passes.parts, hand_model,
                        render_info(cfg, renderer), caption, attrs)
    return RenderedSample(spec, passes, label, vertices, rig.faces)


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
        self.describe = describe
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

        images = {k: s.passes[k] for k in self.cfg.output.passes}
        extra = None
        if self.cfg.output.save_mesh:
            mesh = mesh_arrays(s.vertices, s.faces, self.meshes[s.spec.hand.side].face_parts, s.spec.props)
            extra = {"mesh": npz_bytes(**mesh)}
        return images, extra

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.close()
            self.renderer = None


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
