"""Packagers: one module per output format, each ``write_<format>(ds, out, split, **options) -> int``.

:data:`FORMATS` is the one list of formats: ``synth package --format`` offers its names, and
:func:`synth.dataset.package.package` checks each format's needed passes and calls its writer
from here. A new format is a module in this package plus one :class:`FormatInfo` row.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FormatInfo:
    """One package format.

    Attributes:
        name: ``--format`` value.
        module, function: the writer, ``synth.dataset.formats.<module>.<function>``.
        summary: one line for ``--help``.
        needs: passes every sample must have.
        needs_option: an option whose value, when it names a pass, is needed too (controlnet's
            ``conditioning``).
        needs_twins: the format reads the defect twins (``DATASET/twins``, :mod:`synth.defects.twin`).
    """

    name: str
    module: str
    function: str
    summary: str
    needs: tuple[str, ...] = ()
    needs_option: str | None = None
    needs_twins: bool = False

    def writer(self) -> Callable[..., int]:
        """The format's writer (imported on first use: formats pull in optional libraries)."""
        return getattr(importlib.import_module(f"{__name__}.{self.module}"), self.function)  # type: ignore[no-any-return]

    def needed_passes(self, options: Mapping[str, Any]) -> tuple[str, ...]:
        from synth.passes import PASSES

        extra = options.get(self.needs_option) if self.needs_option else None
        return self.needs + ((str(extra),) if extra in PASSES else ())


#: Every package format, in ``--help`` order.
FORMATS: dict[str, FormatInfo] = {f.name: f for f in (
    FormatInfo("coco", "coco", "write_coco", "COCO keypoints JSON, boxes and part masks + RGB images", needs=("rgb",)),
    FormatInfo("webdataset", "wds", "write_webdataset", "size-bounded tar shards of the dataset's own files"),
    FormatInfo("parquet", "parquet", "write_parquet", "Hugging Face datasets Parquet (passes, keypoints, caption)"),
    FormatInfo("controlnet", "controlnet", "write_controlnet", "diffusers ControlNet Parquet (image, conditioning_image, text)",
               needs=("rgb",), needs_option="conditioning"),
    FormatInfo("freihand", "freihand", "write_freihand", "FreiHAND layout (K and xyz JSON lists, JPEG images and hand masks)",
               needs=("rgb",)),
    FormatInfo("preference", "t2i", "write_preference", "preference pairs (the correct render preferred over its defect twin)",
               needs_twins=True),
    FormatInfo("inpaint", "t2i", "write_inpaint", "inpainting rows (defective twin, hand mask, correct render, caption)",
               needs_twins=True),
    FormatInfo("feedback", "t2i", "write_feedback", "RichHF-style rows (image, artifact heatmap, plausibility score)",
               needs_twins=True),
)}  # fmt: skip
