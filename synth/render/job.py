"""Rendering a job: plan -> pose -> render -> label -> write, for both runtimes.

:func:`run_job` is what ``synth render`` and ``blender -b -P blender_scripts/render_shard.py --``
call. The renderers know nothing about the dataset writer; this module connects them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from synth.config import JobConfig, RenderConfig
from synth.dataset.layout import FAILURES_FILE, scan_failures
from synth.dataset.mesh import mesh_arrays
from synth.dataset.meta import dataset_meta
from synth.geometry import palm_normal, transform
from synth.hand.rig import HandRig
from synth.labels.attributes import appearance_attributes, caption_words
from synth.labels.captions import describe
from synth.labels.sample import build_label
from synth.render.types import STANDARD_VIEW_TRANSFORM, HandMesh, Passes, face_parts_from_vertex_parts
from synth.rng import stream
from synth.scene.plan import PoseSampler, free_pose, plan_sample
from synth.scene.spec import SampleSpec

logger = logging.getLogger(__name__)

#: :attr:`Passes.info` keys that describe the colour pipeline: they go to the label's ``render``
#: block, the rest of ``info`` (e.g. ``auto_exposure_stops``) to its attributes.
RENDER_INFO_KEYS = ("view_transform", "tone_mapping", "exposure_stops")


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
    failed: dict[int, str] = field(default_factory=dict)
    interrupted: int | None = None
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


def gesture_pose_sampler(gestures: list[str], pose_range: float = 0.6,
                         weights: dict[str, float] | None = None) -> PoseSampler:
    """A pose sampler over the gesture library (:class:`synth.gestures.sampler.PoseSampler`:
    variations, blends and natural random hands, collision-checked); a free pose within
    ``pose_range`` of the joint limits when it finds no collision-free pose. ``weights``:
    per-gesture draw weights (``hand.gesture_weights``; empty: uniform).

    Raises:
        ValueError: a name in ``gestures`` is not in the library.
    """
    from synth.gestures.sampler import PoseSampler as GesturePoseSampler

    sampler = GesturePoseSampler(gestures=list(gestures) or None, weights=dict(weights or {}))
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
    return gesture_pose_sampler(cfg.hand.gestures, cfg.hand.pose_range, cfg.hand.gesture_weights)


def render_info(cfg: JobConfig, renderer: Renderer | None, info: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``render`` block of a label: backend settings and the colour pipeline as applied.

    Args:
        cfg: the job.
        renderer: the backend (None when planning without rendering: ``device_info`` is None).
        info: the rendered :attr:`Passes.info` (``tone_mapping``, ``exposure_stops``,
            ``view_transform`` as the backend applied them); absent keys get the defaults of the
            plain sRGB path (Standard view transform, exposure ``render.exposure``).
    """
    r = cfg.render
    info = info or {}
    default_exposure = r.exposure if r.renderer == "blender" else 0.0
    return {"renderer": r.renderer, "engine": r.engine if r.renderer == "blender" else "pyrender",
            "samples": r.effective_samples if r.renderer == "blender" else 1,
            "denoise": r.effective_denoise if r.renderer == "blender" else False,
            "device": r.device, "device_info": None if renderer is None else renderer.device_info,
            "filter_width": r.effective_filter_width,
            "view_transform": info.get("view_transform", STANDARD_VIEW_TRANSFORM),
            "tone_mapping": info.get("tone_mapping", "none"),
            "exposure_stops": float(info.get("exposure_stops", default_exposure))}


class LabelError(ValueError):
    """A label that cannot be written (a non-finite number); the message names the field."""


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return str(obj)


def check_finite(obj: Any, path: str = "label") -> None:
    """Raise :class:`LabelError` naming the first non-finite float in a JSON-like ``obj``."""
    import json

    try:
        json.dumps(obj, allow_nan=False, default=_json_default)
        return
    except ValueError:
        pass
    _find_non_finite(obj, path)
    raise LabelError(f"{path} has non-finite values")


def _find_non_finite(obj: Any, path: str) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            _find_non_finite(v, f"{path}.{k}")
    elif isinstance(obj, (list, tuple)):
        for k, v in enumerate(obj):
            _find_non_finite(v, f"{path}[{k}]")
    elif isinstance(obj, np.ndarray):
        if obj.dtype.kind in "fc" and not np.isfinite(obj).all():
            raise LabelError(f"{path} has non-finite values")
    elif isinstance(obj, (float, np.floating)) and not np.isfinite(obj):
        raise LabelError(f"{path} is {float(obj)!r}")


def label_sample(
    cfg: JobConfig,
    i: int,
    spec: SampleSpec,
    rig: HandRig,
    keypoints: np.ndarray,
    vertices: np.ndarray,
    passes: Passes,
    renderer: Renderer | None,
    describe: Callable[..., tuple[str, dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The label of sample ``i`` from its spec, posed hand (world ``(21, 3)`` keypoints and
    ``(V, 3)`` vertices, metres) and rendered passes; raises :class:`LabelError` when a value is
    not finite."""
    from synth.hand.skinning import to_native

    appearance = appearance_attributes(spec)
    if passes.info:
        appearance.update({k: v for k, v in passes.info.items() if k not in RENDER_INFO_KEYS})
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
                        render_info(cfg, renderer, passes.info), caption, attrs)
    check_finite(label)
    return label


def render_sample(
    cfg: JobConfig,
    i: int,
    rigs: dict[str, HandRig],
    renderer: Renderer,
    pose_sampler: PoseSampler | None = None,
    describe: Callable[..., tuple[str, dict[str, Any]]] | None = None,
) -> RenderedSample:
    """Plan, pose, render and label sample ``i``."""
    spec = plan_sample(cfg, i, rigs, pose_sampler)
    rig = rigs[spec.hand.side]
    vertices, keypoints = spec.hand.world()
    passes = renderer.render(spec, vertices)
    if spec.post is not None:  # camera effects on the RGB only; labels describe the sharp geometry
        from synth.scene.post import apply_post

        passes.rgb = apply_post(passes.rgb, spec.post, passes.depth)
    label = label_sample(cfg, i, spec, rig, keypoints, vertices, passes, renderer, describe)
    return RenderedSample(spec, passes, label, vertices, rig.faces)


def plan_label(
    cfg: JobConfig,
    i: int,
    rigs: dict[str, HandRig],
    pose_sampler: PoseSampler | None = None,
    describe: Callable[..., tuple[str, dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The label of sample ``i`` planned but not rendered: the same planning, posing, captioning
    and label code as :func:`render_sample`, with empty passes (every keypoint hidden, no
    pixels). For checking at scale, without Blender, that no configuration crashes planning or
    labelling."""
    spec = plan_sample(cfg, i, rigs, pose_sampler)
    rig = rigs[spec.hand.side]
    vertices, keypoints = spec.hand.world()
    H, W = spec.camera.height, spec.camera.width
    passes = Passes(rgb=np.zeros((H, W, 3), np.uint8), depth=np.zeros((H, W), np.float32),
                    parts=np.zeros((H, W), np.uint8), normals=np.zeros((H, W, 3), np.float32))
    return label_sample(cfg, i, spec, rig, keypoints, vertices, passes, None, describe)


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

    def open(self) -> None:
        """Build the renderer now (raises the backend's error, e.g. no GPU for ``--device gpu``)."""
        if self.renderer is None:
            self.renderer = make_renderer(self._render_cfg, self.meshes)
            self.since_build = 0

    def reset(self) -> None:
        """Drop the renderer (after a failed sample): the next sample builds a fresh scene."""
        if self.renderer is not None:
            try:
                self.renderer.close()
            except Exception as exc:  # noqa: BLE001 - a broken scene may fail to close; a new one is built anyway
                logger.warning("closing the renderer after a failure: %s", one_line(exc))
            self.renderer = None

    def render(self, i: int) -> RenderedSample:
        """Plan, pose, render and label sample ``i`` (builds or recycles the renderer first)."""
        recycle = self.cfg.render.recycle_after
        if self.renderer is not None and recycle and self.since_build >= recycle:
            self.renderer.close()
            self.renderer = None
        self.open()
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


# Per-sample failures of a job (FAILURES_FILE, one JSON object per line: {"id", "reason"}) at the
# dataset root. A re-run retries them (they are not complete samples); the file is rewritten at
# the end of every run with the ids that still fail, and removed when none do. `synth validate`
# reports the ids it lists.

#: A job stops (with an error) after this many failures in a row: every sample failing means the
#: setup is broken, not one sample.
MAX_CONSECUTIVE_FAILURES = 25


class JobAborted(RuntimeError):
    """Too many samples failed in a row (the message gives the last reason)."""


def one_line(exc: BaseException) -> str:
    """``"Type: first line of the message"`` (at most 300 characters)."""
    msg = str(exc).strip().splitlines()
    return (f"{type(exc).__name__}: {msg[0]}" if msg else type(exc).__name__)[:300]


def read_failures(root: str | os.PathLike[str]) -> dict[int, str]:
    """``{id: reason}`` from ``root/failures.jsonl`` (empty when absent or a symlink; malformed
    lines skipped -- ``synth validate`` reports them)."""
    return scan_failures(root).failures


def append_failure(root: str | os.PathLike[str], i: int, reason: str) -> None:
    """Append ``{id, reason}`` to ``root/failures.jsonl`` (one ``O_APPEND`` write: shards sharing
    a directory may append at once; never through a symlink)."""
    root = Path(root)
    fd = os.open(root / FAILURES_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        os.write(fd, (json.dumps({"id": int(i), "reason": reason}) + "\n").encode("utf-8"))
    finally:
        os.close(fd)


def _rewrite_failures(root: Path, failures: dict[int, str]) -> None:
    path = root / FAILURES_FILE
    if not failures:
        if path.is_file() and not path.is_symlink():
            path.unlink()
        return
    tmp = root / f".{FAILURES_FILE}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for i in sorted(failures):
                f.write(json.dumps({"id": int(i), "reason": failures[i]}) + "\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class StopSignals:
    """SIGINT / SIGTERM handling for a job (main thread only; a no-op elsewhere).

    The first signal asks the job to stop after the current sample (:attr:`signum` is set); a
    second SIGINT raises :class:`KeyboardInterrupt` to stop at once (the sample in progress is
    not written). Handlers are restored on exit.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.closing = False
        self._old: dict[int, Any] = {}

    def _handle(self, signum: int, _frame: Any) -> None:
        if self.closing:
            self.signum = self.signum or signum
            logger.warning("%s: finishing the samples already rendered", signal.Signals(signum).name)
            return
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        if self.signum is None:
            self.signum = signum
            logger.warning("%s: stopping after the current sample (Ctrl-C again to stop at once)",
                           signal.Signals(signum).name)

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()


def preflight(cfg: JobConfig, ids: list[int], skip_bad_assets: bool = False) -> JobConfig:
    """Check every input of a job before anything is written: output directory set, at least
    one sample, assets decode. Returns the job to run (with ``skip_bad_assets``, the bad files
    in ``lighting.exclude_files``).

    Raises:
        ValueError: no output directory or no sample.
        synth.render.assets.AssetError: an asset does not decode.
    """
    from synth.render.assets import check_assets

    if not cfg.out:
        raise ValueError("the job has no output directory (out)")
    if not ids:
        raise ValueError("count: must be >= 1 (the job has no sample to render)")
    report = check_assets(cfg, skip_bad=skip_bad_assets)
    if report.bad:
        excluded = sorted(set(cfg.lighting.exclude_files) | set(report.bad))
        cfg = dataclasses.replace(cfg, lighting=dataclasses.replace(cfg.lighting, exclude_files=excluded))
    return cfg


def run_job(
    cfg: JobConfig,
    ids: Iterable[int] | None = None,
    progress: Callable[[int], None] | None = None,
    resume: bool = True,
    force: bool = False,
    skip_bad_assets: bool = False,
    verify: bool = False,
) -> JobStats:
    """Render the job's samples into ``cfg.out`` with the dataset writer.

    Inputs are checked before anything is written (:func:`preflight`: count, assets; then the
    hand model, gesture names and render device). A sample that fails (a Blender error, an
    asset found broken, a label that cannot be written) is recorded in ``failures.jsonl`` with a
    one-line reason and the job goes on; a re-run retries it. SIGINT / SIGTERM stop the job after
    the current sample (:class:`StopSignals`). Write errors (``OSError``) end the job.

    Args:
        cfg: the job (``cfg.out`` must be set).
        ids: sample ids (default ``start .. start + count - 1``).
        progress: called with each written id.
        resume: skip ids already complete in the output directory.
        force: resume even into a directory made by a different config.
        skip_bad_assets: leave out (with a warning) HDRIs / backgrounds that do not decode,
            instead of refusing the job; dataset.json counts them.
        verify: on resume, check the sha256 of every existing file (sizes are always checked).
    Returns:
        What was done: ``written``, ``skipped``, ``failed`` (``{id: reason}``) and
        ``interrupted`` (the signal number that stopped the job, or None).
    Raises:
        JobAborted: :data:`MAX_CONSECUTIVE_FAILURES` samples failed in a row.
    """
    from synth.dataset.writer import DatasetWriter

    t0 = time.perf_counter()
    ids = list(range(cfg.start, cfg.start + cfg.count)) if ids is None else list(ids)
    cfg = preflight(cfg, ids, skip_bad_assets)
    stats = JobStats()
    session = RenderSession(cfg)  # before the writer: a bad model or gesture name leaves no directory
    try:
        session.open()  # the render device too (--device gpu without a GPU)
        meta = dataset_meta(cfg)
        if cfg.lighting.exclude_files:
            meta["skipped_assets"] = {"count": len(cfg.lighting.exclude_files), "files": list(cfg.lighting.exclude_files)}
        writer = DatasetWriter(cfg.out, meta, resume=resume, force=force, verify=verify)
    except BaseException:
        session.close()
        raise
    from synth.farm.blas import blas_threads

    twins = None
    if cfg.defects.fraction > 0:  # defect twins: OUT/twins/, same ids (synth.defects.twin)
        from synth.defects.twin import TwinWriter

        try:
            twins = TwinWriter(cfg, session, resume=resume, force=force)
        except BaseException:
            session.close()
            writer.close()
            raise
    root = Path(cfg.out)
    previous = read_failures(root)
    in_a_row = 0
    done: set[int] = set()
    try:
        with StopSignals() as stop:
            try:
                done = writer.completed_ids()
                if twins is not None:  # a sample whose twin is missing is rendered again (same bytes)
                    done = {i for i in done if not twins.pending(i)}
                stats.skipped = [i for i in ids if i in done]
                for i in ids:
                    if stop.signum is not None:
                        break
                    if i in done:
                        continue
                    t = time.perf_counter()
                    try:
                        with blas_threads(1):  # label bytes must not depend on the core count (see synth.farm.blas)
                            s = session.render(i)
                        images, extra = session.files(s)
                    except (KeyboardInterrupt, MemoryError):
                        raise
                    except Exception as exc:  # noqa: BLE001 - contained: recorded, the job goes on
                        reason = one_line(exc)
                        logger.error("sample %d failed: %s", i, reason)
                        logger.debug("sample %d failed", i, exc_info=True)
                        stats.failed[i] = reason
                        append_failure(root, i, reason)
                        session.reset()  # a fresh scene for the next sample
                        in_a_row += 1
                        if in_a_row >= MAX_CONSECUTIVE_FAILURES:
                            raise JobAborted(f"{in_a_row} samples failed in a row; the last, {i}: {reason}") from exc
                        continue
                    finally:
                        stats.render_seconds += time.perf_counter() - t
                    in_a_row = 0
                    writer.write_sample(i, images, s.label, extra)
                    if twins is not None:
                        try:
                            with blas_threads(1):
                                twins.after_sample(i, s)
                        except (KeyboardInterrupt, MemoryError):
                            raise
                        except Exception as exc:  # noqa: BLE001 - the twin is redone on the next run
                            reason = "defect twin: " + one_line(exc)
                            logger.error("sample %d failed: %s", i, reason)
                            stats.failed[i] = reason
                            append_failure(root, i, reason)
                            session.reset()
                            continue
                    stats.written.append(i)
                    if progress is not None:
                        progress(i)
            except KeyboardInterrupt:  # a second Ctrl-C: stop at once
                stats.interrupted = signal.SIGINT
            if stats.interrupted is None and stop.signum is not None:
                stats.interrupted = stop.signum
            stop.closing = True  # flushing the samples handed to the writer is not cut short
            try:
                writer.close()
            finally:
                session.close()
    finally:
        session.close()
        writer.close()
        if twins is not None:
            twins.close()
        attempted = set(stats.written) | set(stats.failed)
        still = {i: r for i, r in previous.items() if i not in attempted and i not in done}
        still.update(stats.failed)
        if still != previous or stats.failed:
            try:
                _rewrite_failures(root, still)
            except OSError as exc:
                logger.error("could not update %s: %s", root / FAILURES_FILE, exc)
    stats.seconds = time.perf_counter() - t0
    return stats
