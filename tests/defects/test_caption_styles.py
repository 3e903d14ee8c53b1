"""Caption styles (short, detailed, tags) and the twin's error description."""

from __future__ import annotations

from synth.defects.ops import Defect
from synth.defects.twin import describe_defect
from synth.labels.captions import caption_styles


def test_caption_styles_from_label():
    label = {"caption": "A right hand in an OK sign pose: ...", "handedness": "right",
             "attributes": {"handedness": "right", "gesture": "ok_sign", "gesture_recognised": True,
                            "palm_facing": "the camera", "skin_tone": "light brown", "lighting": "soft daylight",
                            "camera_mode": "third_person"}}
    s = caption_styles(label)
    assert s["short"] == "a right hand making an OK sign"
    assert s["detailed"] == label["caption"]
    assert s["tags"] == "hand, right hand, OK sign, palm facing the camera, light brown skin, soft daylight, third-person view"
    label["attributes"]["gesture_recognised"] = False
    assert caption_styles(label)["short"] == "a right hand with the palm facing the camera"


def test_defect_descriptions():
    assert describe_defect(Defect("extra_finger", (4,), 0.5)).startswith("six fingers")
    assert describe_defect(Defect("missing_finger", (2,), 0.5)) == "four fingers, the middle finger missing"
    assert describe_defect(Defect("hyperextension", (1,), 0.5, {"joint": 1, "direction": "backward"})) == \
        "index finger bent backwards at the middle joint"
    assert describe_defect(Defect("fused_fingers", (3, 4), 0.5)) == "ring and little fingers fused together"
    assert describe_defect(Defect("finger_length", (0,), 0.5, {"direction": "short"})) == "thumb far too short"
