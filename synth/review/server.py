"""``synth review DATASET``: a local review page on Python's stdlib HTTP server.

Security model:

* binds ``127.0.0.1`` by default; another ``--host`` prints a warning (anyone who can reach the
  port can read the dataset);
* serves only the files a sample's manifest entry lists, addressed by ``(sample id, pass name)``
  -- a client never supplies a path, so ``..``, ``%2e%2e`` or absolute paths in URLs match no
  route (404); a manifest path that resolves outside the dataset is refused too;
* state-changing requests (POST) need the per-session token (``secrets.token_urlsafe``) that is
  embedded in the page; a missing or wrong token is answered 403; a foreign ``Origin`` is 403;
* the ``Host`` header must name this server (defeats DNS rebinding against the loopback port);
* the page's JS and CSS are package data (``synth/review/static/``), served with a
  Content-Security-Policy of ``'self'``: nothing is fetched from the network.

Routes: ``/`` (page), ``/static/app.js|app.css``, ``GET /api/meta``, ``GET /api/samples``
(server-side paging and filters), ``GET /api/sample/ID``, ``GET /api/pair`` (next pair),
``GET /thumb/ID`` (lazy cached JPEG), ``GET /view/ID/PASS`` (PNG of a pass: colourised parts /
depth / artifact mask), ``POST /api/review``, ``POST /api/pair``.
"""

from __future__ import annotations

import html
import ipaddress
import json
import logging
import os
import re
import secrets
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from synth.dataset.layout import LABEL_KEY, ManifestEntry, read_manifest
from synth.hand.keypoints import SKELETON
from synth.review import storage
from synth.review.index import ARTIFACT_KINDS, FILTERS, TWIN_KINDS, VIEW_KINDS, build_index, cache_dir
from synth.review.thumbs import cached_thumb, view_png

logger = logging.getLogger(__name__)

DEFAULT_PORT = 8765
STATES = ("all", "unreviewed", "accept", "reject", "rated", "flagged")
MAX_BODY = 64 << 10
_STATIC = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}
_ROUTE_ID = re.compile(r"^/(thumb|api/sample)/(\d{1,12})$")
_ROUTE_VIEW = re.compile(r"^/view/(\d{1,12})/([a-z_]{1,32})$")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")  # fmt: skip


def is_loopback(host: str) -> bool:
    """Whether ``host`` (name or address) is a loopback address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ReviewApp:
    """The state behind the page: dataset index, this reviewer's latest reviews, the token."""

    def __init__(self, root: str | os.PathLike[str], reviewer: str, token: str | None = None) -> None:
        self.root = Path(root).resolve()
        self.reviewer = storage.check_reviewer(reviewer)
        self.token = token or secrets.token_urlsafe(32)
        from synth.defects.twin import with_twin_files

        self.entries: dict[int, ManifestEntry] = with_twin_files(self.root, read_manifest(self.root))
        self.samples = build_index(self.root)
        self.by_id = {s["id"]: s for s in self.samples}
        self.cache = cache_dir(self.root)
        acts = storage.read_actions(self.root, self.reviewer)
        self.reviews = storage.latest_reviews(acts)
        self.pairs_done = {(a["a"], a["b"], a.get("source")) for a in acts if a["type"] == "pair"}
        self.lock = threading.Lock()
        self.has_twins = any(set(s["kinds"]) & set(TWIN_KINDS) for s in self.samples)
        self.allowed_hosts: set[str] = set()
        self._filter_values = self._values()

    # ---- queries -----------------------------------------------------------------------
    def _values(self) -> dict[str, list[list[Any]]]:
        out: dict[str, dict[str, int]] = {k: {} for k in FILTERS}
        for s in self.samples:
            for k in FILTERS:
                v = s["attrs"].get(k, "-")
                out[k][v] = out[k].get(v, 0) + 1
        return {k: sorted(([v, n] for v, n in d.items()), key=lambda x: (-x[1], x[0])) for k, d in out.items()}

    def state_of(self, i: int) -> dict[str, Any]:
        r = self.reviews.get(i)
        if r is None:
            return {"verdict": None, "rating": None, "reasons": [], "note": "", "regions": []}
        return {k: r[k] for k in ("verdict", "rating", "reasons", "note", "regions")}

    def counts(self) -> dict[str, int]:
        ids = self.by_id
        v = [r["verdict"] for i, r in self.reviews.items() if i in ids]
        return {"total": len(self.samples), "reviewed": sum(x is not None for x in v), "accept": v.count("accept"),
                "reject": v.count("reject"), "rated": sum(r["rating"] is not None for i, r in self.reviews.items() if i in ids)}

    def meta(self) -> dict[str, Any]:
        return {"reviewer": self.reviewer, "dataset": self.root.name, "reasons": storage.REASONS,
                "filters": {k: {"label": FILTERS[k], "values": self._filter_values[k]} for k in FILTERS},
                "states": STATES, "has_twins": self.has_twins, "counts": self.counts(),
                "skeleton": [list(e) for e in SKELETON]}

    def _match(self, s: dict[str, Any], filt: dict[str, str], state: str) -> bool:
        for k, v in filt.items():
            if s["attrs"].get(k) != v:
                return False
        if state == "all":
            return True
        r = self.reviews.get(s["id"])
        verdict = r["verdict"] if r else None
        if state == "unreviewed":
            return verdict is None
        if state == "rated":
            return r is not None and r["rating"] is not None
        if state == "flagged":
            return r is not None and bool(r["regions"] or r["reasons"])
        return verdict == state

    def page(self, query: dict[str, list[str]]) -> dict[str, Any]:
        def one(name: str, default: str) -> str:
            return (query.get(name) or [default])[0]

        try:
            page, per = max(0, int(one("page", "0"))), min(500, max(1, int(one("per", "48"))))
        except ValueError:
            raise storage.ReviewError("page and per must be integers") from None
        state = one("state", "all")
        if state not in STATES:
            raise storage.ReviewError(f"state must be one of {STATES}")
        filt = {k[2:]: v[0] for k, v in query.items() if k.startswith("f.") and k[2:] in FILTERS and v and v[0]}
        with self.lock:
            hits = [s for s in self.samples if self._match(s, filt, state)]
            items = [{**s, "state": self.state_of(s["id"])} for s in hits[page * per : (page + 1) * per]]
            counts = self.counts()
        return {"total": len(hits), "page": page, "per": per, "items": items, "counts": counts}

    def sample(self, i: int) -> dict[str, Any] | None:
        s = self.by_id.get(i)
        if s is None:
            return None
        label = json.loads(self.file_path(i, LABEL_KEY).read_text("utf-8"))
        keep = ("image_size", "keypoints_2d", "visibility", "bbox", "handedness", "gesture", "caption", "attributes",
                "objects", "hands", "defect", "defects")
        with self.lock:
            state = self.state_of(i)
        return {**s, "label": {k: label[k] for k in keep if k in label}, "state": state,
                "artifact_kinds": [k for k in s["kinds"] if k in ARTIFACT_KINDS],
                "twin_kind": next((k for k in s["kinds"] if k in TWIN_KINDS), None)}

    def file_path(self, i: int, kind: str) -> Path:
        """Path of a manifest-listed file (KeyError when not listed or outside the dataset)."""
        rel = self.entries[i].files[kind]
        p = (self.root / rel).resolve()
        if not p.is_relative_to(self.root) or not p.is_file():
            raise KeyError(kind)
        return p

    def next_pair(self, skip: int = 0) -> dict[str, Any] | None:
        """The next pair to judge: a sample and its defect twin when the dataset has twins (in id
        order, not yet judged by this reviewer), else two samples drawn by a generator seeded with
        the number of pairs judged so far (reproducible, no global RNG)."""
        with self.lock:
            done = set(self.pairs_done)
        if self.has_twins:
            todo = [s for s in self.samples if set(s["kinds"]) & set(TWIN_KINDS) and (s["id"], s["id"], "twin") not in done]
            if not todo:
                return None
            s = todo[min(skip, len(todo) - 1)]
            twin = next(k for k in s["kinds"] if k in TWIN_KINDS)
            return {"source": "twin", "a": s["id"], "b": s["id"], "a_kind": "rgb", "b_kind": twin, "caption": s["caption"],
                    "left": len(todo)}
        ids = [s["id"] for s in self.samples if "rgb" in s["kinds"]]
        if len(ids) < 2:
            return None
        # the page's own pair draw (not generated content): an explicit Generator seeded by the progress
        pick = np.random.default_rng([len(done), skip]).choice(len(ids), 2, replace=False)
        a, b = ids[int(pick[0])], ids[int(pick[1])]
        return {"source": "random", "a": a, "b": b, "a_kind": "rgb", "b_kind": "rgb",
                "caption": self.by_id[a]["caption"], "caption_b": self.by_id[b]["caption"], "left": None}

    # ---- actions -----------------------------------------------------------------------
    def act(self, action: dict[str, Any]) -> dict[str, Any]:
        if action.get("type") == "review":
            if action.get("id") not in self.by_id:
                raise storage.ReviewError(f"no sample {action.get('id')!r} in this dataset")
            size = self.by_id[action["id"]].get("size")
            regions = action.get("regions") or []
            if size and isinstance(regions, list) and any(
                    isinstance(r, list) and len(r) == 4 and (r[2] > size[0] or r[3] > size[1]) for r in regions):  # fmt: skip
                raise storage.ReviewError(f"a region lies outside the {size[0]}x{size[1]} image")
        if action.get("type") == "pair":
            for k in ("a", "b"):
                if action.get(k) not in self.by_id:
                    raise storage.ReviewError(f"no sample {action.get(k)!r} in this dataset")
        rec = storage.append_action(self.root, self.reviewer, action)
        with self.lock:
            if rec["type"] == "review":
                self.reviews[rec["id"]] = rec
            else:
                self.pairs_done.add((rec["a"], rec["b"], rec.get("source")))
            counts = self.counts()
        return {"ok": True, "record": rec, "counts": counts}

    # ---- page --------------------------------------------------------------------------
    def page_html(self) -> bytes:
        tpl = resources.files("synth.review").joinpath("static/index.html").read_text("utf-8")
        return (tpl.replace("{{TOKEN}}", html.escape(self.token, quote=True))
                .replace("{{REVIEWER}}", html.escape(self.reviewer))
                .replace("{{DATASET}}", html.escape(self.root.name))).encode("utf-8")


class Handler(BaseHTTPRequestHandler):
    """Request handler; ``server.app`` is the :class:`ReviewApp`."""

    server_version = "synth-review"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: without this, delayed ACKs add ~40 ms

    @property
    def app(self) -> ReviewApp:
        return self.server.app  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        logger.debug("%s " + format, self.address_string(), *args)

    def _send(self, status: int, body: bytes, ctype: str, cache: str = "no-store") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Content-Security-Policy", CSP)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, obj: Any, status: int = 200) -> None:
        self._send(status, json.dumps(obj, separators=(",", ":")).encode(), "application/json")

    def _error(self, status: int, msg: str) -> None:
        self._json({"ok": False, "error": msg}, status)

    def _host_ok(self) -> bool:
        host = (self.headers.get("Host") or "").strip().lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        allowed = self.app.allowed_hosts
        return not allowed or "*" in allowed or name.strip("[]") in allowed

    def do_GET(self) -> None:  # noqa: N802
        if not self._host_ok():
            return self._error(HTTPStatus.FORBIDDEN, "unknown Host header")
        url = urlsplit(self.path)
        path, query = url.path, parse_qs(url.query)
        app = self.app
        try:
            if path in ("/", "/index.html"):
                return self._send(200, app.page_html(), "text/html; charset=utf-8")
            if path.startswith("/static/") and path[8:] in _STATIC:
                body = resources.files("synth.review").joinpath("static", path[8:]).read_bytes()
                return self._send(200, body, _STATIC[path[8:]], "no-cache")
            if path == "/api/meta":
                return self._json(app.meta())
            if path == "/api/samples":
                return self._json(app.page(query))
            if path == "/api/pair":
                skip = int((query.get("skip") or ["0"])[0]) if (query.get("skip") or ["0"])[0].isdigit() else 0
                return self._json({"pair": app.next_pair(skip)})
            m = _ROUTE_ID.match(path)
            if m:
                i = int(m.group(2))
                if i not in app.by_id:
                    return self._error(404, "no such sample")
                if m.group(1) == "thumb":
                    kind = (query.get("kind") or ["rgb"])[0]
                    if kind not in ("rgb", *TWIN_KINDS) or kind not in app.entries[i].files:
                        return self._error(404, "no such image")
                    data = cached_thumb(app.cache, app.file_path(i, kind), app.entries[i], kind)
                    return self._send(200, data, "image/jpeg", "private, max-age=3600")
                return self._json(app.sample(i))
            m = _ROUTE_VIEW.match(path)
            if m:
                i, kind = int(m.group(1)), m.group(2)
                if i not in app.by_id or kind not in VIEW_KINDS or kind not in app.entries[i].files:
                    return self._error(404, "no such pass")
                src = app.file_path(i, kind)
                if src.suffix.lower() == ".png" and kind in ("rgb", *TWIN_KINDS):
                    return self._send(200, src.read_bytes(), "image/png", "private, max-age=3600")
                return self._send(200, view_png(src, kind), "image/png", "private, max-age=3600")
            return self._error(404, "not found")
        except storage.ReviewError as exc:
            return self._error(400, str(exc))
        except KeyError:
            return self._error(404, "not found")
        except (BrokenPipeError, ConnectionResetError):
            return None
        except Exception as exc:  # keep serving; the reviewer sees the error
            logger.exception("GET %s failed", path)
            return self._error(500, f"{type(exc).__name__}: {exc}")

    do_HEAD = do_GET

    def do_POST(self) -> None:  # noqa: N802
        if not self._host_ok():
            return self._error(HTTPStatus.FORBIDDEN, "unknown Host header")
        origin = self.headers.get("Origin")
        if origin and urlsplit(origin).netloc.lower() != (self.headers.get("Host") or "").lower():
            return self._error(HTTPStatus.FORBIDDEN, "cross-origin request")
        token = self.headers.get("X-Synth-Token") or ""
        if not secrets.compare_digest(token.encode(), self.app.token.encode()):
            return self._error(HTTPStatus.FORBIDDEN, "missing or wrong session token")
        path = urlsplit(self.path).path
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            n = -1
        if not 0 < n <= MAX_BODY:
            return self._error(HTTPStatus.BAD_REQUEST, f"body must be 1..{MAX_BODY} bytes of JSON")
        try:
            body = json.loads(self.rfile.read(n).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return self._error(HTTPStatus.BAD_REQUEST, "body is not JSON")
        if not isinstance(body, dict):
            return self._error(HTTPStatus.BAD_REQUEST, "body must be a JSON object")
        kind = {"/api/review": "review", "/api/pair": "pair"}.get(path)
        if kind is None:
            return self._error(404, "not found")
        try:
            return self._json(self.app.act({**body, "type": kind}))
        except storage.ReviewError as exc:
            return self._error(400, str(exc))
        except OSError as exc:
            logger.exception("cannot store a review")
            return self._error(500, f"cannot write the review file: {exc}")


class ReviewServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, app: ReviewApp, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
        super().__init__((host, port), Handler)
        self.app = app
        if is_loopback(host):
            app.allowed_hosts = {"127.0.0.1", "localhost", "::1", host.strip("[]").lower()}
        elif host in ("0.0.0.0", "::", ""):
            app.allowed_hosts = {"*"}
        else:
            app.allowed_hosts = {"127.0.0.1", "localhost", "::1", host.strip("[]").lower()}

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser dropping a keep-alive connection is normal; log the rest."""
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, TimeoutError)):
            return
        logger.exception("request from %s failed", client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        shown = f"[{shown}]" if ":" in str(shown) else shown
        return f"http://{shown}:{port}/"


def make_server(root: str | os.PathLike[str], reviewer: str, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> ReviewServer:
    """Build the app and bind the server (``port`` 0 picks a free port)."""
    return ReviewServer(ReviewApp(root, reviewer), host, port)
