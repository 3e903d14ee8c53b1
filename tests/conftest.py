"""Shared pytest configuration: headless defaults for every tier."""

from __future__ import annotations

import os

os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
