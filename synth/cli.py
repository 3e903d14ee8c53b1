"""The ``synth`` command line: a thin click layer over the library.

Each area registers its own commands (``register(group)`` in ``synth/<area>/cli.py``) so the
CLI stays thin and nothing heavy is imported until a command runs.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from synth import __version__

_AREAS = ("synth.hand.cli", "synth.gestures.cli", "synth.render.cli", "synth.dataset.cli", "synth.farm.cli",
          "synth.review.cli")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="synth")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """synth: synthetic hand images with exact labels."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


for _mod in _AREAS:
    try:
        importlib.import_module(_mod).register(cli)
    except ModuleNotFoundError as _exc:  # an area not written yet
        if _exc.name != _mod:
            raise


def main() -> None:
    """Console-script entry point: an unexpected ``OSError`` (disk full, permissions) is one line
    naming the path, exit 1; Ctrl-C outside a render job exits 130 without a traceback."""
    try:
        cli(prog_name="synth")
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        click.echo(f"Error:{where} {exc.strerror or exc}" if where else f"Error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
