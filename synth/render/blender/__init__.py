"""synth.render.blender."""
