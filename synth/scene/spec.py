"""The pure-Python description of one sample: what to render, not how.

A :class:`SampleSpec` holds plain dataclasses for the hand, camera, material, lights and
background. Renderers map it to their own scene (``synth.render.blender``, ``synth.render.raster``);
samplers in :mod:`synth.scene.plan` fill it from ``(job seed, i)``. Appearance diversity (skin
textures, HDRIs, camera modes) extends these dataclasses and their samplers, not the renderers'
structure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from synth.scene.camera import Camera


@dataclass(frozen=True)
class HandSpec:
    """The hand of one sample.

    Attributes:
        model: model name (``synth.hand.models.load_model``).
        side: ``right`` or ``left``.
        shape: ``(P,)`` shape parameters of the rig.
        pose_deg: ``(16, 3)`` anatomical angles, degrees.
        root: ``(4, 4)`` model-to-world transform (metres).
        gesture: gesture name (``free`` for a free random pose).
        gesture_category: gesture category (``free`` when none).
    """

    model: str
    side: str
    shape: np.ndarray
    pose_deg: np.ndarray
    root: np.ndarray
    gesture: str = "free"
    gesture_category: str = "free"


@dataclass(frozen=True)
class MaterialSpec:
    """Skin material (Principled BSDF inputs; colours linear RGB in 0..1).

    Attributes:
        base_color: ``(3,)`` skin albedo.
        roughness: specular roughness.
        subsurface_weight: subsurface scattering weight.
        subsurface_radius: ``(3,)`` mean free path per channel, metres.
        skin_tone: label of the tone (for the attributes).
    """

    base_color: tuple[float, float, float] = (0.8, 0.55, 0.45)
    roughness: float = 0.5
    subsurface_weight: float = 0.1
    subsurface_radius: tuple[float, float, float] = (0.004, 0.002, 0.001)
    skin_tone: str = "medium"


@dataclass(frozen=True)
class LightSpec:
    """One area light (world frame, metres, watts).

    Attributes:
        position: ``(3,)`` light centre.
        target: ``(3,)`` point the light faces.
        power: watts.
        size: square side, metres.
        color: ``(3,)`` linear RGB.
    """

    position: tuple[float, float, float]
    target: tuple[float, float, float]
    power: float = 40.0
    size: float = 0.3
    color: tuple[float, float, float] = (1.0, 1.0, 1.0)


@dataclass(frozen=True)
class BackgroundSpec:
    """Uniform world background, also the ambient light.

    Attributes:
        color: ``(3,)`` linear RGB.
        strength: emission strength.
    """

    color: tuple[float, float, float] = (0.5, 0.5, 0.5)
    strength: float = 0.5


@dataclass(frozen=True)
class SampleSpec:
    """Everything that defines sample ``sample_id`` of a job.

    Attributes:
        sample_id: sample index ``i``.
        seed: job seed (the sample's Generator is ``SeedSequence([seed, i])``).
        hand: the hand.
        camera: the camera (OpenCV conventions).
        material: skin material.
        lights: area lights.
        background: world background.
        camera_mode: how the camera was placed (for the attributes).
        extra: free-form attributes for later samplers.
    """

    sample_id: int
    seed: int
    hand: HandSpec
    camera: Camera
    material: MaterialSpec = field(default_factory=MaterialSpec)
    lights: tuple[LightSpec, ...] = ()
    background: BackgroundSpec = field(default_factory=BackgroundSpec)
    camera_mode: str = "orbit"
    extra: dict[str, Any] = field(default_factory=dict)

    def appearance_dict(self) -> dict[str, Any]:
        """JSON-safe description of material, lights and background (for labels)."""
        return {
            "material": _plain(asdict(self.material)),
            "lights": [_plain(asdict(li)) for li in self.lights],
            "background": _plain(asdict(self.background)),
            "camera_mode": self.camera_mode,
        }


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    return x
