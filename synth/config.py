"""Job configuration: typed dataclasses, YAML loading, dotted overrides, validation.

A job is described by one :class:`JobConfig` (plain nested dataclasses). It can be built from
defaults, a YAML file (``--config job.yaml``) and dotted overrides (``--set render.samples=16``),
applied in that order, and is stored resolved in ``dataset.json`` so a dataset can be re-created
or resumed. Every value is type-checked and range-checked; a bad value raises
:class:`ConfigError` with a one-line message naming the key.

Example YAML::

    seed: 0
    count: 1000
    render: {resolution: 256, preset: standard, device: cpu}
    hand: {side: both, gestures: [fist, ok_sign]}
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from synth.jsonable import to_jsonable
from synth.passes import PASSES
from synth.scene.lighting import LightingConfig
from synth.scene.post import PostConfig
from synth.scene.viewpoint import ViewpointConfig

CONFIG_VERSION = 1

#: Quality presets: Cycles samples per pixel, whether OpenImageDenoise runs, and its quality
#: and prefilter (``FAST`` prefiltering skips denoising the albedo/normal guides: about 1.5 s
#: less per 256 px image on 2 cores).
PRESETS: dict[str, dict[str, Any]] = {
    "draft": {"samples": 4, "denoise": True, "denoise_quality": "FAST", "denoise_prefilter": "FAST"},
    "standard": {"samples": 32, "denoise": True, "denoise_quality": "BALANCED", "denoise_prefilter": "FAST"},
    "high": {"samples": 128, "denoise": True, "denoise_quality": "HIGH", "denoise_prefilter": "ACCURATE"},
}


class ConfigError(ValueError):
    """An invalid configuration value, key or file (one-line message)."""


@dataclass
class RenderConfig:
    """How images are rendered.

    Attributes:
        renderer: ``blender`` (Cycles/EEVEE through bpy) or ``raster`` (pyrender: labels and a
            simple shaded RGB).
        engine: ``cycles`` or ``eevee`` (EEVEE is for GPU machines).
        device: ``cpu`` or ``gpu`` (OptiX, else CUDA, else HIP/oneAPI; fails if none).
        preset: ``draft`` / ``standard`` / ``high`` (see :data:`PRESETS`).
        samples: samples per pixel; overrides the preset when set.
        denoise: run OpenImageDenoise; overrides the preset when set.
        resolution: square image side in pixels (used when width/height are unset).
        width, height: image size in pixels (override ``resolution``).
        filter_width: pixel-filter width in pixels (None: 1.5 for Cycles, 0.01 for EEVEE).
            Cycles takes its label passes (depth, material index) from the first sample of each
            pixel, unfiltered, so they stay exact with the default Blackman-Harris 1.5 px filter
            (measured: depth within 0.03 mm of a pixel-centre ray cast) while RGB is
            antialiased. EEVEE filters every pass, so its labels are only exact with a tiny
            filter (0.01 px, no antialiasing).
        threads: CPU render threads (0: all cores).
        persistent_data: keep Cycles' scene data between samples.
        recycle_after: samples rendered by one process before its Blender data is rebuilt
            (bounds memory growth; 0 disables).
        exposure: view exposure (stops).
    """

    renderer: str = "blender"
    engine: str = "cycles"
    device: str = "cpu"
    preset: str = "draft"
    samples: int | None = None
    denoise: bool | None = None
    resolution: int = 128
    width: int | None = None
    height: int | None = None
    filter_width: float | None = None
    threads: int = 0
    persistent_data: bool = True
    recycle_after: int = 0
    exposure: float = 0.0

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return (self.width or self.resolution, self.height or self.resolution)

    @property
    def effective_filter_width(self) -> float:
        if self.filter_width is not None:
            return float(self.filter_width)
        return 1.5 if self.engine == "cycles" else 0.01

    @property
    def effective_samples(self) -> int:
        return int(self.samples if self.samples is not None else PRESETS[self.preset]["samples"])

    @property
    def effective_denoise(self) -> bool:
        return bool(self.denoise if self.denoise is not None else PRESETS[self.preset]["denoise"])


@dataclass
class HandConfig:
    """Which hands and poses.

    Attributes:
        model: hand model name for :func:`synth.hand.models.load_model`.
        side: ``right``, ``left`` or ``both`` (each sample draws one side).
        gestures: gesture names to draw from (empty: all available / free poses).
        shape: ``random`` (uniform in the rig's shape range) or ``default``.
        pose_source: ``auto`` or ``gestures`` (the gesture sampler, :mod:`synth.gestures.sampler`)
            or ``free`` (uniform in ``pose_range``).
        pose_range: fraction of each joint's anatomical range used for free poses.
        gesture_weights: relative weight of drawing each library gesture as a sample's gesture
            (names from ``synth gestures list``, weights >= 0; a gesture not listed weighs 1).
            Empty (the default) or all-equal: uniform, drawn exactly as before the knob existed.
            ``synth review suggest`` writes it from reject rates. On the command line:
            ``--set 'hand.gesture_weights={fist: 0.2}'``.
    """

    model: str = "open-hand"
    side: str = "right"
    gestures: list[str] = field(default_factory=list)
    shape: str = "random"
    pose_source: str = "auto"
    pose_range: float = 0.6
    gesture_weights: dict[str, float] = field(default_factory=dict)

    @property
    def sides(self) -> tuple[str, ...]:
        """The sides a sample can draw (``both``: right and left)."""
        return ("right", "left") if self.side == "both" else (self.side,)


@dataclass
class AppearanceConfig:
    """Skin appearance (see :mod:`synth.scene.skin`).

    Attributes:
        skin: ``monk`` (melanin/haemoglobin skin across the 10 Monk steps, lighter palms,
            nails, pores) or ``basic`` (four flat tones).
        monk_weights: 10 weights of Monk steps 1..10 (balance the tone distribution).
        polish_prob: probability of nail polish.
    """

    skin: str = "monk"
    monk_weights: list[float] = field(default_factory=lambda: [1.0] * 10)
    polish_prob: float = 0.1


@dataclass
class PropsConfig:
    """Held objects (:mod:`synth.props`): the hand holds a procedural prop in a fitted grasp.

    Attributes:
        grasp_fraction: fraction of the samples whose drawn gesture closes on an object (a Feix
            grasp, or a device gesture such as ``holding_cup``:
            :data:`synth.props.holding.HOLDING_GESTURES`) that hold a fitted object (default 1:
            grasps hold what fits them, falling back to another grasp or prop, see
            :mod:`synth.props.holding`).
        fraction: fraction of the other samples (signs, emblems, counting...) whose hand holds an
            object, in a fitted grasp that replaces the drawn pose (default 0.1). With both
            defaults 0.39 of the default job's samples hold an object
            (``benchmarks/bench_holding.py``); both 0 gives the samples of a job without props.
            Drawn per sample from its own stream ``props`` (:mod:`synth.rng`), independent of the
            rest of the sample.
        names: props to draw from (empty: all of :data:`synth.props.PROP_NAMES`).
    """

    grasp_fraction: float = 1.0
    fraction: float = 0.1
    names: list[str] = field(default_factory=list)


@dataclass
class AccessoriesConfig:
    """Worn accessories (:mod:`synth.scene.accessories`), natural planning only.

    Drawn per sample from its own stream ``accessories`` (:mod:`synth.rng`), so the rest of the
    sample does not depend on these probabilities; all 0 gives exactly the samples of a job
    without accessories. Accessories get part ids after the held objects (16 + n_objects + k).

    Attributes:
        sleeve_prob: probability of a cloth sleeve over the forearm.
        watch_prob: probability of a wrist watch.
        bracelet_prob: probability of a bracelet (not with a watch).
        ring_prob: probability of a ring on one finger.
    """

    sleeve_prob: float = 0.3
    watch_prob: float = 0.15
    bracelet_prob: float = 0.1
    ring_prob: float = 0.2

    def probs(self) -> dict[str, float]:
        """Probability per accessory kind."""
        return {"sleeve": self.sleeve_prob, "watch": self.watch_prob, "bracelet": self.bracelet_prob,
                "ring": self.ring_prob}


@dataclass
class DefectsConfig:
    """Malformed-hand defect twins (:mod:`synth.defects`).

    Attributes:
        fraction: fraction of samples that also get a defect twin, rendered in the same scene
            and written to ``OUT/twins/`` with the same id (0: none). Drawn per sample from its
            own stream ``defects`` (:mod:`synth.rng`), so the correct samples never change.
    """

    fraction: float = 0.0


@dataclass
class OutputConfig:
    """What is written per sample.

    Attributes:
        save_mesh: also write ``mesh/ID.npz`` with the exact rendered geometry (world frame).
        passes: passes to write (names in :data:`synth.passes.PASSES`; default all of them).
    """

    save_mesh: bool = False
    passes: list[str] = field(default_factory=lambda: list(PASSES))


@dataclass
class JobConfig:
    """A whole rendering job: sample ``i`` depends only on ``(seed, i)`` and this config.

    Attributes:
        seed: job seed.
        count: number of samples (ids ``start .. start + count - 1``).
        start: first sample id.
        out: output dataset directory (may be set by the CLI).
    """

    seed: int = 0
    count: int = 8
    start: int = 0
    out: str | None = None
    render: RenderConfig = field(default_factory=RenderConfig)
    hand: HandConfig = field(default_factory=HandConfig)
    camera: ViewpointConfig = field(default_factory=ViewpointConfig)
    lighting: LightingConfig = field(default_factory=LightingConfig)
    appearance: AppearanceConfig = field(default_factory=AppearanceConfig)
    post: PostConfig = field(default_factory=PostConfig)
    props: PropsConfig = field(default_factory=PropsConfig)
    accessories: AccessoriesConfig = field(default_factory=AccessoriesConfig)
    defects: DefectsConfig = field(default_factory=DefectsConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    version: int = CONFIG_VERSION

    # ---- construction ------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobConfig:
        """Build and validate a config from a (possibly partial) nested dict."""
        cfg = _build(cls, data, "")
        cfg.validate()
        return cfg

    @classmethod
    def load(cls, path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> JobConfig:
        """Load a YAML file, then apply dotted ``key=value`` overrides."""
        return apply_overrides(cls.from_dict(load_yaml(path)), overrides)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (JSON/YAML-safe, tuples as lists)."""
        return to_jsonable(dataclasses.asdict(self))

    def replace(self, **changes: Any) -> JobConfig:
        """A validated copy with top-level fields replaced."""
        cfg = dataclasses.replace(self, **changes)
        cfg.validate()
        return cfg

    # ---- validation --------------------------------------------------------------------
    def validate(self) -> None:
        """Raise :class:`ConfigError` on the first invalid value."""
        r, h, c, li = self.render, self.hand, self.camera, self.lighting

        def need(cond: bool, key: str, msg: str) -> None:
            if not cond:
                raise ConfigError(f"{key}: {msg}")

        need(self.version == CONFIG_VERSION, "version", f"this synth reads config version {CONFIG_VERSION}")
        need(0 <= self.seed < 2**63, "seed", "must be a non-negative integer")
        need(self.count >= 0, "count", "must be >= 0")
        need(self.start >= 0, "start", "must be >= 0")
        need(r.renderer in ("blender", "raster"), "render.renderer", f"must be blender or raster, got {r.renderer!r}")
        need(r.engine in ("cycles", "eevee"), "render.engine", f"must be cycles or eevee, got {r.engine!r}")
        need(r.device in ("cpu", "gpu"), "render.device", f"must be cpu or gpu, got {r.device!r}")
        need(r.preset in PRESETS, "render.preset", f"must be one of {', '.join(PRESETS)}, got {r.preset!r}")
        need(r.samples is None or 1 <= r.samples <= 65536, "render.samples", "must be in 1..65536")
        for key, v in (("render.resolution", r.resolution), ("render.width", r.width), ("render.height", r.height)):
            need(v is None or 8 <= v <= 16384, key, f"must be in 8..16384 pixels, got {v}")
        need(r.filter_width is None or 0.01 <= r.filter_width <= 10, "render.filter_width", "must be in 0.01..10 pixels")
        need(r.threads >= 0, "render.threads", "must be >= 0")
        need(r.recycle_after >= 0, "render.recycle_after", "must be >= 0")
        need(h.side in ("right", "left", "both"), "hand.side", f"must be right, left or both, got {h.side!r}")
        need(h.shape in ("random", "default"), "hand.shape", f"must be random or default, got {h.shape!r}")
        need(h.pose_source in ("auto", "gestures", "free"), "hand.pose_source",
             f"must be auto, gestures or free, got {h.pose_source!r}")
        need(0.0 <= h.pose_range <= 1.0, "hand.pose_range", "must be in 0..1")
        need(all(isinstance(g, str) and g for g in h.gestures), "hand.gestures", "must be a list of names")
        for g, w in h.gesture_weights.items():
            need(isinstance(w, float) and math.isfinite(w) and w >= 0, f"hand.gesture_weights.{g}",
                 f"must be a finite number >= 0, got {w!r}")
        if h.gesture_weights:
            from synth.gestures.library import load_library

            lib = load_library()
            unknown = [g for g in h.gesture_weights if g not in lib.names]
            need(not unknown, "hand.gesture_weights",
                 f"unknown gesture(s) {', '.join(map(str, unknown))}; see `synth gestures list`")
            drawn = h.gestures or lib.names
            need(sum(h.gesture_weights.get(g, 1.0) for g in drawn) > 0, "hand.gesture_weights",
                 "every gesture that can be drawn has weight 0")
        for key, (lo, hi), lim in (("camera.distance", c.distance, (0.05, 100.0)), ("camera.fov", c.fov, (1.0, 170.0)),
                                   ("camera.elevation", c.elevation, (-90.0, 90.0)),
                                   ("lighting.world_strength", li.world_strength, (0.0, 100.0)),
                                   ("lighting.key_power", li.key_power, (0.0, 1e5))):
            need(lim[0] <= lo <= hi <= lim[1], key, f"must be (min, max) with {lim[0]} <= min <= max <= {lim[1]}")
        need(0.0 <= c.jitter <= 1.0, "camera.jitter", "must be in 0..1")
        for key, section in (("camera", c), ("lighting", li), ("post", self.post)):  # the sections' own checks
            try:
                section.__post_init__()
            except ValueError as exc:
                raise ConfigError(_section_error(key, exc, section)) from exc
        a = self.appearance
        need(a.skin in ("monk", "basic"), "appearance.skin", f"must be monk or basic, got {a.skin!r}")
        need(len(a.monk_weights) == 10 and min(a.monk_weights) >= 0 and sum(a.monk_weights) > 0,
             "appearance.monk_weights", "must be 10 non-negative weights, not all zero")
        need(0.0 <= a.polish_prob <= 1.0, "appearance.polish_prob", "must be in 0..1")
        from synth.scene import lighting as _lighting

        for key, dirs, suffixes, what in (("lighting.hdri_dirs", li.hdri_dirs, _lighting.HDRI_SUFFIXES, "HDRI"),
                                          ("lighting.background_dirs", li.background_dirs, _lighting.IMAGE_SUFFIXES,
                                           "background")):
            for d in dirs:
                try:
                    _lighting.list_files(d, suffixes, what)
                except ValueError as exc:
                    raise ConfigError(f"{key}: {exc}") from exc

        from synth.props.library import PROP_NAMES as _PROPS

        need(0.0 <= self.props.fraction <= 1.0, "props.fraction", f"must be in 0..1, got {self.props.fraction}")
        need(0.0 <= self.props.grasp_fraction <= 1.0, "props.grasp_fraction",
             f"must be in 0..1, got {self.props.grasp_fraction}")
        need(0.0 <= self.defects.fraction <= 1.0, "defects.fraction", f"must be in 0..1, got {self.defects.fraction}")
        unknown = [n for n in self.props.names if n not in _PROPS]
        need(not unknown, "props.names", f"unknown prop(s) {', '.join(map(str, unknown))}; choose from {', '.join(_PROPS)}")

        for k, v in self.accessories.probs().items():
            need(0.0 <= v <= 1.0, f"accessories.{k}_prob", f"must be in 0..1, got {v}")

        bad = [p for p in self.output.passes if p not in PASSES]
        need(not bad, "output.passes", f"unknown pass(es) {', '.join(bad)}; choose from {', '.join(PASSES)}")


# ---- YAML and overrides -----------------------------------------------------------------
def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; :class:`ConfigError` if missing or not a mapping."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML ({str(exc).splitlines()[0]})") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys to values")
    return data


def apply_overrides(cfg: JobConfig, overrides: list[str] | tuple[str, ...]) -> JobConfig:
    """Return a validated copy of ``cfg`` with ``a.b=value`` overrides applied in order.

    Values are parsed as YAML (``16``, ``true``, ``[a, b]``, ``null``); a comma-separated value
    for a list field is split (``hand.gestures=fist,ok``).
    """
    data = cfg.to_dict()
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like key=value (e.g. render.samples=16)")
        key, raw = item.split("=", 1)
        key = key.strip()
        parts = key.split(".")
        node: Any = data
        for p in parts[:-1]:
            if not isinstance(node, dict) or p not in node or not isinstance(node[p], dict):
                raise ConfigError(f"unknown config key {key!r}")
            node = node[p]
        if not isinstance(node, dict) or parts[-1] not in node:
            raise ConfigError(f"unknown config key {key!r}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as exc:
            raise ConfigError(f"override {key}: cannot parse value {raw!r}") from exc
        if isinstance(node[parts[-1]], list) and isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        node[parts[-1]] = value
    return JobConfig.from_dict(data)


# ---- typed construction -----------------------------------------------------------------
def _build(cls: type, data: Any, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        where = f" in {prefix}" if prefix else ""
        raise ConfigError(f"unknown config key(s){where}: {', '.join(unknown)}; expected {', '.join(sorted(names))}")
    kw = {k: _coerce(hints[k], v, f"{prefix}{k}") for k, v in data.items()}
    try:
        return cls(**kw)
    except ConfigError:
        raise
    except ValueError as exc:  # a section's own checks (__post_init__)
        raise ConfigError(_section_error(prefix.rstrip(".") or "config", exc, cls)) from exc


def _section_error(key: str, exc: Exception, section: Any = None) -> str:
    """``key.field ...`` when the section's message starts with one of its field names, else
    ``key: message``."""
    msg = str(exc)
    if msg.startswith(f"{key}."):
        return msg
    first = msg.split(" ", 1)[0].rstrip(":")
    if section is not None and first in {f.name for f in dataclasses.fields(section)}:
        return f"{key}.{msg}"
    return f"{key}: {msg}"


def _coerce(tp: Any, v: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _build(tp, v, key + ".")
    if origin in (types.UnionType, typing.Union):
        args = typing.get_args(tp)
        if v is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(inner[0], v, key)
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(v, list | tuple) or len(v) != len(args):
            raise ConfigError(f"{key}: expected a list of {len(args)} values, got {v!r}")
        return tuple(_coerce(a, x, key) for a, x in zip(args, v, strict=True))
    if origin is dict:
        ka, va = typing.get_args(tp)
        if not isinstance(v, dict):
            raise ConfigError(f"{key}: expected a mapping of names to values, got {v!r}")
        return {_coerce(ka, k, key): _coerce(va, x, f"{key}.{k}") for k, x in v.items()}
    if origin is list:
        (a,) = typing.get_args(tp)
        if isinstance(v, str):
            v = [s.strip() for s in v.split(",") if s.strip()]
        if not isinstance(v, list | tuple):
            raise ConfigError(f"{key}: expected a list, got {v!r}")
        return [_coerce(a, x, key) for x in v]
    if tp is bool:
        if not isinstance(v, bool):
            raise ConfigError(f"{key}: expected true/false, got {v!r}")
        return v
    if tp is int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ConfigError(f"{key}: expected an integer, got {v!r}")
        return v
    if tp is float:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ConfigError(f"{key}: expected a number, got {v!r}")
        return float(v)
    if tp is str:
        if not isinstance(v, str):
            raise ConfigError(f"{key}: expected a string, got {v!r}")
        return v
    return v
