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
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

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
        pose_source: ``auto`` (the gesture sampler when ``synth.gestures`` has one, else free
            poses), ``gestures`` (require it) or ``free`` (uniform in ``pose_range``).
        pose_range: fraction of each joint's anatomical range used for free poses.
    """

    model: str = "open-hand"
    side: str = "right"
    gestures: list[str] = field(default_factory=list)
    shape: str = "random"
    pose_source: str = "auto"
    pose_range: float = 0.6


@dataclass
class CameraConfig:
    """Camera sampling (metres, degrees).

    Attributes:
        mode: ``mixed`` (draw third-person / egocentric / selfie views with the weights below),
            one of those three modes only, or ``orbit`` (the simple orbit camera below).
            Natural modes keep the forearm's cut out of frame and the hand within ``fraction``
            of the short image side (see :mod:`synth.scene.viewpoint`).
        third_person, egocentric, selfie: mixture weights of ``mixed``.
        fraction: (min, max) hand extent as a fraction of the short image side.
        focal_mm: (min, max) 35 mm-equivalent focal length.
        allow_truncation: let the hand leave the frame (natural modes).
        distance, fov, elevation, jitter: the ``orbit`` camera: distance to the hand centre,
            horizontal field of view, elevation, look-at jitter (fraction of the hand radius).
    """

    mode: str = "mixed"
    third_person: float = 0.5
    egocentric: float = 0.25
    selfie: float = 0.25
    fraction: tuple[float, float] = (0.3, 0.7)
    focal_mm: tuple[float, float] = (24.0, 85.0)
    allow_truncation: bool = False
    distance: tuple[float, float] = (0.45, 0.7)
    fov: tuple[float, float] = (35.0, 45.0)
    elevation: tuple[float, float] = (-60.0, 80.0)
    jitter: float = 0.15


@dataclass
class LightingConfig:
    """Lighting and backgrounds (see :mod:`synth.scene.lighting`).

    Attributes:
        mode: ``natural`` (HDRI / sky / studio environments, 1-3 local lights, varied
            backgrounds) or ``basic`` (a uniform world and one area key light).
        hdri, sky, studio: environment weights (natural).
        hdri_strength: (min, max) HDRI strength.
        hdri_dirs: extra directories of .exr/.hdr HDRIs (the bundled Blender HDRIs are always used).
        n_lights: (min, max) number of local lights.
        kelvin: (min, max) colour temperature of local lights.
        light_power: (min, max) local light power, watts.
        bg_environment, bg_solid, bg_gradient, bg_noise, bg_bokeh, bg_image, bg_room: weights of
            what the camera sees behind the hand (the environment itself, procedural -- ``bokeh`` is
            soft colour fields like a defocused scene -- a backplate image, or ``room``: a procedural
            indoor room with real depth, :mod:`synth.scene.room`, the most common background after
            the environment itself; it is background in the label passes).
        background_dirs: directories of background images (needed when ``bg_image`` > 0).
        table_prob: probability of a table slab under the hand (:mod:`synth.scene.surface`; natural
            lighting only; dropped when the camera is not above its top).
        table_rest_prob: probability that the hand (or its held object) rests on the table rather
            than 1-30 cm above it.
        world_strength, key_power: the ``basic`` mode's world strength and key light watts.
    """

    mode: str = "natural"
    hdri: float = 0.6
    sky: float = 0.2
    studio: float = 0.2
    hdri_strength: tuple[float, float] = (0.5, 2.0)
    hdri_dirs: list[str] = field(default_factory=list)
    n_lights: tuple[int, int] = (1, 3)
    kelvin: tuple[float, float] = (2700.0, 6500.0)
    light_power: tuple[float, float] = (10.0, 80.0)
    bg_environment: float = 0.4
    bg_solid: float = 0.05
    bg_gradient: float = 0.05
    bg_noise: float = 0.05
    bg_bokeh: float = 0.15
    bg_image: float = 0.0
    bg_room: float = 0.3
    background_dirs: list[str] = field(default_factory=list)
    table_prob: float = 0.25
    table_rest_prob: float = 0.6
    world_strength: tuple[float, float] = (0.2, 0.6)
    key_power: tuple[float, float] = (5.0, 20.0)


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
class PostConfig:
    """Post effects on the RGB image only, recorded in ``attributes.post`` (:mod:`synth.scene.post`).

    Attributes:
        blur_prob, motion_prob, noise_prob, jpeg_prob: probabilities of a whole-image soft-focus
            blur, a linear motion blur, sensor noise and JPEG compression.
        dof_prob: probability of thin-lens depth of field focused on the hand (computed from the
            exact depth pass: the background and far fingers blur by their circle of confusion).
        dof_f_number: (min, max) 35 mm-equivalent f-number, drawn log-uniformly.
    """

    blur_prob: float = 0.1
    motion_prob: float = 0.05
    noise_prob: float = 0.3
    jpeg_prob: float = 0.3
    dof_prob: float = 0.3
    dof_f_number: tuple[float, float] = (1.4, 11.0)


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
            defaults about 0.36 of the default job's samples hold an object
            (``benchmarks/bench_holding.py``); both 0 gives the samples of a job without props.
            Drawn per sample from its own stream ``SeedSequence([seed, i, 2])``, independent of
            the rest of the sample.
        names: props to draw from (empty: all of :data:`synth.props.PROP_NAMES`).
    """

    grasp_fraction: float = 1.0
    fraction: float = 0.1
    names: list[str] = field(default_factory=list)


@dataclass
class AccessoriesConfig:
    """Worn accessories (:mod:`synth.scene.accessories`), natural planning only.

    Drawn per sample from its own stream ``SeedSequence([seed, i, 3])``, so the rest of the
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
class OutputConfig:
    """What is written per sample.

    Attributes:
        save_mesh: also write ``mesh/ID.npz`` with the exact rendered geometry (world frame).
        passes: passes to write among rgb, depth, parts, normals.
    """

    save_mesh: bool = False
    passes: list[str] = field(default_factory=lambda: ["rgb", "depth", "parts", "normals"])


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
    camera: CameraConfig = field(default_factory=CameraConfig)
    lighting: LightingConfig = field(default_factory=LightingConfig)
    appearance: AppearanceConfig = field(default_factory=AppearanceConfig)
    post: PostConfig = field(default_factory=PostConfig)
    props: PropsConfig = field(default_factory=PropsConfig)
    accessories: AccessoriesConfig = field(default_factory=AccessoriesConfig)
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
        return _plain(dataclasses.asdict(self))

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
        for key, (lo, hi), lim in (("camera.distance", c.distance, (0.05, 100.0)), ("camera.fov", c.fov, (1.0, 170.0)),
                                   ("camera.elevation", c.elevation, (-90.0, 90.0)),
                                   ("lighting.world_strength", li.world_strength, (0.0, 100.0)),
                                   ("lighting.key_power", li.key_power, (0.0, 1e5))):
            need(lim[0] <= lo <= hi <= lim[1], key, f"must be (min, max) with {lim[0]} <= min <= max <= {lim[1]}")
        need(0.0 <= c.jitter <= 1.0, "camera.jitter", "must be in 0..1")
        modes = ("mixed", "third_person", "egocentric", "selfie", "orbit")
        need(c.mode in modes, "camera.mode", f"must be one of {', '.join(modes)}, got {c.mode!r}")
        need(li.mode in ("natural", "basic"), "lighting.mode", f"must be natural or basic, got {li.mode!r}")
        for k in ("table_prob", "table_rest_prob"):
            v = getattr(li, k)
            need(0.0 <= v <= 1.0, f"lighting.{k}", f"must be in 0..1, got {v}")
        a = self.appearance
        need(a.skin in ("monk", "basic"), "appearance.skin", f"must be monk or basic, got {a.skin!r}")
        need(len(a.monk_weights) == 10 and min(a.monk_weights) >= 0 and sum(a.monk_weights) > 0,
             "appearance.monk_weights", "must be 10 non-negative weights, not all zero")
        need(0.0 <= a.polish_prob <= 1.0, "appearance.polish_prob", "must be in 0..1")
        from synth.scene import lighting as _lighting
        from synth.scene.post import PostConfig as _Post
        from synth.scene.viewpoint import ViewpointConfig as _View

        for key, build in (("camera", lambda: _View(**self.viewpoint_kwargs())),
                           ("lighting", lambda: _lighting.LightingConfig(**self.lighting_kwargs())),
                           ("post", lambda: _Post(**dataclasses.asdict(self.post)))):
            try:
                build()
            except ValueError as exc:
                raise ConfigError(f"{key}: {exc}") from exc
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
        unknown = [n for n in self.props.names if n not in _PROPS]
        need(not unknown, "props.names", f"unknown prop(s) {', '.join(map(str, unknown))}; choose from {', '.join(_PROPS)}")

        for k, v in self.accessories.probs().items():
            need(0.0 <= v <= 1.0, f"accessories.{k}_prob", f"must be in 0..1, got {v}")

        bad = [p for p in self.output.passes if p not in ("rgb", "depth", "parts", "normals")]
        need(not bad, "output.passes", f"unknown pass(es) {', '.join(bad)}; choose from rgb, depth, parts, normals")

    # ---- sampler configs -----------------------------------------------------------------
    def viewpoint_kwargs(self) -> dict[str, Any]:
        """Arguments of :class:`synth.scene.viewpoint.ViewpointConfig` for this job."""
        c = self.camera
        weights = {"third_person": c.third_person, "egocentric": c.egocentric, "selfie": c.selfie}
        if c.mode in weights:
            weights = {c.mode: 1.0}
        return {"modes": weights, "fraction": tuple(c.fraction), "focal_mm": tuple(c.focal_mm),
                "allow_truncation": c.allow_truncation}

    def lighting_kwargs(self) -> dict[str, Any]:
        """Arguments of :class:`synth.scene.lighting.LightingConfig` for this job."""
        li = self.lighting
        return {"env_weights": {"hdri": li.hdri, "sky": li.sky, "studio": li.studio},
                "hdri_strength": tuple(li.hdri_strength), "hdri_dirs": tuple(li.hdri_dirs),
                "n_lights": tuple(li.n_lights), "kelvin": tuple(li.kelvin), "light_power": tuple(li.light_power),
                "background_weights": {"environment": li.bg_environment, "solid": li.bg_solid,
                                       "gradient": li.bg_gradient, "noise": li.bg_noise, "image": li.bg_image,
                                       "bokeh": li.bg_bokeh, "room": li.bg_room},
                "background_dirs": tuple(li.background_dirs), "table_prob": li.table_prob}


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
    return cls(**kw)


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


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    return x
