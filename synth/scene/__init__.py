"""synth.scene."""
