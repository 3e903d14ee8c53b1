"""synth.farm: scale-out with the schedulers users already have.

* :mod:`synth.farm.sharding` - deterministic split of a job's ids; Slurm / Kubernetes detection.
* :mod:`synth.farm.local` - render one shard in this process (array-job tasks).
* :mod:`synth.farm.worker` - a render session writing safely into a directory shared by many writers.
* :mod:`synth.farm.ray_executor` - Ray actors pulling chunks of ids, exactly once, recycled.
* :mod:`synth.farm.merge` - ``synth merge``: shard directories into one dataset.
* :mod:`synth.farm.cli` - the ``merge`` command and the scale-out options of ``synth render``.

Nothing here imports bpy or ray at import time.
"""
