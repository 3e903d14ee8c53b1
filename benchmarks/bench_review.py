"""Review page speed on a 10,000-sample dataset (targets: grid opens < 1 s; one review action < 50 ms).

Builds the dataset cheaply: renders ``--render`` samples with the raster backend at 128 px (or
uses ``--source DATASET``), then writes 10,000 manifest entries whose rgb and label files are
hard links to those samples' files. Then, with the stdlib server and headless Debian chromium:

* server start: the review index built from 10,000 labels (cold) and read from the cache (warm);
* grid open: ``page.goto`` until the first page (48 cards) is rendered, and until its 48
  thumbnails are decoded -- cold (thumbnails made on demand) and warm (cached in .cache/thumbs,
  fresh browser context so nothing comes from the browser cache);
* a filtered page far into the dataset (server-side paging);
* one review action: POST /api/review from the page (fetch, JSON, append + fsync, response),
  100 in a row; median and 95th percentile.

Run: ``python benchmarks/bench_review.py [--n 10000] [--render 8] [--source DATASET]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip


def build(src: Path, dst: Path, n: int) -> None:
    """``dst``: ``n`` manifest entries, rgb/label hard-linked round-robin from ``src``'s samples."""
    from synth.dataset.layout import read_manifest

    entries = list(read_manifest(src).values())
    (dst / "rgb").mkdir(parents=True)
    (dst / "labels").mkdir()
    shutil.copy(src / "dataset.json", dst / "dataset.json")
    lines = []
    for i in range(n):
        e = entries[i % len(entries)]
        files = {"rgb": f"rgb/{i:08d}.png", "label": f"labels/{i:08d}.json"}
        for kind, rel in files.items():
            try:
                os.link(src / e.files[kind], dst / rel)
            except OSError:
                shutil.copy(src / e.files[kind], dst / rel)
        lines.append(json.dumps({"id": i, "files": files, "sha256": {k: e.sha256[k] for k in files},
                                 "bytes": {k: e.bytes[k] for k in files}}))  # fmt: skip
    (dst / "manifest.jsonl").write_text("\n".join(lines) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--render", type=int, default=8, help="raster samples to render (ignored with --source)")
    ap.add_argument("--source", type=Path, default=None, help="an existing dataset to link samples from")
    ap.add_argument("--actions", type=int, default=100)
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from synth.review.server import ReviewApp, ReviewServer

    tmp = Path(tempfile.mkdtemp(prefix="bench_review_"))
    try:
        src = a.source
        if src is None:
            src = tmp / "src"
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "synth.cli", "render", "--renderer", "raster", "--resolution", "128",
                            "--count", str(a.render), "--out", str(src)], check=True, capture_output=True)  # fmt: skip
            print(f"rendered {a.render} raster samples at 128 px in {time.perf_counter() - t0:.1f} s")
        ds = tmp / "ds"
        t0 = time.perf_counter()
        build(src, ds, a.n)
        print(f"dataset: {a.n} samples (hard links) in {time.perf_counter() - t0:.1f} s")

        t0 = time.perf_counter()
        app = ReviewApp(ds, "bench")
        cold_index = time.perf_counter() - t0
        t0 = time.perf_counter()
        app = ReviewApp(ds, "bench")
        warm_index = time.perf_counter() - t0
        print(f"server start (index of {a.n} labels): cold {cold_index:.2f} s, warm (cached) {warm_index:.3f} s")
        srv = ReviewServer(app, "127.0.0.1", 0)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        res: dict[str, float] = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for label in ("cold", "warm"):
                ctx = browser.new_context(viewport={"width": 1400, "height": 860})
                page = ctx.new_page()
                t0 = time.perf_counter()
                page.goto(srv.url)
                page.wait_for_selector("body[data-ready='1']")
                t_grid = time.perf_counter() - t0
                page.wait_for_function("() => [...document.querySelectorAll('.card img')].every(i => i.complete && i.naturalWidth > 0)",
                                       timeout=60_000)  # fmt: skip
                t_thumbs = time.perf_counter() - t0
                n_cards = page.locator(".card").count()
                res[f"grid_{label}"], res[f"thumbs_{label}"] = t_grid, t_thumbs
                print(f"grid open ({label} thumbnails): first page of {n_cards} cards rendered in {t_grid * 1000:.0f} ms, "
                      f"all {n_cards} thumbnails shown in {t_thumbs * 1000:.0f} ms")  # fmt: skip
                if label == "warm":
                    t0 = time.perf_counter()
                    far = page.evaluate("async () => { const t = performance.now(); "
                                        "const r = await fetch('/api/samples?page=150&per=48&state=unreviewed'); "
                                        "const j = await r.json(); return [performance.now() - t, j.items.length, j.total]; }")  # fmt: skip
                    print(f"page 151 of unreviewed samples: {far[0]:.1f} ms server round trip ({far[1]} items of {far[2]})")
                    times = page.evaluate(
                        """async (n) => {
                          const tok = document.querySelector('meta[name="synth-token"]').content; const out = [];
                          for (let i = 0; i < n; i++) {
                            const t = performance.now();
                            const body = JSON.stringify({id: i, verdict: i % 3 ? 'accept' : 'reject', rating: 1 + i % 5,
                                                         reasons: [], note: '', regions: []});
                            const r = await fetch('/api/review', {method: 'POST', body: body,
                              headers: {'Content-Type': 'application/json', 'X-Synth-Token': tok}});
                            await r.json(); out.push(performance.now() - t);
                          }
                          return out; }""",
                        a.actions,
                    )
                    times.sort()
                    med = statistics.median(times)
                    p95 = times[int(0.95 * (len(times) - 1))]
                    res["action_median_ms"], res["action_p95_ms"] = med, p95
                    print(f"review action round trip (fetch POST, append + fsync, response), {len(times)} in a row: "
                          f"median {med:.1f} ms, p95 {p95:.1f} ms, max {times[-1]:.1f} ms")  # fmt: skip
                ctx.close()
            browser.close()
        srv.shutdown()
        srv.server_close()
        lines = (ds / "reviews" / "bench.jsonl").read_text().splitlines()
        assert len(lines) == a.actions, len(lines)
        print(f"targets: grid (cold thumbnails) {res['thumbs_cold'] * 1000:.0f} ms vs 1000 ms -> "
              f"{1.0 / res['thumbs_cold']:.2f}x; review action p95 {res['action_p95_ms']:.1f} ms vs 50 ms -> "
              f"{50 / res['action_p95_ms']:.1f}x")  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
