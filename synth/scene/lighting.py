"""Lighting and background sampling (pure Python; nothing here imports bpy).

Environment lighting is one of:

* ``hdri`` -- an equirectangular HDR image: Blender's bundled CC0 studio-light HDRIs (found in
  the installed ``bpy`` package, ``datafiles/studiolights/world/*.exr``, located without
  importing it) plus any ``.exr``/``.hdr`` files of the user's ``--hdri-dir``; random rotation
  about the vertical axis, strength and tint;
* ``sky`` -- Blender's procedural sky (sun elevation, rotation, air/dust density);
* ``studio`` -- a uniform grey/tinted world.

Plus 1-3 local lights (area, point or spot) with colour temperatures of 2,700-6,500 K, sizes and
powers. The visible background is the HDRI or sky itself, a procedural background (solid colour,
gradient or noise texture) or an image from ``--background-dir``; ``table_prob`` draws whether
a table slab goes under the hand (placed by :mod:`synth.scene.surface`).
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from synth.jsonable import to_jsonable

logger = logging.getLogger(__name__)

HDRI_SUFFIXES = (".exr", ".hdr")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
ENV_KINDS = ("hdri", "sky", "studio")
LIGHT_KINDS = ("AREA", "POINT", "SPOT")
BACKGROUND_KINDS = ("environment", "solid", "gradient", "noise", "image", "bokeh", "room")

#: Words for captions, per bundled HDRI.
HDRI_WORDS: dict[str, str] = {
    "city": "in a city street", "courtyard": "in a sunny courtyard", "forest": "in a forest",
    "interior": "indoors", "night": "at night", "studio": "in a studio", "sunrise": "at sunrise",
    "sunset": "at sunset",
}  # fmt: skip


def bundled_hdri_dir() -> Path | None:
    """Blender's bundled CC0 world HDRIs, inside the installed bpy package (None if absent)."""
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(list(spec.submodule_search_locations)[0])
    for d in sorted(root.glob("*/datafiles/studiolights/world")):
        return d
    return None


def list_files(directory: str | Path, suffixes: tuple[str, ...], what: str) -> list[Path]:
    """Sorted files with the given suffixes; raises ValueError (one line) when there are none."""
    d = Path(directory)
    if not d.is_dir():
        raise ValueError(f"{what} directory not found: {d}")
    files = sorted(p for p in d.iterdir() if p.suffix.lower() in suffixes and p.is_file())
    if not files:
        raise ValueError(f"{what} directory {d} has no {'/'.join(suffixes)} files")
    return files


def available_hdris(extra_dirs: tuple[str, ...] = ()) -> list[Path]:
    """Bundled HDRIs followed by the user's (sorted, so indices are stable)."""
    out: list[Path] = []
    b = bundled_hdri_dir()
    if b is not None:
        out += sorted(p for p in b.iterdir() if p.suffix.lower() in HDRI_SUFFIXES)
    for d in extra_dirs:
        out += list_files(d, HDRI_SUFFIXES, "HDRI")
    return out


def kelvin_to_rgb(kelvin: float) -> tuple[float, float, float]:
    """Linear-RGB colour (max channel 1) of a black body at ``kelvin`` (1,000-40,000 K), from
    Tanner Helland's fit of the CIE 1964 black-body chromaticities (sRGB), linearised."""
    t = np.clip(kelvin, 1000.0, 40000.0) / 100.0
    r = 255.0 if t <= 66 else 329.698727446 * (t - 60) ** -0.1332047592
    g = 99.4708025861 * np.log(t) - 161.1195681661 if t <= 66 else 288.1221695283 * (t - 60) ** -0.0755148492
    b = 255.0 if t >= 66 else (0.0 if t <= 19 else 138.5177312231 * np.log(t - 10) - 305.0447927307)
    srgb = np.clip(np.array([r, g, b]) / 255.0, 0.0, 1.0)
    lin = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    return tuple(float(x) for x in lin / lin.max())


@dataclass
class LightingConfig:
    """Lighting and backgrounds: the job config's ``lighting`` section and the sampler's input
    (one definition; see the module docstring).

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
        exclude_files: HDRI / background files left out of the draw (``synth render
            --skip-bad-assets`` fills it with the files that do not decode, so the dataset's
            config records them).
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
    exclude_files: list[str] = field(default_factory=list)
    table_prob: float = 0.25
    table_rest_prob: float = 0.6
    world_strength: tuple[float, float] = (0.2, 0.6)
    key_power: tuple[float, float] = (5.0, 20.0)

    @property
    def env_weights(self) -> dict[str, float]:
        """Weights of the environment kinds."""
        return {"hdri": self.hdri, "sky": self.sky, "studio": self.studio}

    @property
    def background_weights(self) -> dict[str, float]:
        """Weights of the background kinds."""
        return {"environment": self.bg_environment, "solid": self.bg_solid, "gradient": self.bg_gradient,
                "noise": self.bg_noise, "image": self.bg_image, "bokeh": self.bg_bokeh, "room": self.bg_room}

    def __post_init__(self) -> None:
        if self.mode not in ("natural", "basic"):
            raise ValueError(f"mode must be natural or basic, got {self.mode!r}")
        for name, w in (("environment", self.env_weights), ("background", self.background_weights)):
            if min(w.values()) < 0 or sum(w.values()) <= 0:
                raise ValueError(f"{name} weights must be >= 0 and not all zero")
        if self.bg_image > 0 and not self.background_dirs:
            raise ValueError("background kind 'image' needs --background-dir")
        if not (0 <= self.n_lights[0] <= self.n_lights[1] <= 8):
            raise ValueError(f"n_lights must satisfy 0 <= lo <= hi <= 8, got {self.n_lights}")
        if not (1000 <= self.kelvin[0] <= self.kelvin[1] <= 40000):
            raise ValueError(f"kelvin range must lie in 1000..40000, got {self.kelvin}")
        for k in ("table_prob", "table_rest_prob"):
            if not 0.0 <= getattr(self, k) <= 1.0:
                raise ValueError(f"{k} must be in 0..1, got {getattr(self, k)}")


@dataclass(frozen=True)
class EnvSample:
    """Environment lighting: kind ``hdri`` (path, rotation_deg, strength, tint), ``sky``
    (sun_elevation_deg, sun_rotation_deg, air, dust, strength) or ``studio`` (color, strength)."""

    kind: str
    strength: float
    hdri: str | None = None
    rotation_deg: float = 0.0
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)
    sun_elevation_deg: float = 0.0
    sun_rotation_deg: float = 0.0
    air: float = 1.0
    dust: float = 1.0
    color: tuple[float, float, float] = (0.5, 0.5, 0.5)

    @property
    def words(self) -> str:
        if self.kind == "hdri" and self.hdri:
            return HDRI_WORDS.get(Path(self.hdri).stem, "in natural light")
        if self.kind == "sky":
            return "in low golden sunlight" if self.sun_elevation_deg < 15 else "in daylight"
        return "in studio light"


@dataclass(frozen=True)
class LocalLight:
    """A local light (world frame, metres, watts)."""

    kind: str
    position: tuple[float, float, float]
    target: tuple[float, float, float]
    power: float
    size: float
    kelvin: float
    color: tuple[float, float, float]
    spot_deg: float = 60.0


@dataclass(frozen=True)
class BackgroundSample:
    """What is seen behind the hand: ``environment`` (the HDRI/sky itself), ``solid``,
    ``gradient``, ``noise`` (procedural, with two colours and a scale), ``bokeh`` (soft blended
    colour fields like an out-of-focus scene: smooth Voronoi cells of random colours over the
    two-colour noise, ``scale / 4`` cells across), ``image`` (path) or ``room`` (a procedural room
    behind the hand, :mod:`synth.scene.room`; the environment lights it and shows above it);
    ``table``: the sample has a table slab under the hand (:mod:`synth.scene.surface`)."""

    kind: str
    color_a: tuple[float, float, float] = (0.5, 0.5, 0.5)
    color_b: tuple[float, float, float] = (0.2, 0.2, 0.2)
    scale: float = 5.0
    image: str | None = None
    table: bool = False

    @property
    def words(self) -> str:
        return {"environment": "", "solid": "a plain background", "gradient": "a soft gradient background",
                "noise": "a textured background", "image": "a photographic backdrop",
                "bokeh": "a blurred, out-of-focus background", "room": "an indoor room"}[self.kind]


@dataclass(frozen=True)
class LightingSample:
    env: EnvSample
    lights: tuple[LocalLight, ...]
    background: BackgroundSample

    def attributes(self) -> dict[str, object]:
        d = to_jsonable(asdict(self))
        assert isinstance(d, dict)
        if self.env.hdri:
            d["env"]["hdri"] = Path(self.env.hdri).name  # type: ignore[index]
        d["lighting_words"] = self.env.words
        d["background_words"] = self.background.words
        return d


def _pick(rng: np.random.Generator, weights: dict[str, float], order: tuple[str, ...]) -> str:
    names = [k for k in order if weights.get(k, 0.0) > 0]
    w = np.array([weights[k] for k in names], dtype=np.float64)
    return names[int(rng.choice(len(names), p=w / w.sum()))]


def _colour(rng: np.random.Generator) -> tuple[float, float, float]:
    v = rng.uniform(0.03, 0.8)
    tint = 1.0 + 0.5 * (2.0 * rng.random(3) - 1.0) * rng.random()
    return tuple(float(x) for x in np.clip(v * tint, 0.0, 1.0))


def sample_lighting(rng: np.random.Generator, cfg: LightingConfig, hdris: list[Path], target: np.ndarray,
                    camera_position: np.ndarray, backgrounds: list[Path] | None = None) -> LightingSample:
    """Draw environment, local lights and background around ``target`` (the hand centre),
    with lights on the camera's hemisphere so the visible side of the hand is lit."""
    kind = _pick(rng, cfg.env_weights, ENV_KINDS)
    if kind == "hdri" and not hdris:
        kind = "studio"
    if kind == "hdri":
        path = hdris[int(rng.integers(len(hdris)))]
        tint = 1.0 + 0.15 * (2.0 * rng.random(3) - 1.0)
        env = EnvSample("hdri", float(rng.uniform(*cfg.hdri_strength)), hdri=str(path),
                        rotation_deg=float(rng.uniform(0, 360)), tint=tuple(float(x) for x in tint))
    elif kind == "sky":
        env = EnvSample("sky", float(rng.uniform(0.2, 0.6)), sun_elevation_deg=float(rng.uniform(3, 70)),
                        sun_rotation_deg=float(rng.uniform(0, 360)), air=float(rng.uniform(0.5, 3.0)),
                        dust=float(rng.uniform(0.0, 3.0)))
    else:
        env = EnvSample("studio", float(rng.uniform(0.3, 1.2)), color=_colour(rng))
    n = int(rng.integers(cfg.n_lights[0], cfg.n_lights[1] + 1))
    fwd = np.asarray(camera_position, dtype=np.float64) - target
    fwd /= np.linalg.norm(fwd)
    lights = []
    for _ in range(n):
        off = rng.standard_normal(3)
        off -= off.dot(fwd) * fwd
        off /= max(np.linalg.norm(off), 1e-9)
        ang = np.radians(75.0) * rng.random()
        d = np.cos(ang) * fwd + np.sin(ang) * off
        pos = target + d * rng.uniform(0.6, 2.0)
        k = float(rng.uniform(*cfg.kelvin))
        lk = LIGHT_KINDS[int(rng.integers(3))]
        lights.append(LocalLight(lk, tuple(float(x) for x in pos), tuple(float(x) for x in target),
                                 float(rng.uniform(*cfg.light_power)), float(rng.uniform(0.05, 1.0)), k,
                                 kelvin_to_rgb(k), float(rng.uniform(30, 90))))
    bkind = _pick(rng, cfg.background_weights, BACKGROUND_KINDS)
    if bkind == "environment" and env.kind == "studio":
        bkind = "solid"
    image = None
    if bkind == "image":
        if not backgrounds:
            raise ValueError("background kind 'image' drawn but no background images were given")
        image = str(backgrounds[int(rng.integers(len(backgrounds)))])
    table = bool(rng.random() < cfg.table_prob)  # the table itself: synth.scene.surface (own stream)
    bg = BackgroundSample(bkind, _colour(rng), _colour(rng), float(rng.uniform(2.0, 30.0)), image, table)
    _colour(rng)  # formerly the table colour: still drawn so later draws of the sample are unchanged
    return LightingSample(env, tuple(lights), bg)
