"""synth.hand.models."""
