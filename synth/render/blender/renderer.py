"""Cycles / EEVEE renderer through bpy: scene built once, updated per sample.

Every pass comes from one ``bpy.ops.render.render(write_still=True)`` call writing one
uncompressed multilayer EXR to a temporary directory, read back with :mod:`synth.render.exr`:

* RGB: the Combined pass (linear, scene-referred) through the sRGB "Standard" view transform
  (:func:`synth.render.types.linear_to_srgb8`), 8 bit.
* depth: Cycles' Depth pass, planar camera z in metres, written by the *first* sample of each
  pixel (not averaged); background (1e10) -> 0.
* parts: the material-index pass (also first-sample, not averaged, so never blended at edges):
  each part has its own material whose ``pass_index`` is the part id; the materials share one
  node group, so a material change is made once.
* normals: the Normal pass (world frame, averaged over samples), rotated to the OpenCV camera
  frame and re-normalised.

Measured on Blender 5.0.1 with the default 1.5 px filter, Cycles' first-sample depth is within
0.03 mm of a pixel-centre ray cast and the part mask equals the ray-cast silhouette, so depth and
parts are the surface seen through each pixel centre while RGB stays antialiased. EEVEE (GPU
machines) filters every pass, and has no material-index pass: parts come from an AOV written by
each part material, and ``filter_width`` defaults to 0.01 px for EEVEE so labels stay exact
(measured at 64 px: part mask identical to Cycles', median depth difference 0.003 mm).

Per sample only values change (vertex positions and the skin's contact attribute, camera, node
input values, lights, the prop pool's meshes); nothing is rebuilt. The one costly sync left was the
world's light importance map, which Cycles re-evaluates whenever any world value changes: it is
fixed at :data:`synth.render.blender.appearance.WORLD_MAP_RESOLUTION` (256 x 128) instead of the
HDRI's size (1.4 CPU-s per sample before; see ``benchmarks/README.md``).

Held objects (``spec.props``): a pool of :data:`MAX_PROPS` mesh objects is built once; per sample
each used slot's mesh is refilled from the spec's arrays (``clear_geometry`` + ``foreach_set``, no
operators: topology changes with the prop), edges sharper than :data:`SHARP_EDGE_DEG` are marked
sharp (smooth shading elsewhere), and every prop material gets its own Principled BSDF material
with ``pass_index`` (Cycles' material-index pass) and the part AOV (EEVEE) set to the object's
part id (16, 17, ...). Unused slots are hidden.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from synth._lazy import require
from synth.config import PRESETS, RenderConfig
from synth.render.exr import read_exr
from synth.render.types import (
    FILMIC_TONE_MAPPING,
    FILMIC_VIEW_TRANSFORM,
    STANDARD_VIEW_TRANSFORM,
    HandMesh,
    Passes,
    auto_exposure,
    filmic_srgb8,
    linear_to_srgb8,
)
from synth.scene.spec import SampleSpec

logger = logging.getLogger(__name__)

_OBJ = "synth_hand_{side}"
_SKIN_GROUP = "synth_skin"
_PART_AOV = "synth_part"
_CV_TO_BLENDER_CAM = np.diag([1.0, -1.0, -1.0, 1.0])
#: Held objects rendered per sample at most.
MAX_PROPS = 5  # held objects + worn accessories (synth.scene.accessories.MAX_ACCESSORIES)
#: Dihedral angle above which a held object's edge is shaded sharp (degrees).
SHARP_EDGE_DEG = 40.0
#: Cycles GPU backends tried in this order for ``device=gpu`` (benchmarks/gpu_check.py narrows
#: it to one backend to time OptiX and CUDA separately).
GPU_BACKENDS: tuple[str, ...] = ("OPTIX", "CUDA", "HIP", "ONEAPI", "METAL")
_BACKEND_NAMES = {"OPTIX": "OptiX", "CUDA": "CUDA", "HIP": "HIP", "ONEAPI": "oneAPI", "METAL": "Metal"}


class DeviceError(RuntimeError):
    """The requested render device is not available."""


def _bpy():  # noqa: ANN202 - module type
    return require("bpy")


def reset_blender() -> None:
    """Empty the current Blender file (factory settings, no UI)."""
    bpy = _bpy()
    bpy.ops.wm.read_factory_settings(use_empty=True)


def configure_device(scene, device: str, engine: str) -> str:  # noqa: ANN001
    """Select CPU or GPU; returns a short description. GPU: OptiX, then CUDA, HIP, oneAPI, Metal."""
    bpy = _bpy()
    if engine == "eevee":
        if device == "cpu":
            logger.warning("EEVEE renders through OpenGL: without a GPU it falls back to a software "
                           "context (about 16 s per 256 px image); use Cycles on CPU machines")
        return "opengl"
    if device == "cpu":
        scene.cycles.device = "CPU"
        return "cpu"
    prefs = bpy.context.preferences.addons["cycles"].preferences
    for kind in GPU_BACKENDS:
        try:
            prefs.compute_device_type = kind
        except TypeError:
            continue
        prefs.refresh_devices()
        gpus = [d for d in prefs.devices if d.type == kind]
        if gpus:
            for d in prefs.devices:
                d.use = d.type == kind
            scene.cycles.device = "GPU"
            return f"gpu-{kind.lower()}:{gpus[0].name}"
    names = "/".join(_BACKEND_NAMES.get(k, k) for k in GPU_BACKENDS)
    raise DeviceError(f"--device gpu: no {names} GPU is available to Cycles on this machine")


class BlenderRenderer:
    """Renders :class:`SampleSpec` s with one persistent Blender scene.

    Args:
        settings: render settings (engine, device, samples, size, filter width...).
        meshes: the hand topologies, one per side that will be rendered.
        workdir: where the per-sample EXR goes (default: a fresh temporary directory, in
            ``/dev/shm`` when present).
    """

    def __init__(self, settings: RenderConfig, meshes: dict[str, HandMesh], workdir: str | Path | None = None):
        self.settings = settings
        self.meshes = meshes
        base = "/dev/shm" if os.path.isdir("/dev/shm") else None
        self._tmp = tempfile.TemporaryDirectory(prefix="synth_render_", dir=base) if workdir is None else None
        self.workdir = Path(workdir or self._tmp.name)  # type: ignore[union-attr]
        self.device_info = ""
        self.rendered = 0
        with _quiet_stdout():  # Blender's start-up log (e.g. Cycles' "CUEW initialization failed" on CPU machines)
            self._build()

    # ---- scene construction (once) -----------------------------------------------------
    def _build(self) -> None:
        bpy = _bpy()
        reset_blender()
        s = self.settings
        scene = bpy.context.scene
        self.scene = scene
        scene.render.engine = "CYCLES" if s.engine == "cycles" else "BLENDER_EEVEE"
        self.device_info = configure_device(scene, s.device, s.engine)
        W, H = s.size
        scene.render.resolution_x, scene.render.resolution_y = W, H
        scene.render.resolution_percentage = 100
        scene.render.use_persistent_data = s.persistent_data
        scene.render.dither_intensity = 0.0
        scene.render.film_transparent = False
        scene.render.threads_mode = "FIXED" if s.threads else "AUTO"
        if s.threads:
            scene.render.threads = s.threads
        if s.engine == "cycles":
            c = scene.cycles
            c.samples = s.effective_samples
            c.use_adaptive_sampling = False
            c.use_denoising = s.effective_denoise
            if s.effective_denoise:
                c.denoiser = "OPENIMAGEDENOISE"
                c.denoising_use_gpu = s.device == "gpu"  # never probe CUDA/HIP on CPU runs
                c.denoising_quality = PRESETS[s.preset]["denoise_quality"]
                c.denoising_prefilter = PRESETS[s.preset]["denoise_prefilter"]
            c.filter_width = s.effective_filter_width
            c.seed = 0
            c.use_animated_seed = False
            c.max_bounces = 4
            c.diffuse_bounces = 2
            c.glossy_bounces = 2
            c.transmission_bounces = 2
            c.transparent_max_bounces = 2
            c.volume_bounces = 0
            c.caustics_reflective = False
            c.caustics_refractive = False
        else:
            scene.eevee.taa_render_samples = s.effective_samples
            scene.render.filter_size = s.effective_filter_width
        vs = scene.view_settings
        vs.view_transform = "Standard"
        vs.look = "None"
        vs.exposure = 0.0
        vs.gamma = 1.0
        scene.display_settings.display_device = "sRGB"
        vl = scene.view_layers[0]
        vl.use_pass_combined = True
        vl.use_pass_z = True
        vl.use_pass_normal = True
        if s.engine == "cycles":
            vl.use_pass_material_index = True
        else:  # EEVEE has no material-index pass: each part material writes its id to an AOV
            aov = vl.aovs.add()
            aov.name, aov.type = _PART_AOV, "VALUE"
        self.view_layer_name = vl.name
        im = scene.render.image_settings
        try:
            im.media_type = "MULTI_LAYER_IMAGE"  # Blender >= 5.0
        except (AttributeError, TypeError):
            pass
        im.file_format = "OPEN_EXR_MULTILAYER"
        im.color_depth = "32"
        im.exr_codec = "NONE"
        self.exr_path = self.workdir / "passes.exr"
        scene.render.filepath = str(self.exr_path)
        scene.render.use_file_extension = False

        # World: uniform colour.
        world = bpy.data.worlds.new("synth_world")
        world.use_nodes = True
        self.world_bg = world.node_tree.nodes["Background"]
        scene.world = world

        # Camera.
        cam_data = bpy.data.cameras.new("synth_camera")
        cam_data.sensor_fit = "HORIZONTAL"
        cam_data.sensor_width = 36.0
        cam_data.clip_start = 0.01
        cam_data.clip_end = 100.0
        self.camera = bpy.data.objects.new("synth_camera", cam_data)
        scene.collection.objects.link(self.camera)
        scene.camera = self.camera

        # Key light.
        light_data = bpy.data.lights.new("synth_key", type="AREA")
        self.light = bpy.data.objects.new("synth_key", light_data)
        scene.collection.objects.link(self.light)

        # Skin: one shared node group, one material per part (pass_index = part id).
        self._build_skin_group()
        self.materials = _part_materials("synth_skin_part", self.skin_group)

        # Appearance (issue 5): Monk-scale skin with palms, pores and nails; HDRI / sky / studio
        # world with camera-visible backgrounds; a pool of local lights. The simple skin group and
        # key light above stay for specs without sampled appearance (lighting.mode=basic).
        from synth.render.blender import appearance

        self.app_skin = appearance.build_skin_group("synth_skin_monk")
        self.app_world = appearance.build_world("synth_world_natural")
        self.app_lights = appearance.build_lights(scene)
        self.app_room = appearance.build_room(scene)
        self.basic_world = world
        self.materials_monk = _part_materials("synth_skin_monk_part", self.app_skin.group)
        self._skin_mode = "basic"

        self.prop_objects = []
        self.prop_materials: dict[tuple[int, int], object] = {}
        for k in range(MAX_PROPS):
            obj = bpy.data.objects.new(f"synth_prop{k}", bpy.data.meshes.new(f"synth_prop{k}"))
            obj.hide_render = True
            scene.collection.objects.link(obj)
            self.prop_objects.append(obj)

        self.objects = {}
        for side, hm in self.meshes.items():
            self.objects[side] = self._build_hand_object(side, hm)
            if hm.palm is not None and hm.nail is not None:
                appearance.add_skin_attributes(self.objects[side].data, hm.palm, hm.nail, hm.crease_t, hm.crease_w,
                                               hm.palm_lines, hm.nail_u, hm.veins, hm.hair, hm.rest_vertices)

    def _build_skin_group(self) -> None:
        bpy = _bpy()
        g = bpy.data.node_groups.new(_SKIN_GROUP, "ShaderNodeTree")
        g.interface.new_socket("BSDF", in_out="OUTPUT", socket_type="NodeSocketShader")
        out = g.nodes.new("NodeGroupOutput")
        bsdf = g.nodes.new("ShaderNodeBsdfPrincipled")
        g.links.new(bsdf.outputs["BSDF"], out.inputs[0])
        self.skin_group = g
        self.bsdf = bsdf

    def _build_hand_object(self, side: str, hm: HandMesh):  # noqa: ANN202
        bpy = _bpy()
        F = hm.faces.shape[0]
        V = int(hm.faces.max()) + 1
        mesh = bpy.data.meshes.new(f"synth_hand_{side}")
        mesh.vertices.add(V)
        mesh.loops.add(3 * F)
        mesh.polygons.add(F)
        mesh.loops.foreach_set("vertex_index", hm.faces.astype(np.int32).ravel())
        mesh.polygons.foreach_set("loop_start", np.arange(0, 3 * F, 3, dtype=np.int32))
        mesh.polygons.foreach_set("loop_total", np.full(F, 3, dtype=np.int32))
        mesh.polygons.foreach_set("use_smooth", np.ones(F, dtype=bool))
        for pid in range(1, 8):
            mesh.materials.append(self.materials[pid])
        mesh.polygons.foreach_set("material_index", (hm.face_parts.astype(np.int32) - 1))
        if hm.face_uvs is not None:
            uv = mesh.uv_layers.new(name="UVMap")
            uv.data.foreach_set("uv", hm.face_uvs.astype(np.float32).ravel())
        mesh.update(calc_edges=True)
        obj = bpy.data.objects.new(_OBJ.format(side=side), mesh)
        self.scene.collection.objects.link(obj)
        return obj

    def _prop_material(self, k: int, j: int):  # noqa: ANN202
        """Material ``j`` of object slot ``k`` (created on first use): a Principled BSDF whose
        pass index and part AOV are the slot's part id."""
        key = (k, j)
        if key not in self.prop_materials:
            bpy = _bpy()
            from synth.scene.spec import OBJECT_PART_BASE

            pid = OBJECT_PART_BASE + k
            mat = bpy.data.materials.new(f"synth_prop{k}_mat{j}")
            mat.use_nodes = True
            nt = mat.node_tree
            nt.nodes.clear()
            bsdf = nt.nodes.new("ShaderNodeBsdfPrincipled")
            out = nt.nodes.new("ShaderNodeOutputMaterial")
            nt.links.new(bsdf.outputs["BSDF"], out.inputs["Surface"])
            _add_pattern_nodes(nt, bsdf)
            aov_out = nt.nodes.new("ShaderNodeOutputAOV")
            aov_out.aov_name = _PART_AOV
            aov_out.inputs["Value"].default_value = float(pid)
            mat.pass_index = pid
            self.prop_materials[key] = mat
        return self.prop_materials[key]

    def _update_props(self, spec: SampleSpec) -> None:
        """Fill the object pool from ``spec.props`` (world-frame meshes); hide unused slots."""
        if len(spec.props) > MAX_PROPS:
            raise ValueError(f"the renderer draws at most {MAX_PROPS} objects, the sample has {len(spec.props)}")
        for k, obj in enumerate(self.prop_objects):
            if k >= len(spec.props):
                obj.hide_render = True
                continue
            ps = spec.props[k]
            if ps.part_id != 16 + k:
                raise ValueError(f"held object {k} has part id {ps.part_id}, expected {16 + k}")
            mesh = obj.data
            mesh.clear_geometry()
            mesh.materials.clear()
            V, F = np.asarray(ps.vertices, dtype=np.float32), np.asarray(ps.faces, dtype=np.int32)
            mesh.vertices.add(len(V))
            mesh.vertices.foreach_set("co", np.ascontiguousarray(V).ravel())
            mesh.loops.add(3 * len(F))
            mesh.polygons.add(len(F))
            mesh.loops.foreach_set("vertex_index", np.ascontiguousarray(F).ravel())
            mesh.polygons.foreach_set("loop_start", np.arange(0, 3 * len(F), 3, dtype=np.int32))
            mesh.polygons.foreach_set("loop_total", np.full(len(F), 3, dtype=np.int32))
            mesh.polygons.foreach_set("use_smooth", np.ones(len(F), dtype=bool))
            for j, pm in enumerate(ps.materials):
                mat = self._prop_material(k, j)
                b = mat.node_tree.nodes["Principled BSDF"].inputs
                b["Base Color"].default_value = (*pm.base_color, 1.0)
                b["Roughness"].default_value = pm.roughness
                b["Metallic"].default_value = pm.metallic
                b["Transmission Weight"].default_value = pm.transmission
                _set_pattern(mat.node_tree, pm)
                mesh.materials.append(mat)
            mesh.polygons.foreach_set("material_index", np.asarray(ps.face_material, dtype=np.int32))
            mesh.update(calc_edges=True)
            _mark_sharp_edges(mesh, V, F)
            obj.hide_render = False

    # ---- per-sample update (no operators) -----------------------------------------------
    def _update(self, spec: SampleSpec, vertices: np.ndarray) -> None:
        side = spec.hand.side
        if side not in self.objects:
            raise ValueError(f"renderer was built without a {side} hand mesh")
        for s, obj in self.objects.items():
            obj.hide_render = s != side
        mesh = self.objects[side].data
        mesh.vertices.foreach_set("co", np.ascontiguousarray(vertices, dtype=np.float32).ravel())
        hm = self.meshes[side]
        if hm.rest_vertices is not None and hm.palm is not None and "synth_contact" in mesh.attributes:
            from synth.render.blender.appearance import set_contact
            from synth.scene.skin import contact_shading

            if not hasattr(self, "_vertex_parts"):
                self._vertex_parts = {}
            if side not in self._vertex_parts:
                vp = np.zeros(len(hm.rest_vertices), dtype=np.int64)
                vp[hm.faces.ravel()] = np.repeat(hm.face_parts, 3)
                self._vertex_parts[side] = vp
            set_contact(mesh, contact_shading(np.asarray(vertices, dtype=np.float64), hm.rest_vertices,
                                              self._vertex_parts[side]))
        mesh.update()
        self._update_props(spec)

        cam = spec.camera
        W, H = self.settings.size
        if (cam.width, cam.height) != (W, H):
            raise ValueError(f"camera is {cam.width}x{cam.height} but the renderer renders {W}x{H}")
        K = cam.K
        data = self.camera.data
        data.lens = float(K[0, 0]) * data.sensor_width / W
        if abs(K[1, 1] - K[0, 0]) > 1e-9 * K[0, 0] or abs(K[0, 1]) > 0:
            raise ValueError("the Blender camera needs square pixels and no skew (K[0,0] == K[1,1], K[0,1] == 0)")
        # Principal point offsets as Blender's shift, in units of the sensor-fit (horizontal) side.
        data.shift_x = float(((W - 1) / 2.0 - K[0, 2]) / W)
        data.shift_y = float((K[1, 2] - (H - 1) / 2.0) / W)
        self.camera.matrix_world = _matrix(cam.cam_to_world @ _CV_TO_BLENDER_CAM)

        from synth.render.blender import appearance

        skin = spec.hand.skin
        mode = spec.hand.skin_kind
        if mode != self._skin_mode:  # swap the material slots (same part ids, other shader)
            mats = self.materials_monk if mode == "monk" else self.materials
            for obj in self.objects.values():
                for k in range(7):
                    obj.data.materials[k] = mats[k + 1]
            self._skin_mode = mode
        if skin is not None:
            appearance.set_skin(self.app_skin, skin)
        lighting = spec.lighting.sample
        if lighting is not None:
            self.scene.world = self.app_world.world
            appearance.set_world(self.app_world, lighting)
            appearance.set_lights(self.app_lights, lighting, lambda p, t: _matrix(_light_pose(p, t)))
            appearance.set_room(self.app_room, spec.room)
            self.light.hide_render = True
        else:
            appearance.set_room(self.app_room, None)
            self.scene.world = self.basic_world
            for obj in self.app_lights:
                obj.hide_render = True
        mat = spec.material
        b = self.bsdf.inputs
        b["Base Color"].default_value = (*mat.base_color, 1.0)
        b["Roughness"].default_value = mat.roughness
        b["Subsurface Weight"].default_value = mat.subsurface_weight
        b["Subsurface Radius"].default_value = mat.subsurface_radius
        b["Subsurface Scale"].default_value = 1.0

        if lighting is not None:
            return
        bg = spec.background
        self.world_bg.inputs["Color"].default_value = (*bg.color, 1.0)
        self.world_bg.inputs["Strength"].default_value = bg.strength

        if spec.lights:
            li = spec.lights[0]
            self.light.hide_render = False
            self.light.data.energy = li.power
            self.light.data.size = li.size
            self.light.data.color = li.color
            self.light.matrix_world = _matrix(_light_pose(np.array(li.position), np.array(li.target)))
        else:
            self.light.hide_render = True

    def render(self, spec: SampleSpec, vertices: np.ndarray) -> Passes:
        """Render one sample.

        Args:
            spec: the sample (its hand side selects the mesh; camera size must match).
            vertices: ``(V, 3)`` posed vertices, world frame, metres.
        Returns:
            The four passes (see :class:`Passes`).
        """
        bpy = _bpy()
        self._update(spec, vertices)
        if self.exr_path.exists():
            self.exr_path.unlink()
        with _quiet_stdout():
            bpy.ops.render.render(write_still=True)
        ch = read_exr(self.exr_path)
        self.rendered += 1
        return self._passes(ch, spec)

    def _passes(self, ch: dict[str, np.ndarray], spec: SampleSpec) -> Passes:
        L = self.view_layer_name
        rgb_lin = np.stack([ch[f"{L}.Combined.{c}"] for c in "RGB"], axis=-1)
        if self.settings.exposure:
            rgb_lin = rgb_lin * 2.0 ** self.settings.exposure
        depth = ch[f"{L}.Depth.Z"].astype(np.float32)
        index = ch[f"{L}.Material Index.X"] if self.settings.engine == "cycles" else ch[f"{L}.{_PART_AOV}.X"]
        # Background: Cycles writes 1e10, EEVEE the far clip distance.
        hit = (depth < 0.99 * self.camera.data.clip_end) & (index > 0.5)
        depth = np.where(hit, depth, 0.0).astype(np.float32)
        parts = np.where(hit, np.rint(index), 0).astype(np.uint8)
        nc = np.zeros(depth.shape + (3,), dtype=np.float32)
        nw = np.stack([ch[f"{L}.Normal.{c}"][hit] for c in "XYZ"], axis=-1)
        n = nw @ spec.camera.world_to_cam[:3, :3].T.astype(np.float32)
        nc[hit] = n / np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
        info: dict = {}
        if spec.lighting.kind == "natural":  # auto exposure on the hand, soft highlights
            skin = spec.hand.skin
            albedo = float(np.dot(skin.back_color if skin is not None else spec.material.base_color,
                                  (0.2126, 0.7152, 0.0722)))
            hand = hit & (parts < 16)  # meter on the skin, not on a held object
            ev = auto_exposure(rgb_lin, hand, albedo)
            info["auto_exposure_stops"] = round(ev, 4)
            # the colour pipeline as applied (labels' render block): Blender's own view transform
            # is Standard at exposure 0; the exposure and the shoulder are applied here
            info.update(view_transform=FILMIC_VIEW_TRANSFORM, tone_mapping=FILMIC_TONE_MAPPING,
                        exposure_stops=round(float(self.settings.exposure) + ev, 4))
            return Passes(rgb=filmic_srgb8(rgb_lin * np.float32(2.0**ev)), depth=depth, parts=parts, normals=nc, info=info)
        info.update(view_transform=STANDARD_VIEW_TRANSFORM, tone_mapping="none",
                    exposure_stops=float(self.settings.exposure))
        return Passes(rgb=linear_to_srgb8(rgb_lin), depth=depth, parts=parts, normals=nc, info=info)

    def close(self) -> None:
        """Free the temporary directory (the Blender data stays until the next reset)."""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def _add_pattern_nodes(nt: Any, bsdf: Any) -> None:
    """Procedural colour pattern of an object material (:class:`PropMaterial` ``pattern``): world
    coordinates -> mapping (scale, yaw) -> wood-grain wave or noise -> mix of the base and pattern
    colours into the BSDF's base colour. ``synth_pattern_on`` = 0 gives the plain base colour."""
    N, L = nt.nodes, nt.links
    tc = N.new("ShaderNodeTexCoord")
    rot = N.new("ShaderNodeMapping")  # world -> the pattern's frame (yaw), then scale (grain stretch)
    rot.name = "synth_pattern_rot"
    L.new(tc.outputs["Object"], rot.inputs["Vector"])
    mp = N.new("ShaderNodeMapping")
    mp.name = "synth_pattern_map"
    L.new(rot.outputs["Vector"], mp.inputs["Vector"])
    wave = N.new("ShaderNodeTexWave")
    wave.wave_type, wave.bands_direction, wave.wave_profile = "BANDS", "Y", "SAW"
    wave.inputs["Scale"].default_value = 1.0
    wave.inputs["Distortion"].default_value = 8.0
    wave.inputs["Detail"].default_value = 6.0
    wave.inputs["Detail Scale"].default_value = 2.5
    L.new(mp.outputs["Vector"], wave.inputs["Vector"])
    noise = N.new("ShaderNodeTexNoise")
    noise.inputs["Scale"].default_value = 1.0
    noise.inputs["Detail"].default_value = 8.0
    noise.inputs["Distortion"].default_value = 0.6
    L.new(mp.outputs["Vector"], noise.inputs["Vector"])
    which = N.new("ShaderNodeMix")
    which.name = "synth_pattern_which"
    which.data_type = "FLOAT"
    L.new(wave.outputs["Fac"], which.inputs[2])
    L.new(noise.outputs["Fac"], which.inputs[3])
    on = N.new("ShaderNodeMath")
    on.name, on.operation = "synth_pattern_on", "MULTIPLY"
    on.inputs[1].default_value = 0.0
    L.new(which.outputs[0], on.inputs[0])
    base = N.new("ShaderNodeRGB")
    base.name = "synth_pattern_a"
    other = N.new("ShaderNodeRGB")
    other.name = "synth_pattern_b"
    col = N.new("ShaderNodeMix")
    col.data_type = "RGBA"
    L.new(on.outputs[0], col.inputs["Factor"])
    L.new(base.outputs[0], col.inputs[6])
    L.new(other.outputs[0], col.inputs[7])
    L.new(col.outputs[2], bsdf.inputs["Base Color"])


def _set_pattern(nt: Any, pm: Any) -> None:
    """Per-sample values of :func:`_add_pattern_nodes` from a :class:`PropMaterial`."""
    import math

    n = nt.nodes
    n["synth_pattern_a"].outputs[0].default_value = (*pm.base_color, 1.0)
    n["synth_pattern_b"].outputs[0].default_value = (*pm.pattern_color, 1.0)
    n["synth_pattern_on"].inputs[1].default_value = 1.0 if pm.pattern else 0.0
    n["synth_pattern_which"].inputs[0].default_value = 1.0 if pm.pattern == "noise" else 0.0
    sc = float(pm.pattern_scale)
    # Wood: bands across y, stretched 20x along x (the grain runs along the slab's long axis).
    n["synth_pattern_map"].inputs["Scale"].default_value = (sc * (0.05 if pm.pattern == "wave" else 1.0), sc, sc)
    n["synth_pattern_rot"].inputs["Rotation"].default_value = (0.0, 0.0, -math.radians(pm.pattern_yaw_deg))


def _part_materials(prefix: str, group: Any) -> dict[int, Any]:
    """One material per hand part id 1..7 using the shader node ``group``; the part id goes to
    the material-index pass (``pass_index``, Cycles) and to the part AOV (EEVEE)."""
    bpy = _bpy()
    out = {}
    for pid in range(1, 8):
        mat = bpy.data.materials.new(f"{prefix}{pid}")
        mat.use_nodes = True
        nt = mat.node_tree
        nt.nodes.clear()
        grp = nt.nodes.new("ShaderNodeGroup")
        grp.node_tree = group
        node_out = nt.nodes.new("ShaderNodeOutputMaterial")
        nt.links.new(grp.outputs[0], node_out.inputs["Surface"])
        aov_out = nt.nodes.new("ShaderNodeOutputAOV")
        aov_out.aov_name = _PART_AOV
        aov_out.inputs["Value"].default_value = float(pid)
        mat.pass_index = pid
        out[pid] = mat
    return out


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence Blender's own log lines (start-up and per frame, written by C code straight to file
    descriptor 1) unless ``synth -v`` (INFO logging) asks for them."""
    if logger.isEnabledFor(logging.INFO):
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _mark_sharp_edges(mesh, V: np.ndarray, F: np.ndarray, angle_deg: float = SHARP_EDGE_DEG) -> None:  # noqa: ANN001
    """Mark the mesh's edges whose faces meet at more than ``angle_deg`` as ``sharp_edge`` (so
    smooth shading keeps creases, e.g. a phone's screen edge or a mug's rim)."""
    fn = np.cross(V[F[:, 1]] - V[F[:, 0]], V[F[:, 2]] - V[F[:, 0]]).astype(np.float64)
    fn /= np.maximum(np.linalg.norm(fn, axis=1, keepdims=True), 1e-20)
    e = np.sort(np.stack([F[:, [0, 1]], F[:, [1, 2]], F[:, [2, 0]]], axis=1).reshape(-1, 2), axis=1)
    face = np.repeat(np.arange(len(F)), 3)
    key = e[:, 0].astype(np.int64) * (len(V) + 1) + e[:, 1]
    order = np.argsort(key, kind="stable")
    ks, fs = key[order], face[order]
    same = ks[1:] == ks[:-1]
    cos = (fn[fs[1:][same]] * fn[fs[:-1][same]]).sum(-1)
    sharp_keys = ks[1:][same][cos < np.cos(np.radians(angle_deg))]
    n_e = len(mesh.edges)
    ev = np.zeros(2 * n_e, dtype=np.int32)
    mesh.edges.foreach_get("vertices", ev)
    ev = np.sort(ev.reshape(-1, 2), axis=1)
    mask = np.isin(ev[:, 0].astype(np.int64) * (len(V) + 1) + ev[:, 1], sharp_keys)
    attr = mesh.attributes.get("sharp_edge") or mesh.attributes.new("sharp_edge", "BOOLEAN", "EDGE")
    attr.data.foreach_set("value", mask)


def _matrix(M: np.ndarray):  # noqa: ANN202
    mathutils = require("mathutils")
    return mathutils.Matrix([list(map(float, row)) for row in M])


def _light_pose(position: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``(4, 4)`` world matrix of a Blender light at ``position`` whose -Z axis faces ``target``."""
    from synth.scene.camera import look_at

    cv = np.linalg.inv(look_at(position, target))  # OpenCV camera (z forward) -> world
    return cv @ _CV_TO_BLENDER_CAM
