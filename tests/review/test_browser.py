"""The review page driven as a person would: headless Debian chromium through Playwright.

Reviews 20 samples with the keyboard, marks regions by drag and click, reloads and checks that
the page and ``reviews/alice.jsonl`` agree, exercises filters and the pairs mode, and saves
screenshots of the grid and the detail view (also copied to ``shots/`` of the checkout when it
exists, for people to look at). Never downloads a browser: without /usr/bin/chromium the test
skips, except under CI (``CI=true``) where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
SHOTS = Path(__file__).parents[2] / "shots"


def _browser_or_skip():  # noqa: ANN202
    ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if ci:
            pytest.fail("playwright is not installed (pip install -e '.[dev]')")
        pytest.skip("playwright is not installed")
    if not Path(CHROMIUM).exists():
        if ci:
            pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing")
    return sync_playwright


def _shot(page, tmp_path: Path, name: str) -> None:  # noqa: ANN001
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path))
    if SHOTS.parent.joinpath(".git").exists():
        SHOTS.mkdir(exist_ok=True)
        shutil.copy(path, SHOTS / path.name)


def _latest(path: Path) -> dict[int, dict]:
    out = {}
    for line in path.read_text().splitlines():
        d = json.loads(line)
        if d["type"] == "review":
            out[d["id"]] = d
    return out


def test_review_twenty_samples_with_the_keyboard(server, review_ds: Path, tmp_path: Path) -> None:
    sync_playwright = _browser_or_skip()
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 860})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("request", lambda r: requests.append(r.url))
        page.goto(server.url)
        page.wait_for_selector("body[data-ready='1']")
        assert page.locator(".card").count() == 30
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.getElementById('d-id').textContent === '#0'")
        expected: dict[int, dict] = {}
        for i in range(20):
            if i % 3 == 0:  # reject with a reason and a low rating, then move on
                page.keyboard.press("r")
                page.keyboard.press("o")  # anatomically wrong pose
                page.keyboard.press("2")
                expected[i] = {"verdict": "reject", "rating": 2, "reasons": ["bad_pose"]}
                if i == 0:  # "other" with text: t focuses the note field, Enter saves it
                    page.keyboard.press("t")
                    page.wait_for_function("() => document.activeElement.id === 'note'")
                    page.keyboard.type("thumb nail on the palm side")
                    page.keyboard.press("Enter")
                    expected[i]["reasons"] = ["bad_pose", "other"]
                    expected[i]["note"] = "thumb nail on the palm side"
                page.keyboard.press("ArrowRight")
            else:  # rate, then accept (accept moves to the next sample)
                page.keyboard.press(str(1 + i % 5))
                page.keyboard.press("a")
                expected[i] = {"verdict": "accept", "rating": 1 + i % 5, "reasons": []}
            page.wait_for_function(f"() => document.getElementById('d-id').textContent === '#{i + 1}'")
        # Mark regions on sample 19: a drag and a click.
        page.keyboard.press("ArrowLeft")
        page.wait_for_function("() => document.getElementById('d-id').textContent === '#19'")
        page.wait_for_function("() => document.getElementById('canvas').width > 0")
        box = page.locator("#canvas").bounding_box()
        W = 96
        s = box["width"] / W
        page.mouse.move(box["x"] + 20.3 * s, box["y"] + 30.3 * s)
        page.mouse.down()
        page.mouse.move(box["x"] + 50.6 * s, box["y"] + 60.6 * s, steps=6)
        page.mouse.up()
        page.mouse.click(box["x"] + 70.5 * s, box["y"] + 10.5 * s)
        page.keyboard.press("p")  # parts overlay on for the screenshot
        page.keyboard.press("v")
        page.wait_for_function("() => document.body.dataset.pending === '0'")
        assert page.locator("#regions li").count() == 2
        page.wait_for_timeout(300)
        _shot(page, tmp_path, "detail")

        page.reload()
        page.wait_for_selector("body[data-ready='1']")
        assert page.locator("#progress-text").inner_text().startswith("20 / 30 reviewed")
        for i, exp in expected.items():
            cls = page.locator(f".card[data-id='{i}']").get_attribute("class")
            assert exp["verdict"] in cls.split(), (i, cls)
        assert "accept" not in page.locator(".card[data-id='20']").get_attribute("class").split()
        page.locator(".card[data-id='19']").click()
        page.wait_for_function("() => document.getElementById('d-id').textContent === '#19'")
        assert page.locator("#regions li").count() == 2
        assert "on" in page.locator("#btn-accept").get_attribute("class").split()
        page.keyboard.press("Escape")

        # Filters: the reject chip shows exactly the rejected samples; a gesture filter only that gesture.
        page.locator(".chip[data-state='reject']").click()
        page.wait_for_function("() => document.getElementById('page-info').textContent.includes('of 7')")
        assert page.locator(".card").count() == sum(e["verdict"] == "reject" for e in expected.values())
        page.locator(".chip[data-state='all']").click()
        sel = page.locator("#f-gesture")
        value = sel.locator("option").nth(1).get_attribute("value")
        sel.select_option(value)
        page.wait_for_function(f"() => [...document.querySelectorAll('.card .gest')].every(e => e.textContent === '{value}')")
        page.locator("#clear-filters").click()
        page.wait_for_function("() => document.querySelectorAll('.card').length === 30")
        _shot(page, tmp_path, "grid")

        # Pairs mode: A / B keys, s skips.
        page.keyboard.press("P")
        page.wait_for_function("() => document.getElementById('pa-img').complete && document.getElementById('pa-img').naturalWidth > 0")
        shown = []
        for key in ("a", "b", "s", "b"):
            info = page.locator("#pa-cap").inner_text(), page.locator("#pb-cap").inner_text()
            page.keyboard.press(key)
            if key != "s":
                shown.append((key, info))
            page.wait_for_timeout(250)
            page.wait_for_function("() => document.getElementById('pa-img').complete")
        page.wait_for_timeout(200)
        _shot(page, tmp_path, "pairs")
        browser.close()

    assert not errors, errors
    host = server.url.rstrip("/")
    assert all(u.startswith(host) or u.startswith("data:") for u in requests), [u for u in requests if not u.startswith(host)]
    path = review_ds / "reviews" / "alice.jsonl"
    latest = _latest(path)
    assert set(latest) == set(range(20))
    for i, exp in expected.items():
        got = latest[i]
        assert (got["verdict"], got["rating"], got["reasons"]) == (exp["verdict"], exp["rating"], exp["reasons"]), (i, got)
        assert got["note"] == exp.get("note", "")
    drag, click = latest[19]["regions"]
    assert drag == pytest.approx([20, 30, 51, 61], abs=1)  # image pixels, exclusive end
    assert click[0] <= 70 < click[2] and click[1] <= 10 < click[3] and click[2] - click[0] <= 6
    pairs = [json.loads(x) for x in path.read_text().splitlines() if json.loads(x)["type"] == "pair"]
    assert [p["choice"] for p in pairs] == ["a", "b", "b"]
    for p_, (key, (cap_a, cap_b)) in zip(pairs, shown, strict=True):
        assert cap_a.startswith(f"#{p_['a']} ") and cap_b.startswith(f"#{p_['b']} ") and p_["choice"] == key


def test_defect_twins_overlays_and_pairs(review_ds: Path, tmp_path: Path) -> None:
    """A dataset with defect twins: the artifact mask and twin toggles work, pairs show twin vs sample."""
    import threading

    from review_helpers import add_twins

    from synth.review.server import make_server

    sync_playwright = _browser_or_skip()
    add_twins(review_ds, [1, 2])
    srv = make_server(review_ds, "bob", port=0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    errors: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 860})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(srv.url)
            page.wait_for_selector("body[data-ready='1']")
            page.locator(".card[data-id='2']").click()
            page.wait_for_function("() => document.getElementById('d-id').textContent === '#2'")
            assert not page.locator(".toggle[data-name='artifact']").is_disabled()
            page.keyboard.press("f")  # show the twin
            page.keyboard.press("m")  # and its artifact mask
            page.wait_for_function("() => document.getElementById('img-base').src.endsWith('/view/2/twin_rgb')")
            page.wait_for_function("() => [...document.querySelectorAll('img.overlay')].some(i => i.complete && i.naturalWidth > 0)")
            page.wait_for_timeout(200)
            _shot(page, tmp_path, "detail_twin")
            page.keyboard.press("Escape")
            page.keyboard.press("P")
            page.wait_for_function("() => document.getElementById('pb-img').src.endsWith('/view/1/twin_rgb')")
            page.keyboard.press("a")
            page.wait_for_function("() => document.getElementById('pb-img').src.endsWith('/view/2/twin_rgb')")
            page.keyboard.press("b")
            page.wait_for_function("() => document.getElementById('pair-info').textContent.startsWith('No more pairs')")
            browser.close()
    finally:
        srv.shutdown()
        srv.server_close()
    assert not errors, errors
    pairs = [json.loads(x) for x in (review_ds / "reviews" / "bob.jsonl").read_text().splitlines()]
    assert [(p["a"], p["b"], p["choice"], p["source"]) for p in pairs] == [(1, 1, "a", "twin"), (2, 2, "b", "twin")]
