"""Hand models: the built-in open hand and user-imported rigs.

``load_model(name, side)`` returns a :class:`~synth.hand.rig.HandRig`. ``name`` is a built-in
model name (see :data:`BUILTIN`) or a path to a rig ``.npz`` (e.g. one written by
``synth models import-mano``).
"""

from __future__ import annotations

import functools
from pathlib import Path

from synth.hand.rig import HandRig, RigError, load_rig

ASSETS = Path(__file__).resolve().parents[3] / "assets" / "models"

#: built-in model name -> {side: file name in assets/models}
BUILTIN: dict[str, dict[str, str]] = {
    "open-hand": {"right": "open_hand_right.npz", "left": "open_hand_left.npz"},
}
SIDES = ("right", "left")


def assets_dir() -> Path:
    """The folder holding the built-in rig assets."""
    return ASSETS


@functools.lru_cache(maxsize=16)
def _load_cached(path: str) -> HandRig:
    return load_rig(path)


def load_model(name: str = "open-hand", side: str = "right") -> HandRig:
    """Load a hand model by built-in name or rig path; raises RigError / ValueError clearly."""
    if side not in SIDES:
        raise ValueError(f"side must be one of {', '.join(SIDES)}, got {side!r}")
    if name in BUILTIN:
        path = ASSETS / BUILTIN[name][side]
        if not path.exists():
            raise RigError(f"built-in model file missing: {path} (rebuild with `synth models bake-open-hand`)")
        return _load_cached(str(path))
    p = Path(name)
    if p.suffix == ".npz" or p.exists():
        rig = _load_cached(str(p.resolve()))
        if rig.side != side:
            raise RigError(f"{p} is a {rig.side} hand, but side={side!r} was asked for")
        return rig
    raise ValueError(f"unknown hand model {name!r}; built-in models: {', '.join(BUILTIN)} (or a rig .npz path)")


def list_models() -> list[dict[str, object]]:
    """Built-in models with their sides and whether the asset files are present."""
    return [
        {"name": n, "sides": [s for s in SIDES if (ASSETS / files[s]).exists()]}
        for n, files in BUILTIN.items()
    ]
