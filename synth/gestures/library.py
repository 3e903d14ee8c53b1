"""The gesture library: named static hand poses in anatomical angles (``assets/gestures/*.yaml``).

Each YAML file is a list of gestures. A gesture has ``name`` (unique, snake_case),
``category``, ``description`` (one line), ``tags`` (list), ``contacts`` (finger pads that touch
each other, e.g. ``[thumb, index]``, or a list of such groups; ``[]`` for none), an optional
``object_size_cm`` (grasps: the diameter/width of the held object) and the pose, in degrees
relative to the flat, open, relaxed hand (:mod:`synth.hand.anatomy`). The pose may be written in
any mix of three notations, applied in this order (later ones override earlier ones):

``fingers``  (compact) finger -> shorthand:
    * index/middle/ring/pinky: ``[mcp, pip, dip]`` flexion, or ``[mcp, pip, dip, abd]``; or a
      word from :data:`FINGER_WORDS` (``extended``, ``relaxed``, ``slightly_bent``, ``bent``,
      ``curled``, ``fist``, ``hook``, ``tabletop``, ``claw``, ``hyperextended``).
    * thumb: ``[cmc_flex, cmc_abd, mcp_flex, ip_flex]`` or with a fifth value ``cmc_twist``;
      or a word from :data:`THUMB_WORDS`.
    Fingers not named are ``relaxed`` unless ``default: extended`` (or another word) is given.
``spread``  one number ``s`` (degrees): abduction of index ``s``, middle ``0``, ring ``0.8 s``,
    pinky ``1.2 s`` (negative ``s`` presses the fingers together); a finger's own abd wins.
``wrist``  ``[flex, deviation, twist]``.
``joints``  (explicit) joint name -> ``{flex, abd, twist}`` (any subset), exactly as
    :func:`synth.hand.anatomy.as_pose` reads them.

Every resulting angle must lie within :data:`synth.hand.anatomy.LIMITS` (checked on load).
"""

from __future__ import annotations

import difflib
import functools
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from synth.hand import anatomy

logger = logging.getLogger(__name__)

#: Default location of the shipped gesture files.
ASSET_DIR = Path(__file__).resolve().parents[2] / "assets" / "gestures"

#: Finger shorthand words -> (mcp, pip, dip) flexion, degrees.
FINGER_WORDS: dict[str, tuple[float, float, float]] = {
    "extended": (0.0, 0.0, 0.0),
    "hyperextended": (-15.0, 0.0, -5.0),
    "relaxed": (12.0, 18.0, 10.0),
    "slightly_bent": (20.0, 30.0, 18.0),
    "bent": (45.0, 60.0, 35.0),
    "curled": (80.0, 95.0, 60.0),
    "fist": (85.0, 100.0, 65.0),
    "hook": (5.0, 95.0, 70.0),
    "tabletop": (85.0, 0.0, 0.0),
    "claw": (-10.0, 75.0, 60.0),
}

#: Thumb shorthand words -> (cmc_flex, cmc_abd, mcp_flex, ip_flex), degrees.
THUMB_WORDS: dict[str, tuple[float, float, float, float]] = {
    "extended": (0.0, 0.0, 0.0, 0.0),
    "abducted": (0.0, 45.0, 0.0, 0.0),
    "relaxed": (10.0, 20.0, 10.0, 10.0),
    "adducted": (10.0, -5.0, 5.0, 0.0),
    "up": (-5.0, 25.0, 0.0, -10.0),
    "across": (40.0, 20.0, 45.0, 25.0),
    "tucked": (45.0, 25.0, 55.0, 40.0),
    "over_fingers": (30.0, 35.0, 40.0, 25.0),
}

_FINGER_KEYS = ("thumb", "index", "middle", "ring", "pinky")
_SPREAD = {"index": 1.0, "middle": 0.0, "ring": 0.8, "pinky": 1.2}
_KNOWN_KEYS = {
    "name", "category", "description", "tags", "contacts", "object_size_cm",
    "fingers", "spread", "wrist", "joints", "default", "features",
}  # fmt: skip
_FEATURE_KEYS = ("apart", "crossed", "thumb")
_THUMB_FEATURES = ("beside", "over")


class GestureError(ValueError):
    """A gesture file is malformed, or a gesture name is unknown."""


@dataclass(frozen=True)
class Gesture:
    """One named static gesture.

    Attributes:
        name: unique snake_case name.
        category: e.g. ``grasp``, ``sign``, ``emblem``, ``device``, ``counting``.
        description: one line.
        tags: free keywords.
        contacts: groups of fingers whose pads touch (each a tuple of finger names).
        pose: ``(16, 3)`` anatomical angles in degrees.
        object_size_cm: size of the held object (grasps), else None.
        source: the YAML file it came from.
        features: the sign features that tell it from similar gestures
            (:mod:`synth.gestures.contact`): ``apart`` / ``crossed`` (lists of finger pairs),
            ``thumb`` (``beside`` or ``over``).
    """

    name: str
    category: str
    description: str
    tags: tuple[str, ...]
    contacts: tuple[tuple[str, ...], ...]
    pose: np.ndarray
    object_size_cm: float | None = None
    source: str = ""
    features: dict[str, object] = field(default_factory=dict)

    def to_dict(self, with_pose: bool = False) -> dict[str, object]:
        """A JSON-ready dict (angles as ``{joint: [flex, abd, twist]}`` when ``with_pose``)."""
        d: dict[str, object] = {
            "name": self.name,
            "category": self.category,
            "description": self.description,
            "tags": list(self.tags),
            "contacts": [list(c) for c in self.contacts],
        }
        if self.object_size_cm is not None:
            d["object_size_cm"] = self.object_size_cm
        if self.features:
            d["features"] = self.features
        if with_pose:
            d["pose_deg"] = {j: [round(float(x), 3) for x in self.pose[i]] for i, j in enumerate(anatomy.JOINTS)}
        return d


@dataclass(frozen=True)
class GestureLibrary:
    """An ordered, name-indexed collection of gestures."""

    gestures: tuple[Gesture, ...]
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for i, g in enumerate(self.gestures):
            if g.name in self._index:
                raise GestureError(f"duplicate gesture name {g.name!r} ({g.source} and "
                                   f"{self.gestures[self._index[g.name]].source})")
            self._index[g.name] = i

    def __len__(self) -> int:
        return len(self.gestures)

    def __iter__(self) -> Iterator[Gesture]:
        return iter(self.gestures)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    @property
    def names(self) -> list[str]:
        return [g.name for g in self.gestures]

    @property
    def categories(self) -> list[str]:
        return sorted({g.category for g in self.gestures})

    def get(self, name: str) -> Gesture:
        """The gesture called ``name``; unknown names raise :class:`GestureError` with close matches."""
        if name in self._index:
            return self.gestures[self._index[name]]
        close = difflib.get_close_matches(name, self.names, n=5, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `synth gestures list`"
        raise GestureError(f"unknown gesture {name!r}{hint}")

    def index(self, name: str) -> int:
        """Position of gesture ``name`` in the library."""
        self.get(name)
        return self._index[name]

    def in_category(self, category: str) -> list[Gesture]:
        """Gestures of one category; an unknown category raises :class:`GestureError`."""
        out = [g for g in self.gestures if g.category == category]
        if not out:
            close = difflib.get_close_matches(category, self.categories, n=3, cutoff=0.4)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise GestureError(f"unknown category {category!r}{hint} (categories: {', '.join(self.categories)})")
        return out

    def poses(self) -> np.ndarray:
        """All canonical poses, ``(G, 16, 3)`` degrees, library order."""
        return np.stack([g.pose for g in self.gestures])


def _num_list(val: object, n: tuple[int, ...], where: str) -> list[float]:
    if not isinstance(val, list | tuple) or len(val) not in n:
        raise GestureError(f"{where}: expected a list of {' or '.join(map(str, n))} numbers, got {val!r}")
    try:
        return [float(x) for x in val]
    except (TypeError, ValueError) as exc:
        raise GestureError(f"{where}: non-numeric value in {val!r}") from exc


def expand_pose(entry: dict[str, object], where: str = "gesture") -> np.ndarray:
    """Expand one gesture entry's pose notations (see module docstring) to ``(16, 3)`` degrees."""
    pose = anatomy.zero_pose()
    J = anatomy.JOINT_INDEX
    default = entry.get("default", "relaxed")
    fingers = entry.get("fingers") or {}
    if not isinstance(fingers, dict):
        raise GestureError(f"{where}: 'fingers' must be a mapping finger -> shorthand")
    for f in fingers:
        if f not in _FINGER_KEYS:
            raise GestureError(f"{where}: unknown finger {f!r}; expected one of {', '.join(_FINGER_KEYS)}")
    explicit_abd: set[str] = set()
    for f in _FINGER_KEYS:
        spec = fingers.get(f, default)
        if f == "thumb":
            if isinstance(spec, str):
                if spec not in THUMB_WORDS:
                    raise GestureError(f"{where}: unknown thumb word {spec!r}; expected one of "
                                       f"{', '.join(THUMB_WORDS)}")
                vals = list(THUMB_WORDS[spec])
            else:
                vals = _num_list(spec, (4, 5), f"{where}.fingers.thumb")
            pose[J["thumb_cmc"], 0] = vals[0]
            pose[J["thumb_cmc"], 1] = vals[1]
            pose[J["thumb_mcp"], 0] = vals[2]
            pose[J["thumb_ip"], 0] = vals[3]
            if len(vals) == 5:
                pose[J["thumb_cmc"], 2] = vals[4]
            continue
        if isinstance(spec, str):
            if spec not in FINGER_WORDS:
                raise GestureError(f"{where}: unknown finger word {spec!r}; expected one of "
                                   f"{', '.join(FINGER_WORDS)}")
            vals = list(FINGER_WORDS[spec])
        else:
            vals = _num_list(spec, (3, 4), f"{where}.fingers.{f}")
        for k, jn in enumerate(("mcp", "pip", "dip")):
            pose[J[f"{f}_{jn}"], 0] = vals[k]
        if len(vals) == 4:
            pose[J[f"{f}_mcp"], 1] = vals[3]
            explicit_abd.add(f)
    spread = entry.get("spread")
    if spread is not None:
        s = float(spread)  # type: ignore[arg-type]
        for f, w in _SPREAD.items():
            if f not in explicit_abd:
                pose[J[f"{f}_mcp"], 1] = w * s
    wrist = entry.get("wrist")
    if wrist is not None:
        pose[J["wrist"]] = _num_list(wrist, (3,), f"{where}.wrist")
    joints = entry.get("joints")
    if joints:
        if not isinstance(joints, dict):
            raise GestureError(f"{where}: 'joints' must be a mapping joint -> {{flex, abd, twist}}")
        base = pose.copy()
        try:
            over = anatomy.as_pose(joints)
        except ValueError as exc:
            raise GestureError(f"{where}: {exc}") from exc
        for name, val in joints.items():
            i = J[name]
            dofs = val.keys() if isinstance(val, dict) else anatomy.DOFS
            for d in dofs:
                k = anatomy.DOFS.index(d)
                base[i, k] = over[i, k]
        pose = base
    return pose


def _parse_contacts(val: object, where: str) -> tuple[tuple[str, ...], ...]:
    if val is None or val == []:
        return ()
    if not isinstance(val, list):
        raise GestureError(f"{where}: 'contacts' must be a list")
    groups = val if all(isinstance(v, list) for v in val) else [val]
    out = []
    for g in groups:
        for f in g:
            if f not in _FINGER_KEYS and f != "palm":
                raise GestureError(f"{where}: unknown contact {f!r}; expected finger names or 'palm'")
        out.append(tuple(str(f) for f in g))
    return tuple(out)


def _parse_features(val: object, where: str) -> dict[str, object]:
    if val is None:
        return {}
    if not isinstance(val, dict):
        raise GestureError(f"{where}: 'features' must be a mapping (apart, crossed, thumb)")
    out: dict[str, object] = {}
    for k, v in val.items():
        if k not in _FEATURE_KEYS:
            raise GestureError(f"{where}: unknown feature {k!r}; expected one of {', '.join(_FEATURE_KEYS)}")
        if k == "thumb":
            if v not in _THUMB_FEATURES:
                raise GestureError(f"{where}: features.thumb must be one of {', '.join(_THUMB_FEATURES)}, got {v!r}")
            out[k] = str(v)
            continue
        if not isinstance(v, list) or not all(isinstance(p, list) and len(p) == 2 for p in v):
            raise GestureError(f"{where}: features.{k} must be a list of finger pairs, e.g. [[index, middle]]")
        for p in v:
            for f in p:
                if f not in _FINGER_KEYS:
                    raise GestureError(f"{where}: features.{k}: unknown finger {f!r}")
        out[k] = [tuple(str(f) for f in p) for p in v]
    return out


def parse_gesture(entry: dict[str, object], source: str = "") -> Gesture:
    """Validate one YAML entry and build a :class:`Gesture` (angles checked against LIMITS)."""
    if not isinstance(entry, dict):
        raise GestureError(f"{source}: each gesture must be a mapping, got {type(entry).__name__}")
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise GestureError(f"{source}: gesture without a name: {entry!r}"[:200])
    where = f"{source}:{name}"
    unknown = set(entry) - _KNOWN_KEYS
    if unknown:
        raise GestureError(f"{where}: unknown keys {sorted(unknown)}")
    for key in ("category", "description"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise GestureError(f"{where}: missing '{key}'")
    tags = entry.get("tags") or []
    if not isinstance(tags, list):
        raise GestureError(f"{where}: 'tags' must be a list")
    pose = expand_pose(entry, where)
    bad = anatomy.violations(pose)
    if bad:
        raise GestureError(f"{where}: angles outside the joint limits: {'; '.join(bad)}")
    size = entry.get("object_size_cm")
    return Gesture(
        name=name,
        category=str(entry["category"]),
        description=str(entry["description"]),
        tags=tuple(str(t) for t in tags),
        contacts=_parse_contacts(entry.get("contacts"), where),
        pose=pose,
        object_size_cm=None if size is None else float(size),  # type: ignore[arg-type]
        source=source,
        features=_parse_features(entry.get("features"), where),
    )


def load_file(path: str | Path) -> list[Gesture]:
    """Parse one gesture YAML file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise GestureError(f"{path}: invalid YAML: {exc}".splitlines()[0]) from exc
    if not isinstance(data, list):
        raise GestureError(f"{path}: expected a list of gestures at the top level")
    return [parse_gesture(e, path.name) for e in data]


def load_library(paths: Iterable[str | Path] | None = None) -> GestureLibrary:
    """Load gesture files (default: every ``*.yaml`` in :data:`ASSET_DIR`, sorted by name)."""
    if paths is None:
        return _default_library()
    gestures: list[Gesture] = []
    for p in paths:
        gestures.extend(load_file(p))
    return GestureLibrary(tuple(gestures))


@functools.lru_cache(maxsize=1)
def _default_library() -> GestureLibrary:
    files = sorted(ASSET_DIR.glob("*.yaml"))
    if not files:
        raise GestureError(f"no gesture files found in {ASSET_DIR}")
    lib = load_library(files)
    logger.debug("loaded %d gestures from %d files", len(lib), len(files))
    return lib
