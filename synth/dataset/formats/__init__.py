"""Packagers: one module per output format, each ``write_<format>(ds, out, split, **options) -> int``."""
