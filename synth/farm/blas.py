"""Pin the BLAS thread count so label bytes do not depend on the machine's core count.

OpenBLAS picks different kernels and summation orders for different thread counts, so the same
``numpy`` matmul (hand skinning, label geometry) can differ in the last bits between a process
with 2 BLAS threads and one with 1 (measured: ``keypoint_surface_radius`` differed by 1e-17 m
between a 2-thread driver and a Ray actor, where Ray sets ``OMP_NUM_THREADS=1``). Shards of one
job run on different machines and runtimes, so workers render with one BLAS thread: the BLAS
calls here are tiny and the parallelism comes from processes anyway.

Works on the OpenBLAS libraries loaded in this process (numpy's and scipy's wheels), found in
``/proc/self/maps`` (Linux); elsewhere it does nothing (set ``OPENBLAS_NUM_THREADS=1`` instead).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
from collections.abc import Iterator

logger = logging.getLogger(__name__)

_SETTERS = ("openblas_set_num_threads64_", "openblas_set_num_threads", "scipy_openblas_set_num_threads64_",
            "scipy_openblas_set_num_threads")  # fmt: skip
_GETTERS = ("openblas_get_num_threads64_", "openblas_get_num_threads", "scipy_openblas_get_num_threads64_",
            "scipy_openblas_get_num_threads")  # fmt: skip
_cache: dict[str, tuple[ctypes._CFuncPtr, ctypes._CFuncPtr] | None] = {}


def _openblas_libs() -> list[tuple[ctypes._CFuncPtr, ctypes._CFuncPtr]]:
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line}
    except OSError:
        return []
    out = []
    for p in sorted(paths):
        if p not in _cache:
            _cache[p] = None
            try:
                lib = ctypes.CDLL(p)
            except OSError:
                continue
            setter = next((getattr(lib, n) for n in _SETTERS if hasattr(lib, n)), None)
            getter = next((getattr(lib, n) for n in _GETTERS if hasattr(lib, n)), None)
            if setter is not None and getter is not None:
                setter.argtypes, setter.restype = [ctypes.c_int], None
                getter.argtypes, getter.restype = [], ctypes.c_int
                _cache[p] = (setter, getter)
        if _cache[p] is not None:
            out.append(_cache[p])  # type: ignore[arg-type]
    return out


def set_blas_threads(n: int) -> list[int]:
    """Set every loaded OpenBLAS to ``n`` threads; returns their previous thread counts."""
    prev = []
    for setter, getter in _openblas_libs():
        prev.append(int(getter()))
        setter(int(n))
    return prev


@contextlib.contextmanager
def blas_threads(n: int = 1) -> Iterator[None]:
    """Run a block with ``n`` OpenBLAS threads, restoring the previous counts afterwards."""
    libs = _openblas_libs()
    prev = [int(g()) for _, g in libs]
    for s, _ in libs:
        s(int(n))
    try:
        yield
    finally:
        for (s, _), p in zip(libs, prev, strict=True):
            s(p)
