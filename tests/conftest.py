"""Shared pytest configuration: headless defaults for every tier, strict extras in CI, and the
``torchref`` split.

- ``torchref``: tests that run PyTorch reference implementations (anny, smplx/MANO, the torch
  data loader). PyTorch and bpy loaded into one process can crash it (issue 12, item 11), so the
  default run deselects them (``-m "not torchref"`` in ``addopts``) and the README's test command
  runs them in a second process (``python -m pytest -q -m torchref``). Tests marked ``mano`` or
  ``bake`` are torch reference tests and get the marker automatically.
- In CI (``CI=true``), ``pytest.importorskip`` of a package that CI installs (:data:`CI_INSTALLED`,
  plus the comma-separated names in ``SYNTH_CI_REQUIRED``) imports it for real: a broken or
  missing install fails the test instead of skipping it silently.
"""

from __future__ import annotations

import importlib
import os

import pytest

os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

#: Packages `.ci/run` installs (the dev, mano, bake and farm extras and the core dependencies).
CI_INSTALLED = frozenset({
    "bpy", "torch", "smplx", "anny", "ray", "trimesh", "scipy", "pycocotools", "webdataset", "pyarrow",
    "datasets", "matplotlib", "pyrender", "cv2", "rtree", "PIL", "yaml", "playwright",
})  # fmt: skip


def in_ci() -> bool:
    """True under CI (``CI`` set to ``true``/``1``/``yes``)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def ci_required() -> frozenset[str]:
    extra = {m.strip() for m in os.environ.get("SYNTH_CI_REQUIRED", "").split(",") if m.strip()}
    return CI_INSTALLED | extra


_importorskip = pytest.importorskip


def strict_importorskip(modname: str, minversion: str | None = None, reason: str | None = None, **kw: object):  # noqa: ANN201
    """``pytest.importorskip``, except that in CI a package CI installs must import (the import
    error fails the test)."""
    if in_ci() and modname.split(".")[0] in ci_required():
        try:
            return importlib.import_module(modname)
        except ImportError as exc:
            pytest.fail(f"CI installs {modname!r}, but it does not import: {exc}", pytrace=False)
    return _importorskip(modname, minversion=minversion, reason=reason, **kw)


pytest.importorskip = strict_importorskip  # type: ignore[assignment]


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("mano") or item.get_closest_marker("bake"):
            item.add_marker(pytest.mark.torchref)
