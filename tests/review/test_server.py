"""The review server over real HTTP: routes, paging, path traversal, session token, Host checks."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from pathlib import Path

import pytest


def _req(srv, method: str, path: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    host, port = srv.server_address[:2]
    c = http.client.HTTPConnection(host, port, timeout=10)
    data = json.dumps(body).encode() if body is not None else None
    h = {"Content-Type": "application/json", **(headers or {})}
    c.request(method, path, body=data, headers=h)  # http.client sends the path verbatim (no normalisation)
    r = c.getresponse()
    out = r.status, r.read()
    c.close()
    return out


def test_page_and_api(server, review_ds: Path) -> None:
    status, page = _req(server, "GET", "/")
    assert status == 200 and server.app.token.encode() in page
    assert b"http://" not in page and b"https://" not in page  # nothing fetched from the network
    for name in ("app.js", "app.css"):
        status, body = _req(server, "GET", f"/static/{name}")
        assert status == 200 and b"http://" not in body and b"https://" not in body
    meta = json.loads(_req(server, "GET", "/api/meta")[1])
    assert meta["counts"]["total"] == 30 and set(meta["filters"]) >= {"gesture", "monk", "camera_mode", "two_hands"}
    g, n = meta["filters"]["gesture"]["values"][0]
    got = json.loads(_req(server, "GET", f"/api/samples?per=7&page=0&f.gesture={g}")[1])
    assert got["total"] == n and len(got["items"]) == min(7, n) and all(it["attrs"]["gesture"] == g for it in got["items"])
    s = json.loads(_req(server, "GET", "/api/sample/4")[1])
    assert len(s["label"]["keypoints_2d"]) == 21 and s["kinds"][:1] == ["rgb"]
    status, thumb = _req(server, "GET", "/thumb/4")
    assert status == 200 and thumb[:3] == b"\xff\xd8\xff"
    assert list((review_ds / ".cache" / "thumbs").glob("00000004-rgb-*.jpg"))
    for kind in ("rgb", "parts", "depth", "normals"):
        status, png = _req(server, "GET", f"/view/4/{kind}")
        assert status == 200 and png[:8] == b"\x89PNG\r\n\x1a\n", kind


@pytest.mark.parametrize("path", [
    "/../dataset.json", "/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/%2e%2e%2fdataset.json",
    "/static/../server.py", "/static/..%2fserver.py", "/static/%2e%2e/storage.py", "//etc/passwd", "/etc/passwd",
    "/view/4/../../dataset.json", "/view/4/label", "/view/4/rgb/../label", "/view/4/%2e%2e", "/view/../4/rgb",
    "/thumb/4/../../manifest.jsonl", "/view/999/rgb", "/thumb/-1", "/view/4/mesh", "/manifest.jsonl",
    "/rgb/00000004.png", "/reviews/alice.jsonl", "/.cache/review/index.json", "/view/4//etc/passwd",
    "http://127.0.0.1/../dataset.json", "/view/4/%2e%2e%2f%2e%2e%2fdataset.json", "/view/4/rgb%00", "/static/app.js/../../cli.py",
])  # fmt: skip
def test_path_traversal_is_404(server, path: str) -> None:
    status, body = _req(server, "GET", path)
    assert status == 404, (path, status)
    assert b"root:" not in body and b"keypoints" not in body and b"\x89PNG" not in body


def test_manifest_path_outside_dataset_is_refused(server, review_ds: Path) -> None:
    app = server.app
    e = app.entries[5]
    app.entries[5] = type(e)(e.id, {**e.files, "depth": "../../../../etc/hostname"}, e.sha256, e.bytes)
    assert _req(server, "GET", "/view/5/depth")[0] == 404


def test_state_changes_need_the_token(server, review_ds: Path) -> None:
    body = {"id": 2, "verdict": "reject", "reasons": ["skin"]}
    assert _req(server, "POST", "/api/review", body)[0] == 403
    assert _req(server, "POST", "/api/review", body, {"X-Synth-Token": "wrong"})[0] == 403
    assert _req(server, "POST", "/api/review", body, {"X-Synth-Token": server.app.token[:-1]})[0] == 403
    assert not (review_ds / "reviews" / "alice.jsonl").exists()
    tok = {"X-Synth-Token": server.app.token}
    assert _req(server, "POST", "/api/review", body, {**tok, "Origin": "http://evil.example"})[0] == 403
    assert _req(server, "GET", "/", headers={"Host": "evil.example:8765"})[0] == 403  # DNS rebinding
    status, out = _req(server, "POST", "/api/review", body, tok)
    assert status == 200 and json.loads(out)["record"]["verdict"] == "reject"
    assert _req(server, "POST", "/api/review", {"id": 9999, "verdict": "accept"}, tok)[0] == 400
    assert _req(server, "POST", "/api/review", {"id": 2, "verdict": "nah"}, tok)[0] == 400
    assert _req(server, "POST", "/api/pair", {"a": 1, "b": 2, "choice": "a"}, tok)[0] == 200
    lines = (review_ds / "reviews" / "alice.jsonl").read_text().splitlines()
    assert [json.loads(x)["type"] for x in lines] == ["review", "pair"]
    # Rendered samples untouched: validate still passes byte for byte.
    from synth.dataset.validate import validate_dataset

    assert validate_dataset(review_ds).ok


def test_cli_public_host_warns_and_bad_reviewer_fails(review_ds: Path) -> None:
    from click.testing import CliRunner

    from synth.cli import cli

    r = CliRunner().invoke(cli, ["review", str(review_ds), "--reviewer", "../x"])
    assert r.exit_code != 0 and "reviewer" in r.output
    r = CliRunner().invoke(cli, ["review", str(review_ds / "nope")])
    assert r.exit_code != 0
    # A public --host prints the warning before binding (port 1 cannot be bound without privileges;
    # the warning must come first either way). Run in a subprocess with a short timeout.
    code = ("import sys; from synth.cli import main; sys.argv=['synth','review',sys.argv[1],'--host','0.0.0.0',"
            "'--port','0','--reviewer','t']; main()")
    p = subprocess.Popen([sys.executable, "-c", code, str(review_ds)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env={**__import__("os").environ, "PYTHONPATH": str(Path(__file__).parents[2])}, text=True)
    try:
        out, err = p.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    assert "warning: --host 0.0.0.0 is not a loopback address" in err
    assert "synth review: http://" in out


def test_cli_group_forms(review_ds: Path) -> None:
    from click.testing import CliRunner

    from synth.cli import cli

    r = CliRunner().invoke(cli, ["review", "--help"])
    assert r.exit_code == 0 and "merge" in r.output and "suggest" in r.output and "export" in r.output
    r = CliRunner().invoke(cli, ["review", "serve", "--help"])
    assert r.exit_code == 0 and "--reviewer" in r.output and "127.0.0.1" in r.output
    r = CliRunner().invoke(cli, ["review", "--reviewer", "a/b", str(review_ds)])  # options before the dataset
    assert r.exit_code != 0 and "reviewer" in r.output
