"""Everyday props held by the hand: procedural meshes with materials, and grasp fitting.

Pure numpy + trimesh (no Blender). Public API:

* :func:`make_prop` ``(name, rng) -> Prop`` and :data:`PROP_NAMES` (:mod:`synth.props.library`);
* :func:`fit_grasp` ``(hand_rig, shape, pose_deg, contacts, prop_name, rng) -> GraspFit | None``
  and :func:`sample_fit` (draw a grasp/prop pair, re-draw failures) (:mod:`synth.props.fitting`);
* :data:`GRASP_CONTACTS` (Feix grasp -> hand regions touching the object) and
  :func:`contact_regions` (region -> vertex ids of a rig), :data:`HANDLE_GRASPS` (grasps that
  hold a mug by its handle -> the regions touching the handle) (:mod:`synth.props.grasps`).
"""

from synth.props.fitting import FitConfig, GraspFit, affording_pairs, fit_contacts, fit_grasp, sample_fit
from synth.props.grasps import GRASP_CONTACTS, HANDLE_GRASPS, REGIONS, contact_regions
from synth.props.library import PROP_NAMES, Material, Prop, affordances, make_prop, props_affording

__all__ = [
    "GRASP_CONTACTS",
    "HANDLE_GRASPS",
    "PROP_NAMES",
    "REGIONS",
    "FitConfig",
    "GraspFit",
    "Material",
    "Prop",
    "affordances",
    "affording_pairs",
    "contact_regions",
    "fit_contacts",
    "fit_grasp",
    "make_prop",
    "props_affording",
    "sample_fit",
]
