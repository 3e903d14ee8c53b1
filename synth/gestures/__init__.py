"""synth.gestures."""
