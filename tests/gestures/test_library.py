"""The shipped gesture library: loads, stays within joint limits, unique names, no self-penetration."""

from __future__ import annotations

import numpy as np
import pytest

from synth.gestures import collision
from synth.gestures.library import (
    ASSET_DIR,
    FINGER_WORDS,
    GestureError,
    expand_pose,
    load_file,
    load_library,
    parse_gesture,
)
from synth.gestures.sampler import default_skeleton_for
from synth.hand import anatomy

REQUIRED_CATEGORIES = {"grasp", "sign", "emblem", "device", "counting"}


@pytest.fixture(scope="module")
def lib():
    return load_library()


def test_every_file_loads_and_counts(lib):
    files = sorted(ASSET_DIR.glob("*.yaml"))
    assert len(files) >= 4
    total = sum(len(load_file(f)) for f in files)
    assert total == len(lib) >= 150
    assert REQUIRED_CATEGORIES <= set(lib.categories)


def test_names_unique_and_fields(lib):
    names = lib.names
    assert len(names) == len(set(names))
    for g in lib:
        assert g.name.islower() and " " not in g.name
        assert g.description and g.tags
        for grp in g.contacts:
            assert len(grp) >= 2


def test_all_angles_within_limits(lib):
    P = lib.poses()
    assert P.shape == (len(lib), 16, 3)
    assert np.all(P >= anatomy.LIMITS[..., 0]) and np.all(P <= anatomy.LIMITS[..., 1])


def test_feix_33_and_asl(lib):
    feix = {t for g in lib for t in g.tags if t.startswith("feix_")}
    assert feix == {f"feix_{i}" for i in range(1, 34)}
    letters = {g.name for g in lib.in_category("sign")}
    for c in "abcdefghijklmnopqrstuvwxyz0123456789":
        assert f"asl_{c}" in letters
    for g in lib.in_category("grasp"):
        assert g.object_size_cm is not None and g.object_size_cm > 0


def test_emblems_and_device_cover_the_issue_list(lib):
    want = ["thumbs_up", "thumbs_down", "ok_sign", "peace", "rock_on", "call_me", "pointing", "fist",
            "open_palm", "wave", "crossed_fingers", "finger_gun", "vulcan_salute", "shaka", "pinky_promise",
            "heart_half", "come_here", "relaxed", "count_1", "count_5", "typing_home_row",
            "phone_hold_thumb_tap", "phone_swipe_thumb", "pinch_zoom_open", "press_button_index",
            "mouse_grip_palm", "pen_writing", "holding_cup", "holding_bottle", "holding_card", "turning_key"]
    for n in want:
        assert n in lib, n


@pytest.mark.parametrize("side", ["right", "left"])
def test_no_self_penetration_proxy(lib, side):
    """Capsule proxy over the library; declared contacts may overlap their capsules (see
    :data:`collision.CONTACT_ALLOWANCE`), their depth is checked on the mesh in test_contact.py."""
    from synth.gestures.contact import contact_pairs

    skel = default_skeleton_for(side)
    bad = []
    for g in lib:
        allow = collision.contact_pairs_mask(contact_pairs(g.contacts)) * collision.CONTACT_ALLOWANCE
        if not collision.collision_free(skel, g.pose, allowance=allow):
            bad.append(f"{g.name}: {collision.colliding_pairs(skel, g.pose)}")
    assert not bad, "\n".join(bad)


def test_no_self_penetration_mesh(lib):
    """Gestures without declared contacts on the posed open-hand mesh (winding-number band test,
    every 3rd finger vertex); touching pads fall inside that band, so gestures with contacts are
    checked by penetration depth in test_contact.py instead."""
    from synth.hand.models import load_model

    rig = load_model("open-hand", "right")
    bad = [g.name for g in lib if not g.contacts and collision.mesh_collides(rig, g.pose, stride=3)]
    assert not bad, bad


def test_declared_thumb_contacts_touch(lib):
    """Gestures that declare a thumb pad contact bring the thumb tip within 2.5 cm of that
    finger (its tip, or along it for the lateral pinches and the K handshape)."""
    skel = default_skeleton_for("right")
    chains = {"index": (5, 6, 7, 8), "middle": (9, 10, 11, 12), "ring": (13, 14, 15, 16), "pinky": (17, 18, 19, 20)}
    far = []
    for g in lib:
        kp = skel.forward(g.pose)
        for grp in g.contacts:
            if "thumb" not in grp:
                continue
            for f in grp:
                if f not in chains:
                    continue
                c = chains[f]
                d = collision.segment_distance(kp[4][None], kp[4][None], kp[list(c[:-1])], kp[list(c[1:])]).min()
                if d > 0.025:
                    far.append(f"{g.name}-{f} {1000 * d:.0f} mm")
    assert not far, far


def test_compact_notation_and_overrides():
    e = {"fingers": {"index": "curled", "thumb": [10, 20, 30, 40, 5], "middle": [1, 2, 3, 4]},
         "spread": 10, "wrist": [5, 6, 7], "joints": {"ring_dip": {"flex": 11}}, "default": "extended"}
    p = expand_pose(e)
    J = anatomy.JOINT_INDEX
    assert tuple(p[J["index_mcp"]:J["index_dip"] + 1, 0]) == FINGER_WORDS["curled"]
    assert tuple(p[J["thumb_cmc"]]) == (10, 20, 5) and p[J["thumb_mcp"], 0] == 30 and p[J["thumb_ip"], 0] == 40
    assert p[J["middle_mcp"], 1] == 4  # own abd wins over spread
    assert p[J["index_mcp"], 1] == 10 and p[J["ring_mcp"], 1] == 8 and p[J["pinky_mcp"], 1] == 12
    assert tuple(p[J["wrist"]]) == (5, 6, 7)
    assert p[J["ring_dip"], 0] == 11 and p[J["ring_pip"], 0] == 0  # default extended


def test_bad_entries_raise_clear_errors():
    base = {"name": "x", "category": "c", "description": "d", "tags": ["t"], "contacts": []}
    with pytest.raises(GestureError, match="outside the joint limits"):
        parse_gesture({**base, "joints": {"index_pip": {"flex": 150}}})
    with pytest.raises(GestureError, match="unknown finger word"):
        parse_gesture({**base, "fingers": {"index": "wiggly"}})
    with pytest.raises(GestureError, match="unknown joint"):
        parse_gesture({**base, "joints": {"elbow": {"flex": 1}}})
    with pytest.raises(GestureError, match="unknown keys"):
        parse_gesture({**base, "colour": "red"})


def test_unknown_name_lists_close_matches(lib):
    with pytest.raises(GestureError, match="did you mean.*ok_sign"):
        lib.get("ok_sing")
