"""Lazy imports of heavy optional dependencies with a clear error naming the extra."""

from __future__ import annotations

import importlib
from types import ModuleType

#: module name -> (pip extra, human description)
EXTRAS: dict[str, tuple[str, str]] = {
    "bpy": ("", "Blender as a Python module (core dependency 'bpy==5.0.*')"),
    "torch": ("mano", "PyTorch"),
    "smplx": ("mano", "the smplx package"),
    "anny": ("bake", "the anny package"),
    "ray": ("farm", "Ray"),
    "pycocotools": ("dev", "pycocotools"),
    "pyarrow": ("dev", "pyarrow"),
    "webdataset": ("dev", "webdataset"),
    "matplotlib": ("dev", "matplotlib"),
    "pyrender": ("", "pyrender (core dependency)"),
}


class MissingDependencyError(ImportError):
    """Raised when an optional dependency needed for a feature is not installed."""


def require(name: str) -> ModuleType:
    """Import module ``name`` or raise :class:`MissingDependencyError` naming the extra to install."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        extra, what = EXTRAS.get(name.split(".")[0], ("", name))
        hint = f"pip install 'synth-hands[{extra}]'" if extra else "pip install synth-hands"
        raise MissingDependencyError(f"{what} is required for this feature but is not installed: {hint} ({exc})") from exc
