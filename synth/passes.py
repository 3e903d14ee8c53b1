"""The image passes of a sample: one registry (name, dtype, channels, codec, file, convention).

Everything that handles a pass generically reads it from :data:`PASSES`: the job config's
``output.passes`` (choices and default), :class:`synth.render.types.Passes` (derived passes),
the dataset layout (folder, extension, ``dataset.json`` conventions), the writer (checks and
codec), the validator (dtype and channels), the reader (:class:`synth.data.HandDataset`'s torch
tensors) and the packagers (webdataset member names, parquet columns).

Adding a pass is one :class:`PassInfo` here; a pass a renderer does not produce itself needs a
``derive`` function of the rendered passes (see ``instance``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

#: Largest part id of a hand (1 forearm .. 7 pinky, :data:`synth.hand.rig.PART_IDS`); ids >= 16
#: are held objects, accessories and the table.
HAND_PART_MAX = 7


@dataclass(frozen=True)
class PassInfo:
    """One image pass.

    Attributes:
        name: key in ``Passes``, ``output.passes``, the manifest's ``files`` and the label's ``files``.
        dtype: numpy dtype name of the array (``uint8`` or ``float32``).
        channels: 0 for ``(H, W)`` arrays, else the C of ``(H, W, C)``.
        codec: ``png`` or ``exr`` (lossless both).
        convention: what the values mean (stored in ``dataset.json``'s ``conventions``).
        tensor: how :meth:`synth.data.HandDataset.torch` converts it: ``image`` ((C, H, W)
            float in [0, 1]), ``map`` ((1, H, W) float), ``vector`` ((C, H, W) float) or
            ``index`` ((H, W) int64).
        alpha_ok: a 4th (alpha) channel is accepted on reading/writing.
        column: parquet column name (``None``: the pass name, ``NAME_exr`` for EXR passes).
        wds: webdataset member extension (``None``: ``NAME.png`` / ``NAME.exr``).
        derive: computes the pass from a mapping of the other passes, for passes the renderers
            do not produce themselves (``None``: every renderer produces it).
    """

    name: str
    dtype: str
    channels: int
    codec: str
    convention: str
    tensor: str
    alpha_ok: bool = False
    column: str | None = None
    wds: str | None = None
    derive: Callable[[Mapping[str, np.ndarray]], np.ndarray] | None = None

    @property
    def folder(self) -> str:
        """Dataset folder of the pass's files."""
        return self.name

    @property
    def extension(self) -> str:
        """File extension with the dot (``.png`` / ``.exr``)."""
        return "." + self.codec

    @property
    def parquet_column(self) -> str:
        return self.column or (f"{self.name}_exr" if self.codec == "exr" else self.name)

    @property
    def wds_extension(self) -> str:
        return self.wds or f"{self.name}.{self.codec}"

    def check(self, a: np.ndarray) -> np.ndarray:
        """``a`` as this pass's dtype, or ValueError naming the pass and the expected shape."""
        a = np.asarray(a)
        shape = "(H, W)" if self.channels == 0 else f"(H, W, {self.channels})"
        chans = (a.ndim == 2) if self.channels == 0 else (
            a.ndim == 3 and (a.shape[2] == self.channels or (self.alpha_ok and a.shape[2] == 4)))
        if self.dtype == "uint8":
            ok = a.dtype == np.uint8
        else:
            ok = bool(np.issubdtype(a.dtype, np.floating))
        if not (chans and ok):
            what = "uint8" if self.dtype == "uint8" else "float"
            raise ValueError(f"image {self.name!r} must be {shape} {what}, got {a.shape} {a.dtype}")
        return a.astype(self.dtype, copy=False)

    def matches(self, img: np.ndarray) -> bool:
        """Whether a decoded image has this pass's dtype and channels."""
        got = img.shape[2] if img.ndim == 3 else 0
        return img.dtype == np.dtype(self.dtype) and (got == self.channels or (self.alpha_ok and got == 4))


def hand_instance(passes: Mapping[str, np.ndarray]) -> np.ndarray:
    """The ``instance`` pass of a one-hand render: 1 where ``parts`` shows the hand (ids
    1..:data:`HAND_PART_MAX`), else 0. ``(H, W)`` uint8."""
    parts = passes["parts"]
    return ((parts >= 1) & (parts <= HAND_PART_MAX)).astype(np.uint8)


#: Every pass, in file order.
PASSES: dict[str, PassInfo] = {p.name: p for p in (
    PassInfo("rgb", "uint8", 3, "png", "8-bit sRGB PNG", tensor="image", alpha_ok=True, column="image", wds="png"),
    PassInfo("depth", "float32", 0, "exr",
             "planar z in the camera frame, metres, float32 OpenEXR (single channel), 0 where no surface", tensor="map"),
    PassInfo("parts", "uint8", 0, "png",
             "uint8 PNG: 0 background, 1 forearm, 2 palm, 3 thumb, 4 index, 5 middle, 6 ring, "
             "7 pinky; ids >= 16 reserved for objects and accessories", tensor="index"),
    PassInfo("normals", "float32", 3, "exr", "unit vectors in the camera frame, float32 OpenEXR, x,y,z stored as R,G,B",
             tensor="vector"),
    PassInfo("instance", "uint8", 0, "png",
             "uint8 PNG: 0 background, 1 + hand index on the pixels of each hand (its parts 1..7); held objects, "
             "accessories and the table are 0 here and keep their ids in parts", tensor="index", derive=hand_instance),
)}  # fmt: skip


def names() -> list[str]:
    """Pass names in file order."""
    return list(PASSES)
