"""synth.labels."""
