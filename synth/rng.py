"""The random streams of a sample: one table of stream ids.

Sample ``i`` of a job with seed ``seed`` draws from independent numpy Generators, one per
concern, so that switching one feature on or off (props, accessories, a table...) leaves every
other draw of the sample unchanged::

    main        SeedSequence([seed, i])        side, shape, pose, root, camera, skin, lighting, post
    NAME        SeedSequence([seed, i, ID])    one row of STREAMS per concern

A new concern (defects, a second hand...) adds a row to :data:`STREAMS` with the next free id and
draws from :func:`stream`; ids are never reused or renumbered (that would change existing
datasets).
"""

from __future__ import annotations

import numpy as np

#: Stream name -> id (the third SeedSequence entry). Append only.
STREAMS: dict[str, int] = {
    "caption": 1,  # caption phrasing (synth.labels.captions.describe)
    "props": 2,  # whether and what the hand holds, the grasp fit (synth.scene.plan.props_rng)
    "accessories": 3,  # worn accessories (synth.scene.accessories)
    "surface": 4,  # the table under the hand (synth.scene.surface)
    "upright": 5,  # the tilt of a held container (synth.scene.plan.upright_root)
    "room": 6,  # the room behind the hand, background kind room (synth.scene.room)
    "defects": 15,  # whether and which defect twin a sample gets (synth.defects.twin)
    "pair_order": 0x5052,  # preference pairs' A/B order, keyed by crc32(pair id) (synth.review.export)
}

MAIN = "main"


def stream(seed: int, i: int, name: str = MAIN) -> np.random.Generator:
    """The Generator of stream ``name`` of sample ``i`` (``main``: ``SeedSequence([seed, i])``).

    Raises:
        KeyError: ``name`` is not in :data:`STREAMS`.
    """
    if name == MAIN:
        return np.random.default_rng(np.random.SeedSequence([int(seed), int(i)]))
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(i), STREAMS[name]]))
