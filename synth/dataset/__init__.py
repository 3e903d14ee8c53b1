"""synth.dataset: the dataset directory as a product.

* :mod:`~synth.dataset.layout`: ids, paths, ``dataset.json`` and ``manifest.jsonl``.
* :mod:`~synth.dataset.writer`: :class:`~synth.dataset.writer.DatasetWriter`, atomic and resumable
  (the manifest lists a sample only after all its files are complete; SIGKILL-safe).
* :mod:`~synth.dataset.validate`: ``synth validate DIR`` (files, sha256, decoding, label schema and
  geometry, depth vs visibility).
* :mod:`~synth.dataset.package` + :mod:`~synth.dataset.formats`: ``synth package DIR --format
  {coco,webdataset,parquet,controlnet,freihand} --out OUT [--split train=0.9,val=0.05,test=0.05]``
  with deterministic by-id-hash splits (:mod:`~synth.dataset.splits`).
* :mod:`~synth.dataset.preview`: ``synth preview DIR --out sheet.png``, a contact sheet.
* :mod:`~synth.dataset.stats`: ``synth stats DIR``, the dataset card ``DIR/README.md`` with plots.
* The reader is :class:`synth.data.HandDataset` (numpy; ``.torch()`` for a torch Dataset).
"""
