"""Label attributes and caption words of a planned sample (pure Python, from its typed spec).

:func:`appearance_attributes` is the label's ``attributes`` block of the sampled appearance
(viewpoint, skin, lighting, post effects, table, accessories); :func:`caption_words` the
appearance words :func:`synth.labels.captions.describe` puts in the caption.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synth.scene.spec import SampleSpec


def appearance_attributes(spec: SampleSpec) -> dict[str, Any]:
    """JSON-safe attributes of the sampled appearance (viewpoint, skin, lighting, post effects)."""
    out: dict[str, Any] = {}
    if spec.viewpoint is not None:
        out.update(spec.viewpoint.attributes())
    sk = spec.hand.skin
    if sk is not None:
        out["skin"] = sk.attributes()
        out["monk_skin_tone"] = sk.monk
    ls = spec.lighting.sample
    if ls is not None:
        out["lighting"] = ls.attributes()
        out["lighting_type"] = ls.env.kind
    if spec.post is not None:
        out["post"] = spec.post.attributes()
    if spec.room is not None:
        out["room"] = spec.room.attributes()
    if spec.surface is not None:
        table = next(p for p in spec.props if p.category == "surface")
        out["surface"] = {**spec.surface.surface.attributes(), "part_id": int(table.part_id),
                          "words": spec.surface.words}
    worn = [p for p in spec.props if p.category == "accessory"]
    if worn:
        out["accessories"] = [{"kind": p.name, "color": p.color_name, "bone": p.description["params"]["bone"],
                               "part_id": int(p.part_id), "words": p.description["words"]} for p in worn]
    return out


def held_object_words(spec: SampleSpec) -> str | None:
    """What the hand holds, for captions: ``"a white mug between the thumb and the index and
    middle fingers"``, ``"a yellow mug by its handle, index and middle fingers through the
    handle"`` (:func:`synth.labels.captions.held_object_phrase`: colour of the main material,
    the fingers from the fit's contacts)."""
    held = [p for p in spec.props if p.category not in ("accessory", "surface")]
    if not held:
        return None
    p = held[0]
    from synth.labels.captions import held_object_phrase

    return held_object_phrase(p.name, p.color_name, p.grasp, p.contacts)


#: A table is named in the caption only when it covers at least this fraction of the image.
SURFACE_CAPTION_MIN_FRACTION = 0.02


def caption_words(spec: SampleSpec, parts: np.ndarray | None = None) -> dict[str, Any]:
    """Appearance words for captions: skin tone, lighting, background, camera mode, held object,
    worn accessories, the table (only when ``parts``, the rendered part mask, shows it on at
    least :data:`SURFACE_CAPTION_MIN_FRACTION` of the image)."""
    words: dict[str, Any] = {"skin_tone": spec.material.skin_tone, "camera_mode": spec.camera_mode}
    held = held_object_words(spec)
    if held:
        words["held_object"] = held
    worn = [p.description["words"] for p in spec.props if p.category == "accessory"]
    if worn:
        words["accessories"] = worn[0] if len(worn) == 1 else ", ".join(worn[:-1]) + " and " + worn[-1]
    if spec.hand.skin is not None:
        words["skin_tone"] = spec.hand.skin.tone_words
    ls = spec.lighting.sample
    if ls is not None:
        words["lighting"] = ls.env.words
        if ls.background.words:
            words["background"] = ls.background.words
        if spec.room is not None:
            words["background"] = spec.room.words
            if ls.env.kind == "hdri":  # the HDRI lights the room; its place ("in a forest") is not seen
                words["lighting"] = "in natural light"
    if spec.surface is not None and spec.surface.words:
        table = next(p for p in spec.props if p.category == "surface")
        if parts is None or (parts == table.part_id).mean() >= SURFACE_CAPTION_MIN_FRACTION:
            words["surface"] = spec.surface.words
    if spec.viewpoint is not None:
        f = spec.viewpoint.attributes()["hand_fraction"]
        framing = "close-up " if f > 0.55 else "wide " if f < 0.38 else ""
        post = spec.post
        if post is not None and (post.dof_coc_px_at_infinity or 0.0) >= 0.02 * spec.camera.width:
            framing = "shallow-focus " + framing  # the background is visibly blurred
        mode = {"third_person": "third-person", "egocentric": "first-person (egocentric)", "selfie": "selfie"}
        words["camera_mode"] = framing + mode.get(spec.camera_mode, spec.camera_mode)
    return words
