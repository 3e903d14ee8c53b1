"""``import synth`` (and the pure-numpy layers and the CLI) never import heavy dependencies."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("bpy", "torch", "anny", "ray", "smplx")


def test_import_synth_does_not_import_heavy_modules():
    code = (
        "import sys, synth, synth.cli, synth.hand.skinning, synth.hand.models, synth.scene.camera\n"
        "from synth.hand.models import load_model\n"
        "load_model('open-hand', 'right')\n"
        f"bad = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"heavy modules imported: {out.stdout.strip()}"


def test_missing_extra_error_names_the_extra():
    from synth._lazy import MissingDependencyError, require

    try:
        require("definitely_not_a_module_xyz")
    except MissingDependencyError as exc:
        assert "pip install" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected MissingDependencyError")
