"""Golden sha256 manifests of small fixed jobs: the byte-for-byte guard of refactors.

Usage::

    python benchmarks/golden.py make   [--keep DIR] [JOB ...]   # (re)write tests/golden/JOB.sha256
    python benchmarks/golden.py check  [--keep DIR] [JOB ...]   # compare; exit 1 on any difference
    python benchmarks/golden.py diff   REF_DIR NEW_DIR          # which label/dataset.json keys differ

Each job runs ``synth render`` in a fresh subprocess into a temporary directory and hashes
every file it wrote (``dataset.json``, ``manifest.jsonl``, every pass, label and mesh file).
A refactor must keep every hash; a deliberate difference is a named fix committed together with
the regenerated manifest. ``--keep DIR`` keeps the rendered datasets (``DIR/JOB``) so that
``diff`` can name the JSON keys that changed.

Cycles on the CPU is deterministic on one machine in almost every run (same build; the job pins
one BLAS thread), so the manifests are exact on the machine that wrote them. Not always: under a
load average of about 10 on 2 cores, one run in roughly 40 job renders wrote one Cycles normals EXR
(props_all normals/00000002.exr) with different bytes, and the rerun matched; a second time it was one
pixel of props_all normals/00000003.exr, by one float32 ulp (6e-8). ``check`` therefore
re-renders a differing job once and reports it UNSTABLE (not failed) when the rerun matches.
Another CPU or Blender build may round differently in the RGB and EXR passes; the label JSON of
the raster job is the portable part.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"

_BASE = ["--count", "4", "--resolution", "64", "--samples", "1", "--seed", "7"]
#: Job name -> ``synth render`` arguments (4-6 samples, 64 px, 1 spp).
JOBS: dict[str, list[str]] = {
    "default": _BASE,
    "props_all": [*_BASE, "--props", "all", "--save-mesh"],
    "accessories": [*_BASE, "--set", "accessories.sleeve_prob=1", "--set", "accessories.watch_prob=1",
                    "--set", "accessories.bracelet_prob=1", "--set", "accessories.ring_prob=1", "--side", "both"],
    "raster": ["--count", "6", "--resolution", "64", "--seed", "7", "--renderer", "raster", "--side", "both",
               "--save-mesh"],
}


def run_job(name: str, out: Path) -> None:
    """Render job ``name`` into ``out`` (a fresh directory) in a subprocess."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    # A relative --out (run from the parent directory) so dataset.json's config.out is the same
    # wherever the job runs.
    cmd = [sys.executable, "-m", "synth.cli", "render", "--out", out.name, *JOBS[name]]
    proc = subprocess.run(cmd, env=env, cwd=out.parent, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise SystemExit(f"golden job {name} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


def hashes(root: Path) -> dict[str, str]:
    """``relative posix path -> sha256`` of every file under ``root``."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def manifest_text(h: dict[str, str]) -> str:
    return "".join(f"{d}  {f}\n" for f, d in sorted(h.items()))


def read_manifest(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        digest, name = line.split("  ", 1)
        out[name] = digest
    return out


def _render(name: str, keep: Path | None) -> dict[str, str]:
    if keep is not None:
        out = keep / name
        if out.exists():
            import shutil

            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        run_job(name, out)
        return hashes(out)
    with tempfile.TemporaryDirectory(prefix=f"golden_{name}_") as tmp:
        run_job(name, Path(tmp) / name)
        return hashes(Path(tmp) / name)


def _json_diff(a: object, b: object, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: {'added' if k not in a else 'removed'}")
            else:
                out += _json_diff(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _json_diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {str(a)[:80]} -> {str(b)[:80]}"]


def diff(ref: Path, new: Path) -> int:
    """Print the files and JSON keys that differ between two kept job directories."""
    ha, hb = hashes(ref), hashes(new)
    n = 0
    for f in sorted(set(ha) | set(hb)):
        if ha.get(f) == hb.get(f):
            continue
        n += 1
        print(f"{f}: {'missing' if f not in hb else 'new' if f not in ha else 'differs'}")
        if f.endswith(".json") and f in ha and f in hb:
            for d in _json_diff(json.loads((ref / f).read_text()), json.loads((new / f).read_text()))[:20]:
                print("   ", d)
    return 1 if n else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=["make", "check", "diff"])
    ap.add_argument("jobs", nargs="*", help="job names (default: all); for diff: REF_DIR NEW_DIR")
    ap.add_argument("--keep", type=Path, help="keep the rendered datasets under this directory")
    ap.add_argument("--no-rerun", action="store_true", help="check: fail at once instead of rerunning a differing job")
    a = ap.parse_args(argv)
    if a.action == "diff":
        return diff(Path(a.jobs[0]), Path(a.jobs[1]))
    names = a.jobs or list(JOBS)
    bad = [n for n in names if n not in JOBS]
    if bad:
        ap.error(f"unknown job(s) {', '.join(bad)}; choose from {', '.join(JOBS)}")
    status = 0
    for name in names:
        h = _render(name, a.keep)
        path = GOLDEN / f"{name}.sha256"
        if a.action == "make":
            GOLDEN.mkdir(parents=True, exist_ok=True)
            path.write_text(manifest_text(h))
            print(f"{name}: wrote {len(h)} hashes to {path.relative_to(ROOT)}")
            continue
        ref = read_manifest(path)
        changed = sorted(f for f in set(ref) | set(h) if ref.get(f) != h.get(f))
        if changed and not a.no_rerun:  # Cycles is not always bit-stable under load: one rerun
            h2 = _render(name, a.keep)
            changed2 = sorted(f for f in set(ref) | set(h2) if ref.get(f) != h2.get(f))
            if not changed2:
                print(f"{name}: UNSTABLE: {', '.join(changed)} differed, then matched on a rerun")
                continue
            changed = changed2
        if changed:
            status = 1
            print(f"{name}: {len(changed)} of {len(ref)} files differ: {', '.join(changed[:12])}"
                  + (" ..." if len(changed) > 12 else ""))
        else:
            print(f"{name}: {len(h)} files byte-identical")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
