"""synth.hand."""
