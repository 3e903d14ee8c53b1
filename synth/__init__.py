"""synth: synthetic hand data with exact labels.

Importing this package never imports ``bpy``, ``torch``, ``anny`` or ``ray``; the layers
that need them import them lazily (see :func:`synth._lazy.require`).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
