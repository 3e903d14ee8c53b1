"""Malformed-hand defect twins with exact artifact masks (pure numpy; see :mod:`synth.defects.ops`,
:mod:`synth.defects.mask` and :mod:`synth.defects.twin`)."""
