"""synth.farm."""
