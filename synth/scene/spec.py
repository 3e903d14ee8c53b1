"""The pure-Python description of one sample: what to render, not how.

A :class:`SampleSpec` is typed sections, no free-form dict:

* ``hands``: a tuple of :class:`HandSpec` (side, shape, pose, root, gesture, skin, and the posed
  mesh computed once by the planner); one hand today;
* ``camera`` and ``viewpoint`` (the natural viewpoint sample, or None for the orbit camera);
* ``lighting``: a :class:`LightingSpec` of kind ``natural`` (HDRI / sky / studio environment, local
  lights, a background) or ``basic`` (one key light, a uniform world); ``spec.lights`` and
  ``spec.background`` read it, so lights are stored once;
* ``surface``: the table under the hand (its mesh is the last of ``props``), or None;
* ``props``: held objects, worn accessories and the table (part ids 16, 17, ...);
* ``post``: the camera effects on the RGB image, or None.

Renderers map it to their own scene (``synth.render.blender``, ``synth.render.raster``); the
planner in :mod:`synth.scene.plan` fills it from ``(job seed, i)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from synth.jsonable import to_jsonable
from synth.scene.camera import Camera

if TYPE_CHECKING:
    from synth.hand.skinning import PosedHand
    from synth.scene.lighting import LightingSample
    from synth.scene.post import PostSpec
    from synth.scene.skin import SkinSample
    from synth.scene.surface import Surface
    from synth.scene.viewpoint import Viewpoint


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
class HandSpec:
    """One hand of a sample.

    Attributes:
        model: model name (``synth.hand.models.load_model``).
        side: ``right`` or ``left``.
        shape: ``(P,)`` shape parameters of the rig.
        pose_deg: ``(16, 3)`` anatomical angles, degrees.
        root: ``(4, 4)`` model-to-world transform (metres).
        gesture: gesture name (``free`` for a free random pose).
        gesture_category: gesture category (``free`` when none).
        material: skin BSDF inputs (kind ``basic``: one of four flat tones; kind ``monk``: the
            back-of-hand colour of ``skin``).
        skin: the Monk-scale skin sample (kind ``monk``), or None (kind ``basic``).
        posed: the posed hand in the model frame (``forward(rig, shape, pose_deg)``), computed
            once by the planner; :meth:`world` maps it by ``root``.
    """

    model: str
    side: str
    shape: np.ndarray
    pose_deg: np.ndarray
    root: np.ndarray
    gesture: str = "free"
    gesture_category: str = "free"
    material: MaterialSpec = field(default_factory=lambda: MaterialSpec())
    skin: SkinSample | None = None
    posed: PosedHand | None = field(default=None, compare=False, repr=False)

    @property
    def skin_kind(self) -> str:
        return "basic" if self.skin is None else "monk"

    def world(self) -> tuple[np.ndarray, np.ndarray]:
        """World-frame ``(vertices (V, 3), keypoints (21, 3))``, metres: the posed hand mapped by
        ``root`` (the same as skinning with ``root``, which applies it last)."""
        if self.posed is None:
            raise ValueError("this HandSpec carries no posed hand (plan it with synth.scene.plan)")
        R, t = self.root[:3, :3], self.root[:3, 3]
        return self.posed.vertices @ R.T + t, self.posed.keypoints @ R.T + t


#: Part id of the first held object; object ``k`` of a sample has part id ``OBJECT_PART_BASE + k``.
OBJECT_PART_BASE = 16


@dataclass(frozen=True)
class PropMaterial:
    """One material of a held object (Principled BSDF inputs; colour linear RGB in 0..1).

    Attributes:
        name: material slot name (``case``, ``screen``, ``ceramic``...).
        base_color: ``(3,)`` albedo.
        roughness, metallic, transmission: BSDF inputs in 0..1.
        color_name: colour word for captions.
        pattern: procedural colour pattern between ``base_color`` and ``pattern_color``:
            ``wave`` (wood grain), ``noise`` (stone, cloth) or ``""`` (plain); world-space
            coordinates, ``pattern_scale`` per metre, grain along ``pattern_yaw_deg`` about +Z.
    """

    name: str
    base_color: tuple[float, float, float]
    roughness: float
    metallic: float = 0.0
    transmission: float = 0.0
    color_name: str = ""
    pattern: str = ""
    pattern_color: tuple[float, float, float] = (0.0, 0.0, 0.0)
    pattern_scale: float = 1.0
    pattern_yaw_deg: float = 0.0


@dataclass(frozen=True)
class PropSpec:
    """An object held by the hand, in the world frame (metres).

    Attributes:
        name: prop name (:data:`synth.props.PROP_NAMES`).
        category: coarse category (``phone``, ``container``...).
        part_id: its id in the part mask (``OBJECT_PART_BASE + index``).
        object_to_world: ``(4, 4)`` rigid transform, prop frame -> world.
        vertices: ``(N, 3)`` float64 mesh vertices, world frame.
        faces: ``(M, 3)`` int triangles (outward, counter-clockwise).
        face_material: ``(M,)`` int index into ``materials`` per face.
        materials: the object's materials.
        grasp: the grasp it is held with (Feix name).
        contacts: JSON-safe contacts (region, finger, hand vertex ids, distance), see
            :meth:`synth.props.fitting.Contact.as_dict`.
        description: JSON-safe prop description (dimensions, materials, affordances).
        fit: JSON-safe fit summary (penetration, pose offsets, opposition).
    """

    name: str
    category: str
    part_id: int
    object_to_world: np.ndarray
    vertices: np.ndarray
    faces: np.ndarray
    face_material: np.ndarray
    materials: tuple[PropMaterial, ...]
    grasp: str = ""
    contacts: tuple[dict[str, Any], ...] = ()
    description: dict[str, Any] = field(default_factory=dict)
    fit: dict[str, Any] = field(default_factory=dict)

    @property
    def color_name(self) -> str:
        """Colour word of the main (first) material."""
        return self.materials[0].color_name if self.materials else ""

    def label(self) -> dict[str, Any]:
        """The object's entry of the label's ``objects`` list (JSON-safe)."""
        return {
            "name": self.name,
            "category": self.category,
            "part_id": int(self.part_id),
            "object_to_world": np.asarray(self.object_to_world, dtype=np.float64).tolist(),
            "grasp": self.grasp,
            "material": self.color_name,
            "materials": [to_jsonable(asdict(m)) for m in self.materials],
            "contacts": [to_jsonable(c) for c in self.contacts],
            "fingers": sorted({c["finger"] for c in self.contacts if c.get("finger")}),
            "dimensions_m": to_jsonable(self.description.get("params", {})),
            "fit": to_jsonable(self.fit),
            "n_vertices": int(len(self.vertices)),
            "n_faces": int(len(self.faces)),
        }


@dataclass(frozen=True)
class LightingSpec:
    """The lighting section.

    Attributes:
        kind: ``natural`` (``sample``: environment, local lights, background) or ``basic``
            (``key_lights`` and ``world``: one area key light and a uniform world).
        sample: the natural lighting sample (:mod:`synth.scene.lighting`), or None.
        key_lights: the basic kind's area lights.
        world: the basic kind's uniform world background.
    """

    kind: str = "basic"
    sample: LightingSample | None = None
    key_lights: tuple[LightSpec, ...] = ()
    world: BackgroundSpec = field(default_factory=lambda: BackgroundSpec())

    @property
    def lights(self) -> tuple[LightSpec, ...]:
        """Area-light view of the lights (the natural kind's local lights, or the key lights)."""
        if self.sample is None:
            return self.key_lights
        return tuple(LightSpec(position=li.position, target=li.target, power=li.power, size=li.size, color=li.color)
                     for li in self.sample.lights)

    @property
    def background(self) -> BackgroundSpec:
        """Uniform-world view of the background (the natural kind's first colour at the
        environment's strength)."""
        if self.sample is None:
            return self.world
        return BackgroundSpec(color=self.sample.background.color_a, strength=self.sample.env.strength)


@dataclass(frozen=True)
class SurfaceSpec:
    """The table under the hand (its mesh is the ``surface`` entry of ``SampleSpec.props``).

    Attributes:
        surface: the sampled table (:class:`synth.scene.surface.Surface`).
        words: caption words (``"a wooden table"``, ``"resting on a wooden table"``...).
    """

    surface: Surface
    words: str


@dataclass(frozen=True)
class SampleSpec:
    """Everything that defines sample ``sample_id`` of a job.

    Attributes:
        sample_id: sample index ``i``.
        seed: job seed (the sample's streams are :func:`synth.rng.stream`).
        hands: the hands (one today).
        camera: the camera (OpenCV conventions).
        camera_mode: how the camera was placed (``third_person``, ``egocentric``, ``selfie``,
            ``orbit``).
        viewpoint: the natural viewpoint sample (framing, focal length), or None (orbit).
        lighting: the lighting section.
        surface: the table, or None.
        props: held objects, then worn accessories, then the table (part ids 16, 17, ...).
        post: camera effects on the RGB image, or None.
        room: the procedural room behind the hand (background kind ``room``,
            :class:`synth.scene.room.Room`: background in the label passes), or None.
    """

    sample_id: int
    seed: int
    hands: tuple[HandSpec, ...]
    camera: Camera
    camera_mode: str = "orbit"
    viewpoint: Viewpoint | None = None
    lighting: LightingSpec = field(default_factory=LightingSpec)
    surface: SurfaceSpec | None = None
    props: tuple[PropSpec, ...] = ()
    post: PostSpec | None = None
    room: Any = None

    @property
    def hand(self) -> HandSpec:
        """The first hand (the only one in a one-hand sample)."""
        return self.hands[0]

    @property
    def material(self) -> MaterialSpec:
        """The first hand's skin material."""
        return self.hands[0].material

    @property
    def lights(self) -> tuple[LightSpec, ...]:
        return self.lighting.lights

    @property
    def background(self) -> BackgroundSpec:
        return self.lighting.background

    def appearance_dict(self) -> dict[str, Any]:
        """JSON-safe description of material, lights and background (for labels)."""
        return {
            "material": to_jsonable(asdict(self.material)),
            "lights": [to_jsonable(asdict(li)) for li in self.lights],
            "background": to_jsonable(asdict(self.background)),
            "camera_mode": self.camera_mode,
        }
