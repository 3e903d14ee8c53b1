"""Human review loop (``synth review``): a local review page whose judgements flow back into
packages (``--exclude-rejected``, ``--min-rating``), preference pairs and generator configs.

Layers (nothing here imports bpy/torch):

* :mod:`synth.review.storage`  -- ``DATASET/reviews/REVIEWER.jsonl``, append-only, one atomic line per action.
* :mod:`synth.review.merge`    -- latest action per reviewer, majority across reviewers, Cohen's kappa.
* :mod:`synth.review.index`    -- per-sample attributes for filters (cached in ``DATASET/.cache/``).
* :mod:`synth.review.server`   -- the stdlib HTTP server and page (``synth/review/static/``).
* :mod:`synth.review.suggest`  -- reject rates -> a config overlay that lowers rejected values' weights.
* :mod:`synth.review.export`   -- human preference pairs in the ``preference`` package format.
"""
