"""synth.dataset."""
