"""Render a shard of a job inside Blender: the same code path as ``synth render``.

Two runtimes, same results:

* **bpy module** (pip ``bpy==5.0.*``, Python 3.11)::

      synth render --out DIR --count 100 --seed 0 --start 0

* **Blender 5.0 binary** (farms, machines with a system Blender)::

      blender -b --factory-startup -P blender_scripts/render_shard.py -- \\
          --out DIR --count 100 --seed 0 --start 0

  Blender's bundled Python needs synth's dependencies: ``<blender>/5.0/python/bin/python3.11 -m
  pip install -e .`` (or put a matching site-packages on ``PYTHONPATH``). This script adds the
  repository root to ``sys.path`` so an uninstalled checkout works too.

Only the arguments after ``--`` are parsed (Blender's own arguments come before it), with the
very same click command as ``synth render``, which calls :func:`synth.render.job.run_job`; so a
shard rendered here has the same labels and image bytes as the same ids rendered by the CLI.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def args_after_dashdash(argv: list[str]) -> list[str]:
    """The arguments after the first ``--`` (none if there is no ``--``)."""
    return argv[argv.index("--") + 1:] if "--" in argv else []


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv``) after ``--`` and render; returns the exit code."""
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    from synth.render.cli import render_command

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = args_after_dashdash(sys.argv if argv is None else argv)
    try:
        render_command.main(args=args, prog_name="render_shard.py --", standalone_mode=False)
    except Exception as exc:  # click errors and failures: one line, non-zero exit
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            return exc.exit_code
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
