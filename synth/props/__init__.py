"""Everyday props held by the hand: procedural meshes with materials, and grasp fitting.

Public API: :func:`make_prop` / :class:`Prop` (:mod:`synth.props.library`) and
:func:`fit_grasp` / :class:`GraspFit` (:mod:`synth.props.fitting`). Pure numpy/trimesh.
"""
