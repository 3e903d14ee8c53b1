"""synth.render: renderers and the job loop.

* :mod:`synth.render.job` -- ``run_job(cfg)``: plan -> pose -> render -> labels -> dataset writer.
* :mod:`synth.render.blender` -- Cycles/EEVEE through ``bpy`` (the only modules importing bpy).
* :mod:`synth.render.raster` -- pyrender backend (labels and a preview image).
* :mod:`synth.render.exr` -- reader for Blender's multi-part EXR files.
* :mod:`synth.render.cli` -- the ``synth render`` command.

Two runtimes run the same code: the ``bpy`` module in any Python 3.11 process (``synth
render``), and a Blender 5.0 binary through ``blender -b -P blender_scripts/render_shard.py --
ARGS`` (see that script's docstring).
"""
