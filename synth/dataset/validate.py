"""``synth validate``: check a dataset directory sample by sample.

For every manifest entry: each file exists, has the recorded size and sha256, images decode
with the label's ``image_size`` and the expected dtype/channels; the label follows the schema
(required fields, shapes, finite values), ``keypoints_3d_cam`` equals ``keypoints_3d_world``
through ``world_to_cam``, ``keypoints_2d`` equals their projection through ``K``, visible
keypoints lie in the image, in the bbox, and on the rendered depth (within the label's stated
tolerance). A defect twin's label (``OUT/twins``) may give ``null`` keypoint rows for exactly the
digit its ``defect`` record says was removed (:func:`synth.defects.labels.removed_keypoints`);
those rows must be ``null`` and hidden, and every other row, in every label, numeric. Files of
samples that are not in the manifest and manifest lines that do not parse are reported too, and
so are the samples ``failures.jsonl`` lists (the job could not render them: the dataset is
incomplete) and a malformed ``failures.jsonl``. Every problem is one line ``<id or file>: <what>``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synth.dataset.imageio import ImageDecodeError, decode_image
from synth.dataset.layout import (
    FAILURES_FILE,
    KINDS,
    LABEL_KEY,
    MANIFEST,
    DatasetError,
    ManifestEntry,
    UnsafePathError,
    read_dataset_json,
    safe_member_path,
    scan_failures,
    scan_manifest,
    sha256_bytes,
    stem,
    verify_sample,
)
from synth.defects.labels import KEYPOINT_FIELDS, keypoint_rows_as_nan, removed_keypoints
from synth.geometry import project_camera, transform
from synth.passes import HAND_PART_MAX, PASSES

logger = logging.getLogger(__name__)

REQUIRED_FIELDS: tuple[str, ...] = (
    "id", "seed", "image_size", "handedness", "K", "world_to_cam", "keypoints_3d_world",
    "keypoints_3d_cam", "keypoints_2d", "visibility", "bbox", "gesture", "caption", "attributes",
    "hand_model", "render", "files",
)  # fmt: skip
SHAPES: dict[str, tuple[int, ...]] = {
    "K": (3, 3),
    "world_to_cam": (4, 4),
    "keypoints_3d_world": (21, 3),
    "keypoints_3d_cam": (21, 3),
    "keypoints_2d": (21, 2),
    "visibility": (21,),
    "bbox": (4,),
    "image_size": (2,),
}
#: Tolerances of the consistency checks.
TOL_3D_M = 1e-6
TOL_2D_PX = 1e-3  # the label contract: projectPoints to 1e-3 px
DEFAULT_VIS_TOL_M = 0.003
#: Assumed distance from a keypoint to its own skin when the label does not state it (a finger
#: radius): a visible keypoint's rendered depth D must satisfy z - 2 rho - tol <= D <= z + tol.
DEFAULT_SURFACE_RADIUS_M = 0.012


@dataclass
class ValidationReport:
    """Outcome of :func:`validate_dataset`."""

    root: Path
    n_manifest: int = 0
    n_checked: int = 0
    n_ok: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: ids listed in ``failures.jsonl`` (samples the job could not render; each run retries them).
    failed_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        state = "OK" if self.ok else f"{len(self.errors)} problem(s)"
        return (
            f"{self.root}: {self.n_manifest} sample(s) in manifest, {self.n_checked} checked, "
            f"{self.n_ok} clean; {state}; {len(self.warnings)} warning(s)"
        )


def validate_dataset(
    root: str | os.PathLike[str],
    check_hashes: bool = True,
    decode: bool = True,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ValidationReport:
    """Validate a dataset directory (see the module docstring).

    Args:
        root: dataset directory.
        check_hashes: recompute sha256 of every file (else sizes only).
        decode: decode images and run the pixel checks (depth/visibility).
        workers: threads (decoding and hashing release the GIL); default min(8, cpu count).
        progress: called with the number of samples done after each sample.

    Raises:
        DatasetError: ``root`` is not a dataset at all (no/unreadable ``dataset.json``).
    """
    root = Path(root)
    meta = read_dataset_json(root)
    rep = ValidationReport(root)
    for key in ("keypoints", "part_ids", "conventions"):
        if key not in meta:
            rep.errors.append(f"dataset.json: missing {key!r}")
    if not (root / MANIFEST).exists():
        rep.errors.append(f"{MANIFEST}: missing")
    scan = scan_manifest(root)
    rep.n_manifest = len(scan.entries)
    for n in scan.bad_lines:
        rep.errors.append(f"{MANIFEST}: line {n} is not a valid manifest entry")
    if scan.truncated_tail:
        rep.errors.append(f"{MANIFEST}: last line is truncated (no newline)")
    if scan.duplicates:
        rep.warnings.append(f"{MANIFEST}: {scan.duplicates} id(s) listed more than once (last line wins)")
    _orphans(root, scan.entries, rep)
    _failures(root, rep)
    from synth.review.checks import check_reviews  # reviews/*.jsonl of synth review

    errs, warns = check_reviews(root, scan.entries)
    rep.errors.extend(errs)
    rep.warnings.extend(warns)
    vis_tol = DEFAULT_VIS_TOL_M
    vis_meta = meta.get("visibility")
    if isinstance(vis_meta, dict):
        for key in ("depth_tolerance_m", "tolerance_m"):
            if isinstance(vis_meta.get(key), (int, float)):
                vis_tol = float(vis_meta[key])
                break
    n_workers = workers or min(8, os.cpu_count() or 1)
    done = 0
    with ThreadPoolExecutor(max_workers=n_workers) as pool:
        for errs in pool.map(lambda e: _check_sample(root, e, check_hashes, decode, vis_tol), scan.entries.values()):
            rep.n_checked += 1
            rep.errors.extend(errs)
            rep.n_ok += not errs
            done += 1
            if progress is not None:
                progress(done)
    return rep


def _failures(root: Path, rep: ValidationReport) -> None:
    """``failures.jsonl``: samples the job could not render (an incomplete dataset), or a file
    that is not the job's ``{id, reason}`` records."""
    fs = scan_failures(root)
    if fs.problem:
        rep.errors.append(f"{FAILURES_FILE}: {fs.problem} (not read)")
    if fs.bad_lines:
        lines = ", ".join(str(n) for n in fs.bad_lines[:10]) + (" ..." if len(fs.bad_lines) > 10 else "")
        rep.errors.append(f"{FAILURES_FILE}: malformed, {len(fs.bad_lines)} line(s) ({lines}) are not "
                          '{"id": <int>, "reason": <text>} records')
    rep.failed_ids = list(fs.failures)
    if fs.failures:
        ids = rep.failed_ids
        shown = ", ".join(str(i) for i in ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
        rep.errors.append(f"{FAILURES_FILE}: {len(ids)} sample(s) failed to render (ids {shown}; first reason: "
                          f"{fs.failures[ids[0]]}); the dataset is incomplete, re-run the job to retry them")


def _orphans(root: Path, entries: dict[int, ManifestEntry], rep: ValidationReport) -> None:
    """Sample files on disk that no manifest entry lists: an incomplete or dropped sample."""
    listed = {rel for e in entries.values() for rel in e.files.values() if isinstance(rel, str)}
    orphan_ids: dict[str, list[str]] = {}
    for folder in sorted({f for f, _ in KINDS.values()}):
        d = root / folder
        if not d.is_dir():
            continue
        with os.scandir(d) as it:
            for x in it:
                if x.name.startswith("."):
                    continue
                rel = f"{folder}/{x.name}"
                if rel not in listed:
                    orphan_ids.setdefault(x.name.split(".")[0], []).append(rel)
    for sid, rels in sorted(orphan_ids.items()):
        rep.errors.append(f"{sid}: not in the manifest but has files {', '.join(sorted(rels))}")


def _check_sample(root: Path, e: ManifestEntry, check_hashes: bool, decode: bool, vis_tol: float = DEFAULT_VIS_TOL_M) -> list[str]:
    sid = stem(e.id)
    errs: list[str] = []
    data: dict[str, bytes] = {}
    if LABEL_KEY not in e.files:
        errs.append(f"{sid}: manifest entry lists no label file")
    for kind, rel in e.files.items():
        try:
            path = safe_member_path(root, rel, e.id)
        except UnsafePathError as exc:
            errs.append(f"{sid}: {exc}")
            continue
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            errs.append(f"{sid}: {rel}: missing")
            continue
        except OSError as exc:
            errs.append(f"{sid}: {rel}: unreadable ({exc.strerror})")
            continue
        if not isinstance(e.bytes.get(kind), int):
            errs.append(f"{sid}: {rel}: the manifest records no size")
        elif len(blob) != e.bytes[kind]:
            errs.append(f"{sid}: {rel}: size {len(blob)} bytes, manifest says {e.bytes[kind]} (truncated?)")
        elif check_hashes and sha256_bytes(blob) != e.sha256.get(kind):
            errs.append(f"{sid}: {rel}: sha256 differs from the manifest (modified or corrupted)")
        data[kind] = blob
    label: dict[str, Any] | None = None
    if LABEL_KEY in data:
        try:
            label = json.loads(data[LABEL_KEY].decode("utf-8"))
            if not isinstance(label, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError) as exc:
            errs.append(f"{sid}: {e.files[LABEL_KEY]}: not valid JSON ({exc})")
            label = None
    arrays: dict[str, np.ndarray] = {}
    if label is not None:
        errs.extend(f"{sid}: label: {m}" for m in check_label(label, e))
        arrays = _label_arrays(label)
    if decode:
        images: dict[str, np.ndarray] = {}
        for kind, blob in data.items():
            if kind in (LABEL_KEY, "mesh") or not str(e.files[kind]).endswith((".png", ".exr")):
                continue
            try:
                images[kind] = decode_image(blob, e.files[kind])
            except ImageDecodeError:
                errs.append(f"{sid}: {e.files[kind]}: does not decode as an image (truncated or corrupt)")
        if "mesh" in data:
            try:
                import io

                with np.load(io.BytesIO(data["mesh"])) as z:
                    if "vertices" not in z.files:
                        errs.append(f"{sid}: {e.files['mesh']}: no 'vertices' array")
            except Exception as exc:  # noqa: BLE001 - any failure means unreadable
                errs.append(f"{sid}: {e.files['mesh']}: unreadable npz ({type(exc).__name__})")
        if label is not None and "image_size" in arrays:
            errs.extend(f"{sid}: {m}" for m in check_images(images, label, arrays, e, vis_tol))
    return errs


def _as_array(label: dict[str, Any], k: str, removed: np.ndarray) -> np.ndarray:
    """Field ``k`` of ``label`` as float64; when the label records removed keypoints (a twin's
    missing digit), the ``null`` keypoint rows become NaN (any other ``null`` stays non-numeric)."""
    v = label.get(k)
    if removed.size and k in KEYPOINT_FIELDS and isinstance(v, list):
        v = keypoint_rows_as_nan(v, SHAPES[k][1], removed)
    return np.asarray(v, dtype=np.float64)


def _finite_rows(a: np.ndarray, k: str, removed: np.ndarray) -> np.ndarray:
    """``(rows,)`` bool: rows of field ``k`` that must be finite (all but the removed keypoints)."""
    keep = np.ones(a.shape[0], dtype=bool)
    if k in KEYPOINT_FIELDS and removed.size:
        keep[removed] = False
    return keep


def _label_arrays(label: dict[str, Any]) -> dict[str, np.ndarray]:
    """The :data:`SHAPES` fields of ``label`` that parse with the right shape and are finite
    (removed keypoint rows of a twin label are NaN)."""
    removed = removed_keypoints(label)
    out: dict[str, np.ndarray] = {}
    for k, shape in SHAPES.items():
        try:
            a = _as_array(label, k, removed)
        except (TypeError, ValueError):
            continue
        if a.shape == shape and np.all(np.isfinite(a[_finite_rows(a, k, removed)])):
            out[k] = a
    return out


def check_label(label: dict[str, Any], entry: ManifestEntry | None = None) -> list[str]:
    """Schema and geometric consistency problems of one label (empty list when clean)."""
    errs: list[str] = []
    missing = [k for k in REQUIRED_FIELDS if k not in label]
    if missing:
        errs.append(f"missing field(s) {', '.join(missing)}")
    removed = removed_keypoints(label)
    for k, shape in SHAPES.items():
        if k not in label:
            continue
        try:
            a = _as_array(label, k, removed)
        except (TypeError, ValueError):
            errs.append(f"{k} is not numeric")
            continue
        if a.shape != shape:
            errs.append(f"{k} has shape {a.shape}, expected {shape}")
        elif not np.all(np.isfinite(a[_finite_rows(a, k, removed)])):
            errs.append(f"{k} has non-finite values")
        elif k in KEYPOINT_FIELDS and removed.size:
            not_null = [int(i) for i in removed if label[k][i] is not None]
            if not_null:
                errs.append(f"{k} rows {not_null} of the removed {label['defect']['removed_finger']} are not null")
    if entry is not None:
        if label.get("id") != entry.id:
            errs.append(f"id {label.get('id')!r} does not match the manifest id {entry.id}")
        if "files" in label and label["files"] != entry.files:
            errs.append("files differ from the manifest entry")
    if label.get("handedness") not in (None, "right", "left") or "handedness" in label and not label["handedness"]:
        errs.append(f"handedness {label.get('handedness')!r} is not 'right' or 'left'")
    g = label.get("gesture")
    if "gesture" in label and not (isinstance(g, dict) and isinstance(g.get("name"), str) and "category" in g):
        errs.append("gesture must be {name, category}")
    if "caption" in label and not isinstance(label["caption"], str):
        errs.append("caption is not a string")
    for k in ("attributes", "hand_model", "render", "files"):
        if k in label and not isinstance(label[k], dict):
            errs.append(f"{k} is not an object")
    if "seed" in label and not isinstance(label["seed"], int):
        errs.append("seed is not an integer")
    a = _label_arrays(label)
    if "image_size" in a and (a["image_size"] <= 0).any():
        errs.append(f"image_size {label['image_size']} is not positive")
    if "K" in a:
        K = a["K"]
        if not (K[0, 0] > 0 and K[1, 1] > 0 and np.allclose(K[2], [0, 0, 1]) and K[1, 0] == 0):
            errs.append("K is not an upper-triangular pinhole intrinsics matrix with positive focal lengths")
    if "world_to_cam" in a:
        M = a["world_to_cam"]
        R = M[:3, :3]
        if not (np.allclose(M[3], [0, 0, 0, 1]) and np.allclose(R @ R.T, np.eye(3), atol=1e-5)):
            errs.append("world_to_cam is not a rigid transform")
        elif np.linalg.det(R) < 0:
            errs.append("world_to_cam has a reflection (det < 0)")
    kp = np.ones(21, dtype=bool)  # keypoints that exist (a twin's removed digit does not)
    kp[removed] = False
    if {"world_to_cam", "keypoints_3d_world", "keypoints_3d_cam"} <= a.keys():
        M = a["world_to_cam"]
        pc = transform(a["keypoints_3d_world"][kp], M)
        err = float(np.abs(pc - a["keypoints_3d_cam"][kp]).max())
        if err > TOL_3D_M:
            errs.append(f"keypoints_3d_cam differ from world_to_cam @ keypoints_3d_world by {err:.3g} m")
    if {"K", "keypoints_3d_cam", "keypoints_2d"} <= a.keys():
        pc = a["keypoints_3d_cam"]
        if (pc[kp, 2] <= 0).any():
            errs.append(f"keypoints behind the camera: {np.nonzero(kp & (pc[:, 2] <= 0))[0].tolist()}")
        else:
            err = float(np.abs(project_camera(pc[kp], a["K"]) - a["keypoints_2d"][kp]).max())
            if err > TOL_2D_PX:
                errs.append(f"keypoints_2d differ from the projection of keypoints_3d_cam by K by {err:.3g} px")
    if "visibility" in a:
        v = a["visibility"]
        if not np.isin(v, (0, 1)).all():
            errs.append("visibility values are not all 0/1")
        elif (v[~kp] != 0).any():
            errs.append(f"removed keypoints {np.nonzero(~kp & (v != 0))[0].tolist()} are labelled visible")
        elif {"keypoints_2d", "image_size"} <= a.keys():
            W, H = a["image_size"]
            uv = a["keypoints_2d"]
            inside = (uv[:, 0] >= -0.5) & (uv[:, 0] < W - 0.5) & (uv[:, 1] >= -0.5) & (uv[:, 1] < H - 0.5)
            bad = np.nonzero((v == 1) & ~inside)[0]
            if bad.size:
                errs.append(f"keypoints {bad.tolist()} are visible but outside the image")
            if "bbox" in a:
                x0, y0, x1, y1 = a["bbox"]
                if not (x0 <= x1 and y0 <= y1):
                    errs.append(f"bbox {label['bbox']} has x0 > x1 or y0 > y1")
                elif x0 < -1 or y0 < -1 or x1 > W + 1 or y1 > H + 1:
                    errs.append(f"bbox {label['bbox']} extends outside the {int(W)}x{int(H)} image")
                else:
                    m = 2.0
                    out_box = (uv[:, 0] < x0 - m) | (uv[:, 0] > x1 + m) | (uv[:, 1] < y0 - m) | (uv[:, 1] > y1 + m)
                    bad = np.nonzero((v == 1) & out_box)[0]
                    if bad.size:
                        errs.append(f"visible keypoints {bad.tolist()} lie outside the bbox")
    return errs


def depth_visibility(uv: np.ndarray, z: np.ndarray, rho: np.ndarray, depth: np.ndarray, tol: float, window: int = 1) -> np.ndarray:
    """``(21,)`` 0/1 visibility by the label contract's depth test (see synth.labels.visibility).

    A keypoint (pixels ``uv``, camera depth ``z``, surface radius ``rho``, metres) is visible when
    it projects inside the image in front of the camera and some pixel of the ``(2 window + 1)``
    square around ``floor(uv + 0.5)`` has depth ``D > 0`` with ``|D - (z - rho)| <= rho + tol``.
    """
    H, W = depth.shape
    uv = np.asarray(uv, dtype=np.float64)
    inside = (z > 0) & (uv[:, 0] >= -0.5) & (uv[:, 0] < W - 0.5) & (uv[:, 1] >= -0.5) & (uv[:, 1] < H - 0.5)
    out = np.zeros(len(uv), dtype=np.uint8)
    for k in np.flatnonzero(inside):
        c, r = int(np.floor(uv[k, 0] + 0.5)), int(np.floor(uv[k, 1] + 0.5))
        win = depth[max(r - window, 0) : r + window + 1, max(c - window, 0) : c + window + 1]
        out[k] = bool(((win > 0) & (np.abs(win - (z[k] - rho[k])) <= rho[k] + tol)).any())
    return out


def _vis_params(label: dict[str, Any], default_tol: float = DEFAULT_VIS_TOL_M) -> tuple[float, np.ndarray, bool]:
    """(tolerance m, (21,) surface radii m, whether the radii come from the label).

    Read from ``keypoint_surface_radius`` and ``render.visibility`` (``tolerance_m``/``tolerance``,
    ``surface_radius_m``/``surface_radius``/``rho``); defaults: ``default_tol`` (from
    ``dataset.json`` ``visibility.depth_tolerance_m``, else 3 mm) and :data:`DEFAULT_SURFACE_RADIUS_M`.
    """
    render = label.get("render")
    vis = render.get("visibility", {}) if isinstance(render, dict) else {}
    tol, rho, exact = default_tol, np.full(21, DEFAULT_SURFACE_RADIUS_M), False
    try:
        top = np.asarray(label.get("keypoint_surface_radius"), dtype=np.float64)
        if top.shape == (21,) and np.all(np.isfinite(top)):
            rho, exact = top, True
    except (TypeError, ValueError):
        pass
    if isinstance(vis, dict):
        for key in ("tolerance_m", "tolerance", "depth_tolerance_m"):
            if isinstance(vis.get(key), (int, float)):
                tol = float(vis[key])
                break
        for key in ("surface_radius_m", "surface_radius", "rho"):
            try:
                r = np.asarray(vis.get(key), dtype=np.float64)
            except (TypeError, ValueError):
                continue
            if r.shape == (21,) and np.all(np.isfinite(r)):
                rho, exact = r, True
                break
    return tol, rho, exact


def check_images(
    images: dict[str, np.ndarray],
    label: dict[str, Any],
    a: dict[str, np.ndarray],
    e: ManifestEntry,
    vis_tol: float = DEFAULT_VIS_TOL_M,
) -> list[str]:
    """Pixel checks of decoded images against the label (sizes, dtypes, depth vs visibility)."""
    errs: list[str] = []
    W, H = (int(x) for x in a["image_size"])
    for kind, img in images.items():
        rel = e.files[kind]
        if img.shape[:2] != (H, W):
            errs.append(f"{rel}: size {img.shape[1]}x{img.shape[0]}, label image_size is {W}x{H}")
            continue
        if kind in PASSES and not PASSES[kind].matches(img):
            got_ch = img.shape[2] if img.ndim == 3 else 0
            errs.append(f"{rel}: {img.dtype} with {got_ch or 1} channel(s), expected {PASSES[kind].dtype}")
            continue
        if img.dtype.kind == "f" and not np.all(np.isfinite(img)):
            errs.append(f"{rel}: non-finite values")
    depth = images.get("depth")
    parts_img = images.get("parts")
    if depth is not None and depth.shape == (H, W) and depth.dtype == np.float32 and np.all(np.isfinite(depth)):
        if (depth < 0).any():
            errs.append(f"{e.files['depth']}: negative depth")
        if {"visibility", "keypoints_2d", "keypoints_3d_cam"} <= a.keys():
            tol, rho, exact = _vis_params(label, vis_tol)
            z = a["keypoints_3d_cam"][:, 2]
            vdepth = depth  # objects and accessories never show a keypoint's surface
            if parts_img is not None and parts_img.shape == (H, W):
                vdepth = np.where((parts_img > 0) & (parts_img <= 7), depth, 0.0).astype(np.float32)
            # Slack absorbs float32 storage of the depth the renderer tested against.
            loose = depth_visibility(a["keypoints_2d"], z, rho, vdepth, tol + 1e-4)
            labelled = a["visibility"].astype(int)
            bad = np.nonzero((labelled == 1) & (loose == 0))[0].tolist()
            if bad:
                errs.append(
                    f"{e.files['depth']}: keypoints {bad} are labelled visible but the rendered depth "
                    f"there is not on their surface (tolerance {tol:g} m)"
                )
            if exact:  # the label states the surface radii: the test is exact both ways
                strict = depth_visibility(a["keypoints_2d"], z, rho, vdepth, max(0.0, tol - 1e-4))
                bad = np.nonzero((labelled == 0) & (strict == 1))[0].tolist()
                if bad:
                    errs.append(
                        f"{e.files['depth']}: keypoints {bad} are labelled hidden but the rendered depth "
                        f"shows their surface (tolerance {tol:g} m)"
                    )
    parts = images.get("parts")
    if parts is not None and parts.shape == (H, W) and parts.dtype == np.uint8:
        bad_ids = sorted(set(np.unique(parts).tolist()) - set(range(8)) - set(range(16, 256)))
        if bad_ids:
            errs.append(f"{e.files['parts']}: unknown part ids {bad_ids}")
        if depth is not None and depth.shape == (H, W):
            hand = parts > 0
            if hand.any() and (depth[hand] <= 0).mean() > 0.05:
                errs.append(f"{e.files['parts']}: {100 * (depth[hand] <= 0).mean():.0f}% of hand pixels have no depth")
    inst = images.get("instance")
    if inst is not None and parts is not None and inst.shape == parts.shape == (H, W):
        hand = (parts >= 1) & (parts <= HAND_PART_MAX)
        if ((inst > 0) != hand).any():
            errs.append(f"{e.files['instance']}: {int(((inst > 0) != hand).sum())} pixel(s) disagree with the hand "
                        "parts (1..7) of the part mask")
    normals = images.get("normals")
    if normals is not None and normals.shape == (H, W, 3) and depth is not None and depth.shape == (H, W):
        n = np.linalg.norm(normals[depth > 0], axis=-1)
        if n.size and (np.abs(n - 1) > 1e-2).mean() > 0.01:
            errs.append(f"{e.files['normals']}: normals are not unit length where there is a surface")
    return errs


def sample_problems(root: str | os.PathLike[str], entry: ManifestEntry) -> list[str]:
    """Problems that make a sample unusable by ``package`` / ``preview`` / ``stats`` (empty: usable).

    Every file as recorded (:func:`synth.dataset.layout.verify_sample` with sha256: safe path,
    present, right size and checksum), and a label that parses as a JSON object with the
    manifest's id. Cheaper than :func:`validate_dataset` (no image decoding, no geometry checks).
    """
    problems = verify_sample(root, entry, check_hash=True)
    if problems or LABEL_KEY not in entry.files:
        return problems
    sid = stem(entry.id)
    rel = entry.files[LABEL_KEY]
    try:
        label = json.loads(safe_member_path(root, rel, entry.id).read_bytes().decode("utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        return [f"{sid}: {rel}: not valid JSON ({str(exc).splitlines()[0]})"]
    if not isinstance(label, dict):
        return [f"{sid}: {rel}: not a JSON object"]
    if label.get("id") != entry.id:
        return [f"{sid}: {rel}: label id {label.get('id')!r} is not the manifest id {entry.id}"]
    return []


def find_invalid(root: str | os.PathLike[str], entries: dict[int, ManifestEntry], workers: int | None = None) -> dict[int, list[str]]:
    """:func:`sample_problems` of every entry, on ``workers`` threads; ``{id: problems}`` of the bad ones."""
    root = Path(root)
    bad: dict[int, list[str]] = {}
    with ThreadPoolExecutor(max_workers=workers or min(8, os.cpu_count() or 1)) as pool:
        for sid, probs in zip(entries, pool.map(lambda e: sample_problems(root, e), entries.values()), strict=True):
            if probs:
                bad[sid] = probs
    return bad


def usable_ids(
    root: str | os.PathLike[str], entries: dict[int, ManifestEntry], skip_invalid: bool, what: str
) -> tuple[list[int], dict[int, list[str]]]:
    """Ids of ``entries`` that ``what`` (a command name) may read, and the invalid ones skipped.

    Raises:
        DatasetError: some samples are invalid and ``skip_invalid`` is off; one line naming the
            bad ids and the first problem (nothing has been written yet).
    """
    bad = find_invalid(root, entries)
    if bad and not skip_invalid:
        ids = sorted(bad)
        shown = ", ".join(str(i) for i in ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
        raise DatasetError(
            f"{what}: {len(ids)} invalid sample(s) in {root} (ids {shown}); first: {bad[ids[0]][0]}. "
            "Nothing was written; run `synth validate`, or pass --skip-invalid to leave them out"
        )
    for sid in sorted(bad):
        logger.warning("%s: skipping invalid sample %d: %s", what, sid, "; ".join(bad[sid]))
    return [i for i in entries if i not in bad], bad


def skipped_summary(bad: dict[int, list[str]]) -> dict[str, Any]:
    """JSON-able record of the samples skipped by ``--skip-invalid``: count, ids, one problem each."""
    return {"count": len(bad), "ids": sorted(bad), "problems": {str(i): bad[i][0] for i in sorted(bad)}}


def require_dataset(root: str | os.PathLike[str]) -> dict[str, Any]:
    """``dataset.json`` of ``root`` or a :class:`DatasetError` saying why it is not a dataset."""
    meta = read_dataset_json(root)
    if not (Path(root) / MANIFEST).exists():
        raise DatasetError(f"{root} is not a synth dataset (no {MANIFEST})")
    return meta
