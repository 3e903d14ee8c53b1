"""Render a sample again with another hand topology in the same, already built Blender scene.

Used for defect twins (:mod:`synth.defects`): camera, lights, world, skin material and props
are left as :meth:`BlenderRenderer.render` set them for the correct sample; only the hand object
is swapped for a second object (built once per side, its mesh data replaced per twin) for the
duration of one render.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synth.render.types import HandMesh, Passes
from synth.scene.spec import SampleSpec

_TWIN = "synth_hand_{side}_twin"


def _fill(bpy: Any, name: str, hm: HandMesh, materials: list[Any]) -> Any:
    from synth.render.blender import appearance

    F = hm.faces.shape[0]
    V = int(hm.faces.max()) + 1
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(V)
    mesh.loops.add(3 * F)
    mesh.polygons.add(F)
    mesh.loops.foreach_set("vertex_index", hm.faces.astype(np.int32).ravel())
    mesh.polygons.foreach_set("loop_start", np.arange(0, 3 * F, 3, dtype=np.int32))
    mesh.polygons.foreach_set("loop_total", np.full(F, 3, dtype=np.int32))
    mesh.polygons.foreach_set("use_smooth", np.ones(F, dtype=bool))
    for m in materials:
        mesh.materials.append(m)
    mesh.polygons.foreach_set("material_index", hm.face_parts.astype(np.int32) - 1)
    if hm.face_uvs is not None:
        uv = mesh.uv_layers.new(name="UVMap")
        uv.data.foreach_set("uv", hm.face_uvs.astype(np.float32).ravel())
    mesh.update(calc_edges=True)
    if hm.palm is not None and hm.nail is not None:
        appearance.add_skin_attributes(mesh, hm.palm, hm.nail, hm.crease_t, hm.crease_w)
    return mesh


def render_with_mesh(renderer: Any, spec: SampleSpec, hm: HandMesh, vertices: np.ndarray) -> Passes:
    """Render ``spec`` with the hand drawn as ``hm`` posed at ``vertices`` ``(V', 3)`` world metres.

    The renderer's own hand object is hidden and restored afterwards, so the next
    :meth:`render` is unaffected.
    """
    from synth.render.blender.renderer import _bpy

    bpy = _bpy()
    side = spec.hand.side
    main = renderer.objects[side]
    twins = renderer.__dict__.setdefault("_twin_objects", {})
    mesh = _fill(bpy, _TWIN.format(side=side), hm, list(main.data.materials))
    if side in twins:
        obj = twins[side]
        old = obj.data
        obj.data = mesh
        bpy.data.meshes.remove(old)
    else:
        obj = bpy.data.objects.new(_TWIN.format(side=side), mesh)
        renderer.scene.collection.objects.link(obj)
        twins[side] = obj
    main.hide_render = True
    renderer.objects[side] = obj
    try:
        return renderer.render(spec, vertices)
    finally:
        renderer.objects[side] = main
        obj.hide_render = True
        main.hide_render = False
