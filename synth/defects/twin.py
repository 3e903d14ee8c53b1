"""Defect twins in a render job: draw, build, render in the same scene, mask, label, write.

With ``defects.fraction = F`` (``--defects-fraction F``) sample ``i`` gets a twin when
``rng.random() < F`` on its own stream ``SeedSequence([seed, i, DEFECT_STREAM])``; the same stream
then draws the defect type, finger(s), severity and parameters. Nothing else reads that stream,
so the correct sample is byte-identical with and without twins.

Layout: the twins form their own synth dataset in ``OUT/twins/`` (``dataset.json``,
``manifest.jsonl``), with the *same ids* as the samples they twin::

    OUT/twins/rgb/ID.png  depth/ID.exr  parts/ID.png  labels/ID.json  mesh/ID.npz
    OUT/twins/artifact_mask/ID.png      uint8, 255 where the geometry differs (synth.defects.mask)
    OUT/twins/artifact_heatmap/ID.png   uint8 soft heatmap (RichHF-style blurred points)

A sample drawn for a twin gets none when no candidate is both :func:`readable` on its pose and
visible enough (:func:`choose_twin`): a weak twin is never written. Such ids are listed, with the
selection rule, in ``OUT/twins/no_twin.json`` (``{"count", "ids", "rule"}``); a resumed job reads
it and does not render those samples again. The rule is also in ``twins/dataset.json``
(``twins.selection``).

``OUT/`` itself is untouched (its manifest, files and labels are those of a job without
defects). A twin label holds ``twin_of`` (the correct sample's id), ``defect`` (type, fingers,
severity, parameters and what changed), ``defect_description`` (``"six fingers"``),
``keypoints_3d_world`` / ``keypoints_3d_cam`` / ``keypoints_2d`` with ``null`` rows for digits
that no longer exist, ``extra_keypoints_*`` for added digits, the artifact rule and pixel count,
and the captions of the correct sample plus a ``negative`` caption naming the error.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from synth.defects.mask import DEPTH_TOLERANCE_M, HEATMAP_SIGMA_FRAC, artifact_mask, heatmap_u8
from synth.defects.ops import FINGERS, TYPES, Defect, DefectMesh, apply_defect
from synth.passes import HAND_PART_MAX
from synth.render.types import HandMesh, Passes
from synth.rng import STREAMS, stream

logger = logging.getLogger(__name__)

#: Named random stream of the defect draw (:data:`synth.rng.STREAMS` ``defects``).
DEFECT_STREAM = STREAMS["defects"]
TWIN_DIR = "twins"
ORDINAL_FINGER = {0: "thumb", 1: "index finger", 2: "middle finger", 3: "ring finger", 4: "little finger"}


#: Candidate defects tried per sample until one is visible (:func:`visible_change`).
MAX_CANDIDATES = 12
#: Candidates of one drawn type (other fingers, joints, directions) before another type is drawn,
#: so the visibility test keeps the types about evenly represented.
VARIANTS_PER_TYPE = 4
#: A candidate is visible when its estimated artifact area (:func:`visible_change`) is at least
#: its type's fraction of the same estimate for the whole visible hand (:func:`visible_hand_area`)
#: ... The fractions follow each error's natural size (a whole missing finger is ~8 % of a visible
#: hand, a moved thumb ~35 %): each is about the median share of that type's readable candidates
#: (measured on planned samples, tests/defects/test_twin_selection.py), so about half of them
#: qualify and the types stay balanced.
MIN_VISIBLE_FRACTION: dict[str, float] = {
    "thumb_wrong_side": 0.3, "fused_fingers": 0.16, "extra_thumb": 0.15, "extra_finger": 0.06,
    "missing_finger": 0.07, "finger_length": 0.1, "hyperextension": 0.09, "blob_tip": 0.05}
#: ... and at least this fraction of the image's pixels (0.6 % = 885 px at 384 x 384), so a
#: small or far hand does not get a twin whose error is a handful of pixels.
MIN_IMAGE_FRACTION = 0.006
#: A digit is curled when its chord (MCP/CMC to tip) is below this fraction of its bone lengths'
#: sum (1 = straight); defects on curled digits read poorly (:func:`readable`).
CURLED_STRAIGHTNESS = 0.75
#: Straightness that fused fingers (both of them) and a sideways bend need: on bent fingers the
#: contact sheet showed these as unreadable lumps (a fusion of curled fingers, a kink in a curl).
STRAIGHT = 0.88
#: File in ``OUT/twins/`` listing the samples drawn for a twin that got none (no candidate
#: readable and visible): ``{"count": N, "ids": [...], "rule": {...}}``.
NO_TWIN_FILE = "no_twin.json"


def digit_straightness(keypoints: np.ndarray) -> np.ndarray:
    """Straightness ``(5,)`` of the digits (thumb..little) of keypoints ``(21, 3)``: chord from the
    digit's base joint (thumb CMC, finger MCP) to its tip over the sum of its three bone lengths."""
    k = np.asarray(keypoints, dtype=np.float64)
    out = np.zeros(5)
    for f in range(5):
        j = k[1 + 4 * f: 5 + 4 * f]
        bones = np.linalg.norm(np.diff(j, axis=0), axis=1).sum()
        out[f] = np.linalg.norm(j[-1] - j[0]) / max(bones, 1e-9)
    return out


def readable(d: Defect, straightness: np.ndarray) -> bool:
    """Whether defect ``d`` can read as its named error on a hand with digit ``straightness``
    ``(5,)`` (:func:`digit_straightness`): fused fingers need both fingers straight (:data:`STRAIGHT`),
    a sideways bend a straight finger; an extra
    finger or thumb needs its neighbour (the digit it copies) extended and not a fist; a missing,
    bent, resized or melted digit must be extended. The wrong-side thumb is always allowed."""
    ext = straightness >= CURLED_STRAIGHTNESS
    if d.type == "fused_fingers":
        return bool(min(straightness[d.fingers[0]], straightness[d.fingers[1]]) >= STRAIGHT)
    if d.type == "hyperextension" and d.params.get("direction") == "sideways":
        return bool(straightness[d.fingers[0]] >= STRAIGHT)
    if d.type == "extra_finger":
        return bool(ext[d.fingers[0]] and ext[1:].sum() >= 2)
    if d.type == "extra_thumb":
        return bool(ext[0])
    if d.type in ("missing_finger", "hyperextension", "finger_length", "blob_tip"):
        return bool(ext[d.fingers[0]])
    return True


def draw_defect(seed: int, i: int, fraction: float) -> Defect | None:
    """The first defect candidate of sample ``i`` (None when it gets no twin), from its own stream."""
    return next(iter(defect_candidates(seed, i, fraction)), None)


def defect_candidates(seed: int, i: int, fraction: float, n: int = MAX_CANDIDATES) -> list[Defect]:
    """Up to ``n`` defect candidates of sample ``i`` (empty when it gets no twin), all drawn from
    its own stream ``SeedSequence([seed, i, DEFECT_STREAM])``: the twin uses the first one the
    camera sees well (:func:`choose_twin`)."""
    rng = stream(seed, i, "defects")
    if not rng.random() < fraction:
        return []
    out: list[Defect] = []
    while len(out) < n:  # a type, then up to VARIANTS_PER_TYPE fingers / parameters of it
        kind = TYPES[int(rng.integers(len(TYPES)))]
        out += [_draw(rng, kind) for _ in range(min(VARIANTS_PER_TYPE, n - len(out)))]
    return out


def visible_change(dm: DefectMesh, correct_vertices: np.ndarray, depth: np.ndarray, K: np.ndarray,
                   world_to_cam: np.ndarray, tol: float = 3e-3) -> int:
    """Estimated artifact area (pixels) of a twin, judged against the correct sample's depth pass
    ``(H, W)`` before rendering the twin: the distinct pixels (each grown to its 3x3
    neighbourhood) under the changed surface points the camera sees -- twin vertices that moved
    more than 1 mm from their source (or are new) and lie in front of, or within ``tol`` of, the
    correct surface or over background; and correct vertices that moved or were removed and lie
    on the visible correct surface (within ``tol``)."""
    moved = np.linalg.norm(dm.vertices - correct_vertices[dm.vertex_source], axis=1) > 1e-3
    gone = np.ones(len(correct_vertices), bool)
    gone[dm.vertex_source[~moved]] = False
    return _visible_area(dm.vertices[moved], correct_vertices[gone], depth, K, world_to_cam, tol)


def _visible_area(new_points: np.ndarray, old_points: np.ndarray, depth: np.ndarray, K: np.ndarray,
                  world_to_cam: np.ndarray, tol: float = 3e-3) -> int:
    H, W = depth.shape
    R, t = world_to_cam[:3, :3], world_to_cam[:3, 3]
    hit = np.zeros((H, W), bool)

    def mark(P: np.ndarray, front_only: bool) -> None:
        if not len(P):
            return
        pc = P @ R.T + t
        pc = pc[pc[:, 2] > 1e-6]
        uv = (pc @ K.T)[:, :2] / pc[:, 2:3]
        u, v = np.rint(uv[:, 0]).astype(int), np.rint(uv[:, 1]).astype(int)
        inside = (u >= 0) & (u < W) & (v >= 0) & (v < H)
        u, v, z = u[inside], v[inside], pc[inside, 2]
        d = depth[v, u]
        ok = ((d == 0) | (z < d + tol)) if front_only else ((d > 0) & (np.abs(z - d) < tol))
        hit[v[ok], u[ok]] = True

    mark(new_points, True)
    mark(old_points, False)
    import cv2

    return int(cv2.dilate(hit.astype(np.uint8), np.ones((3, 3), np.uint8)).sum())


def visible_hand_area(correct_vertices: np.ndarray, depth: np.ndarray, K: np.ndarray, world_to_cam: np.ndarray) -> int:
    """The same estimate as :func:`visible_change` for the whole visible correct hand."""
    return _visible_area(np.zeros((0, 3)), correct_vertices, depth, K, world_to_cam)


def _draw(rng: np.random.Generator, kind: str) -> Defect:
    sev = float(rng.random())
    if kind == "extra_finger":
        return Defect(kind, (int(rng.choice([1, 4])),), sev, {"scale": round(float(0.85 + 0.15 * rng.random()), 4)})
    if kind == "extra_thumb":
        return Defect(kind, (0,), sev, {"scale": round(float(0.85 + 0.15 * rng.random()), 4)})
    if kind == "missing_finger":
        return Defect(kind, (int(rng.integers(1, 5)),), sev)
    if kind == "fused_fingers":
        a = int(rng.integers(1, 4))
        return Defect(kind, (a, a + 1), sev)
    if kind == "hyperextension":
        direction = "backward" if rng.random() < 0.6 else "sideways"
        k = int(rng.integers(1, 5))
        return Defect(kind, (k,), sev, {"joint": int(rng.integers(0, 3)) if direction == "backward" else int(rng.integers(1, 3)),
                                        "direction": direction, "sign": 1 if rng.random() < 0.5 else -1})
    if kind == "finger_length":
        return Defect(kind, (int(rng.integers(0, 5)),), sev, {"direction": "long" if rng.random() < 0.5 else "short"})
    if kind == "blob_tip":
        return Defect(kind, (int(rng.integers(0, 5)),), sev, {"phase": round(float(rng.random() * 2 * np.pi), 4)})
    return Defect(kind, (0,), sev)


def describe_defect(d: Defect, record: dict[str, Any] | None = None) -> str:
    """Plain-English name of the error, e.g. ``"six fingers"``, ``"index finger bent backwards"``."""
    f = ORDINAL_FINGER[d.fingers[0]]
    if d.type == "extra_finger":
        return "six fingers, an extra finger beside the " + f
    if d.type == "extra_thumb":
        return "two thumbs"
    if d.type == "missing_finger":
        return f"four fingers, the {f} missing"
    if d.type == "fused_fingers":
        a, b = (ORDINAL_FINGER[k].replace(" finger", "") for k in d.fingers[:2])
        return f"{a} and {b} fingers fused together"
    if d.type == "hyperextension":
        joint = {0: "at the knuckle", 1: "at the middle joint", 2: "at the last joint"}[int(d.params["joint"])]
        how = "bent backwards" if d.params["direction"] == "backward" else "bent sideways"
        return f"{f} {how} {joint}"
    if d.type == "finger_length":
        return f"{f} far too {d.params['direction']}"
    if d.type == "blob_tip":
        return f"melted, blobby {f} tip"
    return "thumb on the wrong side of the hand"


def twin_hand_mesh(base: HandMesh, dm: DefectMesh) -> HandMesh:
    """The render topology of a twin: faces and parts of ``dm``, attributes carried from ``base``."""
    def pick(a: np.ndarray | None, idx: np.ndarray) -> np.ndarray | None:
        return None if a is None else np.asarray(a)[idx]

    return HandMesh(side=base.side, faces=dm.faces, face_parts=dm.face_parts, face_uvs=pick(base.face_uvs, dm.face_source),
                    palm=pick(base.palm, dm.vertex_source), nail=pick(base.nail, dm.vertex_source),
                    crease_t=pick(base.crease_t, dm.vertex_source), crease_w=pick(base.crease_w, dm.vertex_source))


def render_twin(renderer: Any, spec: Any, hm: HandMesh, vertices: np.ndarray) -> Passes:
    """Render ``spec`` again with the hand ``hm`` at ``vertices`` in the renderer's current scene."""
    if hasattr(renderer, "objects"):  # Blender: swap the hand object for one render
        from synth.render.blender.twin import render_with_mesh

        return render_with_mesh(renderer, spec, hm, vertices)
    meshes = renderer.meshes
    renderer.meshes = {**meshes, spec.hand.side: hm}
    try:
        return renderer.render(spec, vertices)
    finally:
        renderer.meshes = meshes


def min_visible_pixels(kind: str, hand_pixels: int, image_pixels: int) -> float:
    """The estimated artifact area (pixels) a candidate of type ``kind`` needs: its
    :data:`MIN_VISIBLE_FRACTION` of the visible hand and :data:`MIN_IMAGE_FRACTION` of the image."""
    return max(MIN_VISIBLE_FRACTION[kind] * hand_pixels, MIN_IMAGE_FRACTION * image_pixels)


def choose_twin(rig: Any, spec: Any, correct_vertices: np.ndarray, depth: np.ndarray, parts: np.ndarray, seed: int,
                i: int, fraction: float, keypoints: np.ndarray | None = None) -> tuple[Defect, DefectMesh] | None:
    """The twin of sample ``i``: the first of its :func:`defect_candidates` that is
    :func:`readable` on this pose and whose estimated artifact area (:func:`visible_change`) is at
    least its type's :data:`MIN_VISIBLE_FRACTION` of the visible hand's and :data:`MIN_IMAGE_FRACTION`
    of the image (:func:`min_visible_pixels`). None when no candidate qualifies (the sample then has no twin: a weak twin is never
    written). ``keypoints`` ``(21, 3)`` world, of the correct hand (posed here when None);
    ``parts`` ``(H, W)`` is unused by the rule but kept for callers. The record gets
    ``candidate`` (index of the one used), ``visible_fraction`` and ``visible_pixels`` (its estimate)."""
    K, T = spec.camera.K, spec.camera.world_to_cam
    if keypoints is None:
        keypoints = spec.hand.world()[1]
    straight = digit_straightness(keypoints)
    hand = max(visible_hand_area(correct_vertices, depth, K, T), 1)
    for k, d in enumerate(defect_candidates(seed, i, fraction)):
        if not readable(d, straight):
            continue
        need = min_visible_pixels(d.type, hand, depth.size)
        dm = apply_defect(rig, spec.hand.shape, spec.hand.pose_deg, spec.hand.root, d)
        n = visible_change(dm, correct_vertices, depth, K, T)
        if n >= need:
            dm.record.update(candidate=k, visible_fraction=round(n / hand, 4), visible_pixels=n)
            return d, dm
    return None


def _kp_json(a: np.ndarray) -> list[list[float] | None]:
    return [None if np.isnan(r).any() else [float(x) for x in r] for r in a]


class TwinWriter:
    """Writes the twins of a job into ``OUT/twins`` (see the module docstring)."""

    def __init__(self, cfg: Any, session: Any, resume: bool = True, force: bool = False):
        from synth.dataset.writer import DatasetWriter
        from synth.render.job import dataset_meta

        self.cfg = cfg
        self.session = session
        meta = dataset_meta(cfg)
        meta["twins"] = {"of": "..", "stream": DEFECT_STREAM, "types": list(TYPES),
                         "artifact_rule": f"part id differs, or both see a surface and |depth difference| > {DEPTH_TOLERANCE_M} m",
                         "heatmap_sigma_px_at_512": HEATMAP_SIGMA_FRAC * 512}
        meta["twins"]["selection"] = self.rule = {
            "max_candidates": MAX_CANDIDATES, "min_visible_fraction_of_hand": dict(MIN_VISIBLE_FRACTION),
            "min_visible_fraction_of_image": MIN_IMAGE_FRACTION, "curled_straightness": CURLED_STRAIGHTNESS, "straight": STRAIGHT,
            "no_twin_file": NO_TWIN_FILE}
        self.writer = DatasetWriter(str(Path(cfg.out) / TWIN_DIR), meta, resume=resume, force=force)
        self.done = self.writer.completed_ids()
        self.no_twin_path = Path(cfg.out) / TWIN_DIR / NO_TWIN_FILE
        self.no_twin: set[int] = set()
        if resume and self.no_twin_path.is_file():
            import json

            self.no_twin = {int(k) for k in json.loads(self.no_twin_path.read_text("utf-8"))["ids"]}
        elif self.no_twin_path.exists():
            self.no_twin_path.unlink()
        self.twin_seconds = 0.0

    def pending(self, i: int) -> bool:
        """Whether sample ``i`` has a twin still to write (False once recorded as having none)."""
        return (i not in self.done and i not in self.no_twin
                and draw_defect(self.cfg.seed, i, self.cfg.defects.fraction) is not None)

    def _record_no_twin(self, i: int) -> None:
        import json
        import os

        self.no_twin.add(i)
        body = json.dumps({"count": len(self.no_twin), "ids": sorted(self.no_twin), "rule": self.rule}, indent=1) + "\n"
        tmp = self.no_twin_path.with_name(f".{NO_TWIN_FILE}.{os.getpid()}.tmp")
        tmp.write_text(body, "utf-8")
        os.replace(tmp, self.no_twin_path)

    def after_sample(self, i: int, s: Any) -> bool:
        """Render and write the twin of the just-rendered sample ``s`` (id ``i``); False when it has
        none (not drawn, or no readable visible candidate: then recorded in :data:`NO_TWIN_FILE`)."""
        import time

        if not self.pending(i):
            return False
        t = time.perf_counter()
        spec = s.spec
        rig = self.session.rigs[spec.hand.side]
        chosen = choose_twin(rig, spec, s.vertices, s.passes.depth, s.passes.parts, self.cfg.seed, i,
                             self.cfg.defects.fraction)
        if chosen is None:
            logger.info("sample %d: no defect candidate is readable and visible enough; no twin", i)
            self._record_no_twin(i)
            self.twin_seconds += time.perf_counter() - t
            return False
        d, dm = chosen
        hm = twin_hand_mesh(self.session.meshes[spec.hand.side], dm)
        passes = render_twin(self.session.renderer, spec, hm, dm.vertices)
        if spec.post is not None:
            from synth.scene.post import apply_post

            passes.rgb = apply_post(passes.rgb, spec.post, passes.depth)
        self.twin_seconds += time.perf_counter() - t
        mask = artifact_mask(s.passes.depth, s.passes.parts, passes.depth, passes.parts)
        label = self.label(i, s, d, dm, mask, passes)
        images = {k: passes[k] for k in self.cfg.output.passes}
        images["artifact_mask"] = (mask * 255).astype(np.uint8)
        images["artifact_heatmap"] = heatmap_u8(mask)
        from synth.dataset.writer import npz_bytes

        extra = {"mesh": npz_bytes(vertices=dm.vertices.astype(np.float64), faces=dm.faces.astype(np.int32),
                                   face_part=dm.face_parts)}
        self.writer.write_sample(i, images, label, extra)
        return True

    def label(self, i: int, s: Any, d: Defect, dm: DefectMesh, mask: np.ndarray, passes: Passes | None = None) -> dict[str, Any]:
        cam = s.spec.camera
        R, t = cam.world_to_cam[:3, :3], cam.world_to_cam[:3, 3]

        def project(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            pc = p @ R.T + t
            uv = (pc @ cam.K.T)[:, :2] / pc[:, 2:3]
            return pc, uv

        kc, uv = project(dm.keypoints)
        desc = describe_defect(d, dm.record)
        from synth.labels.captions import caption_styles

        styles = caption_styles(s.label)
        from synth.labels.bbox import bbox_from_mask
        from synth.labels.visibility import surface_radius, visibility

        vis = [0] * len(dm.keypoints)
        bbox = s.label.get("bbox")
        rho_json = s.label.get("keypoint_surface_radius")
        if passes is not None:
            ok = ~np.isnan(dm.keypoints).any(axis=1)
            rho = np.zeros(len(dm.keypoints))
            rho[ok] = surface_radius(dm.keypoints[ok], dm.vertices)
            # The correct label's rule (synth.labels.sample): only hand pixels show a keypoint's
            # surface; an accessory, object or table within the tolerance hides it.
            hand = (passes.parts > 0) & (passes.parts <= HAND_PART_MAX)
            v = visibility(np.nan_to_num(uv), np.nan_to_num(kc[:, 2]), rho, np.where(hand, passes.depth, 0.0))
            vis = [int(x) if o else 0 for x, o in zip(v, ok, strict=True)]
            bbox = bbox_from_mask((passes.parts >= 1) & (passes.parts <= 7))
            rho_json = [round(float(r), 6) for r in rho]
        out: dict[str, Any] = {
            **{k: s.label[k] for k in ("seed", "gesture", "attributes", "hand_model", "render") if k in s.label},
            "visibility": vis, "bbox": bbox, "keypoint_surface_radius": rho_json,
            "id": i, "twin_of": i, "image_size": s.label.get("image_size"), "K": s.label.get("K"),
            "world_to_cam": s.label.get("world_to_cam"), "handedness": s.label.get("handedness"),
            "defect": dm.record, "defect_description": desc,
            "keypoints_3d_world": _kp_json(dm.keypoints), "keypoints_3d_cam": _kp_json(kc), "keypoints_2d": _kp_json(uv),
            "artifact_pixels": int(mask.sum()),
            "artifact_rule": {"part_id_differs": True, "depth_tolerance_m": DEPTH_TOLERANCE_M},
            "heatmap_sigma_px": HEATMAP_SIGMA_FRAC * mask.shape[1],
            "caption": s.label.get("caption"), "captions": {**styles, "negative": desc},
        }
        if len(dm.extra_keypoints):
            ec, euv = project(dm.extra_keypoints)
            out.update(extra_keypoints_3d_world=_kp_json(dm.extra_keypoints), extra_keypoints_3d_cam=_kp_json(ec),
                       extra_keypoints_2d=_kp_json(euv))
        return out

    def close(self) -> None:
        self.writer.close()


__all__ = ["DEFECT_STREAM", "FINGERS", "TwinWriter", "describe_defect", "draw_defect", "render_twin", "twin_hand_mesh"]


def with_twin_files(root: str | Path, entries: dict[int, Any]) -> dict[int, Any]:
    """Manifest entries of ``root`` with their twins' files added as extra kinds (paths relative to
    ``root``): ``twin_rgb``, ``twin_label``, ``artifact_mask``, ``artifact_heatmap`` -- for readers
    that look at a sample and its twin together (``synth review``). Entries without a twin, and
    datasets without ``twins/``, are returned unchanged."""
    import dataclasses

    from synth.dataset.layout import LABEL_KEY, read_manifest

    tdir = Path(root) / TWIN_DIR
    if not (tdir / "manifest.jsonl").is_file():
        return entries
    names = {"rgb": "twin_rgb", LABEL_KEY: "twin_label", "artifact_mask": "artifact_mask",
             "artifact_heatmap": "artifact_heatmap"}
    out = dict(entries)
    for i, te in read_manifest(tdir).items():
        if i not in out:
            continue
        add = {names[k]: f"{TWIN_DIR}/{v}" for k, v in te.files.items() if k in names}
        out[i] = dataclasses.replace(out[i], files={**out[i].files, **add})
    return out
