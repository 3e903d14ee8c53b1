// synth review page: plain JS, no dependencies, nothing fetched from the network.
"use strict";
(function () {
  const TOKEN = document.querySelector('meta[name="synth-token"]').content;
  const REASON_KEYS = { wrong_label: "l", bad_pose: "o", skin: "k", lighting: "g", clipping: "c", caption: "n", other: "t" };
  const FINGER = ["#ff5050", "#ffc800", "#3cdc3c", "#00c8ff", "#c864ff"];
  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };

  const S = {
    meta: null, page: 0, per: 48, state: "all", filters: {}, items: [], total: 0, sel: 0,
    mode: "grid", detail: null, dIndex: -1, overlays: { skeleton: true, parts: false, depth: false, visibility: false, artifact: false, twin: false },
    drag: null, pair: null, pairSkip: 0, pairsDone: 0, loading: false,
  };

  // ---- server ---------------------------------------------------------------------------
  async function getJSON(url) {
    const r = await fetch(url, { cache: "no-store" });
    if (!r.ok) throw new Error((await r.json().catch(() => ({}))).error || r.statusText);
    return r.json();
  }
  async function post(url, body) {
    const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json", "X-Synth-Token": TOKEN }, body: JSON.stringify(body) });
    const j = await r.json().catch(() => ({ ok: false, error: r.statusText }));
    if (!r.ok || !j.ok) throw new Error(j.error || r.statusText);
    return j;
  }
  function toast(msg) {
    const t = $("toast"); t.textContent = msg; t.classList.remove("hidden");
    clearTimeout(toast.timer); toast.timer = setTimeout(() => t.classList.add("hidden"), 4000);
  }

  // ---- progress -------------------------------------------------------------------------
  function showCounts(c) {
    if (!c) return;
    S.meta.counts = c;
    const pct = c.total ? (100 * c.reviewed / c.total) : 0;
    $("progress-fill").style.width = pct.toFixed(2) + "%";
    $("progress-text").textContent = `${c.reviewed} / ${c.total} reviewed (${pct.toFixed(1)} %) - ${c.accept} accepted, ${c.reject} rejected, ${c.rated} rated`;
  }

  // ---- filters ----------------------------------------------------------------------------
  function buildFilters() {
    const sf = $("state-filter"); sf.textContent = "";
    for (const st of S.meta.states) {
      const b = el("button", "chip" + (S.state === st ? " on" : ""), st);
      b.dataset.state = st;
      b.onclick = () => { S.state = st; S.page = 0; buildFilters(); loadPage(); };
      sf.appendChild(b);
    }
    const af = $("attr-filters");
    if (af.childElementCount) { for (const s of af.querySelectorAll("select")) s.value = S.filters[s.dataset.key] || ""; return; }
    for (const [key, f] of Object.entries(S.meta.filters)) {
      const lab = el("label", null, f.label); lab.htmlFor = "f-" + key;
      const sel = el("select"); sel.id = "f-" + key; sel.dataset.key = key;
      sel.appendChild(new Option(`all (${f.values.length} value${f.values.length === 1 ? "" : "s"})`, ""));
      for (const [v, n] of f.values) sel.appendChild(new Option(`${v}  (${n})`, v));
      sel.onchange = () => { if (sel.value) S.filters[key] = sel.value; else delete S.filters[key]; S.page = 0; loadPage(); sel.blur(); };
      af.appendChild(lab); af.appendChild(sel);
    }
  }
  $("clear-filters").onclick = () => { S.filters = {}; S.state = "all"; S.page = 0; buildFilters(); loadPage(); };

  // ---- grid -------------------------------------------------------------------------------
  function query(page) {
    const q = new URLSearchParams({ page: String(page), per: String(S.per), state: S.state });
    for (const [k, v] of Object.entries(S.filters)) q.set("f." + k, v);
    return "/api/samples?" + q.toString();
  }
  async function loadPage(keepSel) {
    S.loading = true;
    try {
      const j = await getJSON(query(S.page));
      S.items = j.items; S.total = j.total;
      if (!keepSel) S.sel = 0;
      S.sel = Math.max(0, Math.min(S.sel, S.items.length - 1));
      showCounts(j.counts); renderGrid();
    } catch (e) { toast("cannot load samples: " + e.message); }
    S.loading = false;
  }
  function pages() { return Math.max(1, Math.ceil(S.total / S.per)); }
  function stars(r) { return r ? "\u2605".repeat(r) + "\u2606".repeat(5 - r) : ""; }
  function cardFor(it, k) {
    const c = el("div", "card");
    c.dataset.id = it.id; c.dataset.k = k;
    const th = el("div", "thumb"); const img = el("img"); img.loading = "lazy"; img.decoding = "async"; img.alt = "sample " + it.id;
    img.src = "/thumb/" + it.id; th.appendChild(img); c.appendChild(th);
    const meta = el("div", "meta");
    meta.appendChild(el("span", null, "#" + it.id));
    meta.appendChild(el("span", "g gest", it.attrs.gesture));
    c.appendChild(meta);
    const st = el("span", "st"); c.appendChild(st);
    const rs = el("div", "meta"); rs.appendChild(el("span", "stars")); rs.appendChild(el("span", "g")); c.appendChild(rs);
    c.onclick = () => { S.sel = k; paintSel(); openDetail(k); };
    paintCard(c, it);
    return c;
  }
  function paintCard(c, it) {
    const v = it.state.verdict;
    c.classList.toggle("accept", v === "accept"); c.classList.toggle("reject", v === "reject");
    const st = c.querySelector(".st"); st.className = "st" + (v ? " " + v : ""); st.textContent = v || "";
    const rs = c.querySelectorAll(".meta")[1];
    rs.firstChild.textContent = stars(it.state.rating);
    rs.lastChild.textContent = (it.state.reasons || []).map((r) => S.meta.reasons[r]).join(", ");
    c.title = it.caption;
  }
  function renderGrid() {
    const g = $("grid"); g.textContent = "";
    if (!S.items.length) g.appendChild(el("div", "empty", "No samples match these filters."));
    S.items.forEach((it, k) => g.appendChild(cardFor(it, k)));
    const first = S.page * S.per + (S.items.length ? 1 : 0);
    $("page-info").textContent = `page ${S.page + 1} of ${pages()}  \u00b7  ${first}-${S.page * S.per + S.items.length} of ${S.total}`;
    paintSel();
  }
  function paintSel() {
    for (const c of $("grid").querySelectorAll(".card")) c.classList.toggle("sel", Number(c.dataset.k) === S.sel);
    const c = $("grid").querySelector(".card.sel"); if (c && S.mode === "grid" && !S.detail) c.scrollIntoView({ block: "nearest" });
  }
  function refreshCard(id) {
    const k = S.items.findIndex((it) => it.id === id);
    const c = $("grid").querySelector(`.card[data-id="${id}"]`);
    if (k >= 0 && c) paintCard(c, S.items[k]);
  }
  function columns() {
    const cards = $("grid").querySelectorAll(".card"); if (cards.length < 2) return 1;
    const top = cards[0].offsetTop; let n = 0; for (const c of cards) { if (c.offsetTop !== top) break; n++; } return n;
  }
  async function goPage(p) { if (p < 0 || p >= pages()) return false; S.page = p; await loadPage(); return true; }
  $("prev-page").onclick = () => goPage(S.page - 1);
  $("next-page").onclick = () => goPage(S.page + 1);

  // ---- saving -----------------------------------------------------------------------------
  // Optimistic: the item's state changes at once (so fast key presses build on each other), and the
  // full state is posted in order through one queue; the server's record then confirms it.
  let queue = Promise.resolve();
  function save(item, change) {
    item.state = Object.assign({}, item.state, change);
    const body = { id: item.id, verdict: item.state.verdict, rating: item.state.rating, reasons: item.state.reasons, note: item.state.note, regions: item.state.regions };
    refreshCard(item.id);
    if (S.detail && S.detail.id === item.id) { S.detail.state = item.state; paintSide(); drawCanvas(); }
    S.pending = (S.pending || 0) + 1; document.body.dataset.pending = S.pending;
    const job = queue.then(async () => {
      const t0 = performance.now();
      try {
        const j = await post("/api/review", body);
        showCounts(j.counts);
        if (S.detail && S.detail.id === item.id) $("saved").textContent = `saved ${j.record.time.slice(11, 19)} UTC \u00b7 ${Math.round(performance.now() - t0)} ms`;
        return true;
      } catch (e) { toast("not saved: " + e.message); loadPage(true); return false; }
      finally { S.pending--; document.body.dataset.pending = S.pending; }
    });
    queue = job;
    return job;
  }

  // ---- detail -----------------------------------------------------------------------------
  const TOGGLES = [["skeleton", "s"], ["parts", "p"], ["depth", "d"], ["visibility", "v"], ["artifact", "m"], ["twin", "f"]];
  function buildToggles() {
    const t = $("toggles"); t.textContent = "";
    for (const [name, key] of TOGGLES) {
      const b = el("button", "toggle"); b.dataset.name = name;
      b.appendChild(el("kbd", null, key)); b.appendChild(document.createTextNode(" " + (name === "artifact" ? "artifact mask" : name === "twin" ? "defect twin" : name)));
      b.onclick = () => toggle(name); t.appendChild(b);
    }
  }
  function available(name) {
    const d = S.detail; if (!d) return false;
    if (name === "skeleton" || name === "visibility") return !!(d.label.keypoints_2d || d.label.hands);
    if (name === "artifact") return d.artifact_kinds.length > 0;
    if (name === "twin") return !!d.twin_kind;
    return d.kinds.includes(name);
  }
  function paintToggles() {
    for (const b of $("toggles").querySelectorAll("button")) {
      const n = b.dataset.name, ok = available(n);
      b.disabled = !ok; b.classList.toggle("on", ok && S.overlays[n]);
    }
  }
  function toggle(name) { if (!available(name)) return; S.overlays[name] = !S.overlays[name]; paintToggles(); layoutStage(); }

  async function openDetail(k) {
    const it = S.items[k]; if (!it) return;
    S.dIndex = k;
    const seq = (S.openSeq = (S.openSeq || 0) + 1);
    let d;
    try { d = await getJSON("/api/sample/" + it.id); } catch (e) { toast("cannot open sample: " + e.message); return; }
    if (seq !== S.openSeq) return; // a later open won
    d.state = it.state;
    S.detail = d;
    $("detail").classList.remove("hidden");
    $("d-id").textContent = "#" + d.id;
    $("d-caption").textContent = d.caption || "(no caption)";
    const tb = $("d-attrs"); tb.textContent = "";
    const rows = Object.entries(S.meta.filters).map(([key, f]) => [f.label, d.attrs[key]]);
    if (d.label.handedness) rows.push(["handedness", d.label.handedness]);
    if (d.label.image_size) rows.push(["image", d.label.image_size.join(" \u00d7 ") + " px"]);
    const defect = d.label.defect || (Array.isArray(d.label.defects) ? d.label.defects[0] : null);
    if (defect && typeof defect === "object") rows.push(["twin defect", [defect.type, defect.description].filter(Boolean).join(": ")]);
    for (const [a, b] of rows) { const tr = el("tr"); tr.appendChild(el("td", null, a)); tr.appendChild(el("td", null, String(b))); tb.appendChild(tr); }
    $("pos").textContent = `${S.page * S.per + k + 1} / ${S.total}`;
    $("saved").textContent = "";
    $("note").value = d.state.note || "";
    paintSide(); paintToggles(); layoutStage();
  }
  function closeDetail() { S.detail = null; $("detail").classList.add("hidden"); paintSel(); $("grid").focus(); }
  async function step(delta) {
    let k = S.dIndex + delta;
    if (k >= S.items.length) { if (!(await goPage(S.page + 1))) { toast("last sample"); return; } k = 0; }
    else if (k < 0) { if (!(await goPage(S.page - 1))) return; k = S.items.length - 1; }
    S.sel = k; paintSel(); await openDetail(k);
  }
  $("back").onclick = closeDetail; $("prev").onclick = () => step(-1); $("next").onclick = () => step(1);

  function paintSide() {
    const st = S.detail.state;
    $("btn-accept").classList.toggle("on", st.verdict === "accept");
    $("btn-reject").classList.toggle("on", st.verdict === "reject");
    const b = $("d-badge"); b.className = "badge" + (st.verdict ? " " + st.verdict : ""); b.textContent = st.verdict || "unreviewed";
    for (const x of $("rating").children) x.classList.toggle("on", Number(x.dataset.r) === st.rating);
    for (const x of $("reasons").children) x.classList.toggle("on", (st.reasons || []).includes(x.dataset.reason));
    const ul = $("regions"); ul.textContent = "";
    (st.regions || []).forEach((r, k) => {
      const li = el("li"); li.appendChild(el("span", null, `[${r.join(", ")}]`));
      const x = el("button", "ghost", "\u00d7"); x.title = "remove"; x.onclick = () => removeRegion(k); li.appendChild(x); ul.appendChild(li);
    });
    $("n-regions").textContent = st.regions && st.regions.length ? `(${st.regions.length})` : "";
  }
  function currentItem() { return S.items[S.dIndex]; }
  function setVerdict(v) {
    const it = currentItem(); if (!it) return;
    const next = it.state.verdict === v ? null : v;
    save(it, { verdict: next });
    if (next === "accept") step(1);
  }
  function setRating(r) { const it = currentItem(); if (it) save(it, { rating: it.state.rating === r ? null : r }); }
  function toggleReason(key) {
    const it = currentItem(); if (!it) return;
    const rs = new Set(it.state.reasons || []); if (rs.has(key)) rs.delete(key); else rs.add(key);
    const change = { reasons: [...rs] };
    if (rs.size && !it.state.verdict) change.verdict = "reject";
    save(it, change);
    if (key === "other" && rs.has("other")) $("note").focus();
  }
  function removeRegion(k) { const it = currentItem(); if (!it) return; const rg = it.state.regions.slice(); rg.splice(k, 1); save(it, { regions: rg }); }
  $("btn-accept").onclick = () => setVerdict("accept");
  $("btn-reject").onclick = () => setVerdict("reject");
  for (let r = 1; r <= 5; r++) {
    const b = el("button", null, String(r)); b.dataset.r = r; b.title = `realism ${r} (${r})`; b.onclick = () => setRating(r); $("rating").appendChild(b);
  }
  $("note").addEventListener("change", () => {
    const it = currentItem(); if (!it) return;
    const note = $("note").value.trim(); const rs = new Set(it.state.reasons || []);
    if (note) rs.add("other");
    save(it, { note, reasons: [...rs], verdict: it.state.verdict || (note ? "reject" : null) });
  });

  // ---- stage: images, overlays, skeleton, regions -------------------------------------------
  const base = $("img-base"), canvas = $("canvas");
  let geom = null; // {x, y, s, W, H}
  function layoutStage() {
    const d = S.detail; if (!d) return;
    const kind = S.overlays.twin && d.twin_kind ? d.twin_kind : "rgb";
    const src = `/view/${d.id}/${kind}`;
    if (base.getAttribute("src") !== src) { base.onload = () => { placeAll(); }; base.src = src; } else placeAll();
    for (const old of $("stage").querySelectorAll("img.overlay")) old.remove();
    const layers = [];
    if (S.overlays.parts && d.kinds.includes("parts")) layers.push("parts");
    if (S.overlays.depth && d.kinds.includes("depth")) layers.push("depth");
    if (S.overlays.artifact && d.artifact_kinds.length) layers.push(d.artifact_kinds[0]);
    for (const k of layers) {
      const o = el("img", "over overlay"); o.alt = k; o.draggable = false; o.onload = placeAll; o.src = `/view/${d.id}/${k}`;
      if (k === "depth") o.style.opacity = ".75";
      $("stage").insertBefore(o, canvas);
    }
  }
  function placeAll() {
    const d = S.detail; if (!d) return;
    const stage = $("stage").getBoundingClientRect();
    const [W, H] = d.label.image_size || [base.naturalWidth, base.naturalHeight];
    if (!W || !H) return;
    const s = Math.min((stage.width - 16) / W, (stage.height - 16) / H);
    const w = W * s, h = H * s, x = (stage.width - w) / 2, y = (stage.height - h) / 2;
    geom = { x, y, s, W, H };
    for (const im of $("stage").querySelectorAll("img, canvas")) {
      if (im.id === "img-over") continue;
      Object.assign(im.style, { left: x + "px", top: y + "px", width: w + "px", height: h + "px" });
      im.classList.toggle("pixel", s >= 3);
    }
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
    drawCanvas();
  }
  window.addEventListener("resize", () => { if (S.detail) placeAll(); });

  function handsOf(label) {
    if (Array.isArray(label.hands) && label.hands.length && label.hands[0].keypoints_2d) return label.hands.map((h) => [h.keypoints_2d, h.visibility || []]);
    return label.keypoints_2d ? [[label.keypoints_2d, label.visibility || []]] : [];
  }
  function drawCanvas() {
    const d = S.detail; if (!d || !geom) return;
    const ctx = canvas.getContext("2d"); const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0); ctx.clearRect(0, 0, canvas.width, canvas.height);
    const P = (u) => [(u[0] + 0.5) * geom.s, (u[1] + 0.5) * geom.s]; // pixel centres (OpenCV convention)
    const r = Math.max(3, Math.min(7, geom.s * geom.W / 90));
    for (const [kp, vis] of handsOf(d.label)) {
      if (S.overlays.skeleton) {
        S.meta.skeleton.forEach(([a, b], e) => {
          const pa = P(kp[a]), pb = P(kp[b]);
          ctx.strokeStyle = FINGER[Math.floor(e / 4) % 5]; ctx.lineWidth = vis[a] && vis[b] ? 2.5 : 1; ctx.setLineDash(vis[a] && vis[b] ? [] : [4, 3]);
          ctx.beginPath(); ctx.moveTo(...pa); ctx.lineTo(...pb); ctx.stroke();
        });
        ctx.setLineDash([]);
        kp.forEach((u, i) => {
          const p = P(u); const col = i === 0 ? "#ffffff" : FINGER[Math.floor((i - 1) / 4)];
          ctx.beginPath(); ctx.arc(p[0], p[1], r, 0, 2 * Math.PI);
          if (vis[i]) { ctx.fillStyle = col; ctx.fill(); ctx.lineWidth = 1; ctx.strokeStyle = "#000"; ctx.stroke(); }
          else { ctx.lineWidth = 1.5; ctx.strokeStyle = col; ctx.stroke(); }
        });
      }
      if (S.overlays.visibility) {
        kp.forEach((u, i) => {
          const p = P(u); ctx.beginPath(); ctx.arc(p[0], p[1], r + 3, 0, 2 * Math.PI);
          ctx.lineWidth = 2; ctx.strokeStyle = vis[i] ? "#2fbf71" : "#e5484d"; ctx.stroke();
          if (!vis[i]) { ctx.beginPath(); ctx.moveTo(p[0] - r, p[1] - r); ctx.lineTo(p[0] + r, p[1] + r); ctx.moveTo(p[0] + r, p[1] - r); ctx.lineTo(p[0] - r, p[1] + r); ctx.stroke(); }
        });
      }
    }
    const boxes = (d.state.regions || []).slice();
    if (S.drag && S.drag.moved) boxes.push(dragBox());
    boxes.forEach((b, k) => {
      const live = S.drag && S.drag.moved && k === boxes.length - 1;
      ctx.lineWidth = 2; ctx.setLineDash(live ? [6, 4] : []); ctx.strokeStyle = "#ffd400"; ctx.fillStyle = "rgba(255, 212, 0, .12)";
      const x = b[0] * geom.s, y = b[1] * geom.s, w = (b[2] - b[0]) * geom.s, h = (b[3] - b[1]) * geom.s;
      ctx.fillRect(x, y, w, h); ctx.strokeRect(x, y, w, h);
      if (!live) { ctx.fillStyle = "#ffd400"; ctx.font = "bold 12px system-ui, sans-serif"; ctx.fillText(String(k + 1), x + 3, y + 13); }
    });
    ctx.setLineDash([]);
  }
  function toImage(ev) {
    const rc = canvas.getBoundingClientRect();
    return [Math.max(0, Math.min(geom.W, (ev.clientX - rc.left) / geom.s)), Math.max(0, Math.min(geom.H, (ev.clientY - rc.top) / geom.s))];
  }
  function dragBox() {
    const [a, b] = [S.drag.p0, S.drag.p1];
    return [Math.floor(Math.min(a[0], b[0])), Math.floor(Math.min(a[1], b[1])), Math.min(geom.W, Math.ceil(Math.max(a[0], b[0]))), Math.min(geom.H, Math.ceil(Math.max(a[1], b[1])))];
  }
  canvas.addEventListener("mousedown", (ev) => { if (!geom || ev.button !== 0) return; const p = toImage(ev); S.drag = { p0: p, p1: p, moved: false, sx: ev.clientX, sy: ev.clientY }; ev.preventDefault(); });
  window.addEventListener("mousemove", (ev) => {
    if (!S.drag) return; S.drag.p1 = toImage(ev);
    if (Math.abs(ev.clientX - S.drag.sx) + Math.abs(ev.clientY - S.drag.sy) > 4) S.drag.moved = true;
    drawCanvas();
  });
  window.addEventListener("mouseup", () => {
    if (!S.drag) return; const dr = S.drag; let box;
    if (dr.moved) box = dragBox();
    else { // a click marks a small square around the point (4 % of the image side, at least 3 px)
      const half = Math.max(1.5, 0.02 * Math.max(geom.W, geom.H));
      box = [Math.max(0, Math.floor(dr.p0[0] - half)), Math.max(0, Math.floor(dr.p0[1] - half)), Math.min(geom.W, Math.ceil(dr.p0[0] + half)), Math.min(geom.H, Math.ceil(dr.p0[1] + half))];
    }
    S.drag = null;
    const it = currentItem();
    if (it && box[2] > box[0] && box[3] > box[1]) save(it, { regions: (it.state.regions || []).concat([box]) }); else drawCanvas();
  });

  // ---- pairs ------------------------------------------------------------------------------
  async function loadPair() {
    let j; try { j = await getJSON("/api/pair?skip=" + S.pairSkip); } catch (e) { toast("cannot load a pair: " + e.message); return; }
    S.pair = j.pair;
    for (const id of ["pa", "pb"]) $(id).classList.remove("won");
    if (!S.pair) { $("pair-info").textContent = "No more pairs to judge."; $("pa-img").removeAttribute("src"); $("pb-img").removeAttribute("src"); return; }
    const p = S.pair;
    $("pa-img").src = `/view/${p.a}/${p.a_kind}`; $("pb-img").src = `/view/${p.b}/${p.b_kind}`;
    $("pa-cap").textContent = `#${p.a}${p.source === "twin" ? " (as rendered)" : ""} - ${p.caption}`;
    $("pb-cap").textContent = p.source === "twin" ? `#${p.b} (defect twin)` : `#${p.b} - ${p.caption_b}`;
    $("pair-info").textContent = (p.source === "twin" ? `defect twins, ${p.left} left` : "two samples drawn at random") + ` \u00b7 ${S.pairsDone} judged this session`;
  }
  async function choosePair(choice) {
    const p = S.pair; if (!p) return;
    $(choice === "a" ? "pa" : "pb").classList.add("won");
    try { await post("/api/pair", { a: p.a, b: p.b, choice, source: p.source }); S.pairsDone++; S.pairSkip = 0; } catch (e) { toast("not saved: " + e.message); return; }
    setTimeout(loadPair, 120);
  }
  $("pa").onclick = () => choosePair("a"); $("pb").onclick = () => choosePair("b");
  function setMode(m) {
    S.mode = m; $("mode-grid").classList.toggle("on", m === "grid"); $("mode-pairs").classList.toggle("on", m === "pairs");
    $("pairs").classList.toggle("hidden", m !== "pairs");
    if (m === "pairs") { if (S.detail) closeDetail(); loadPair(); } else { loadPage(true); $("grid").focus(); }
  }
  $("mode-grid").onclick = () => setMode("grid"); $("mode-pairs").onclick = () => setMode("pairs");

  // ---- keyboard -----------------------------------------------------------------------------
  function help(show) { $("help").classList.toggle("hidden", !show); }
  $("help-btn").onclick = () => help(true); $("help-close").onclick = () => help(false);
  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const k = ev.key;
    if (ev.target && (ev.target.tagName === "INPUT" || ev.target.tagName === "SELECT")) {
      if (k === "Escape" || k === "Enter") ev.target.blur();
      return;
    }
    if (!$("help").classList.contains("hidden")) { if (k === "Escape" || k === "?") help(false); return; }
    if (k === "?") { help(true); return; }
    if (S.mode === "pairs") {
      if (k === "a" || k === "A") choosePair("a");
      else if (k === "b" || k === "B") choosePair("b");
      else if (k === "s") { S.pairSkip++; loadPair(); }
      else if (k === "g" || k === "Escape") setMode("grid");
      else return;
      ev.preventDefault(); return;
    }
    if (k === "P") { setMode("pairs"); return; }
    if (S.detail) {
      if (k === "Escape") closeDetail();
      else if (k === "ArrowRight" || k === "j") step(1);
      else if (k === "ArrowLeft") step(-1);
      else if (k === "a") setVerdict("accept");
      else if (k === "r") setVerdict("reject");
      else if (k >= "1" && k <= "5") setRating(Number(k));
      else if (k === "0") { const it = currentItem(); if (it) save(it, { rating: null }); }
      else if (k === "Backspace" || k === "Delete") { const it = currentItem(); if (it && it.state.regions.length) removeRegion(it.state.regions.length - 1); }
      else {
        const tog = TOGGLES.find(([, key]) => key === k);
        const reason = Object.entries(REASON_KEYS).find(([, key]) => key === k);
        if (tog) toggle(tog[0]); else if (reason) toggleReason(reason[0]); else return;
      }
      ev.preventDefault(); return;
    }
    // grid
    const n = S.items.length; if (!n && k !== "," && k !== ".") return;
    const it = S.items[S.sel];
    if (k === "ArrowRight") S.sel = Math.min(n - 1, S.sel + 1);
    else if (k === "ArrowLeft") S.sel = Math.max(0, S.sel - 1);
    else if (k === "ArrowDown") S.sel = Math.min(n - 1, S.sel + columns());
    else if (k === "ArrowUp") S.sel = Math.max(0, S.sel - columns());
    else if (k === "Enter" || k === "o") { openDetail(S.sel); ev.preventDefault(); return; }
    else if (k === "a" || k === "r") { const v = k === "a" ? "accept" : "reject"; save(it, { verdict: it.state.verdict === v ? null : v }); S.sel = Math.min(n - 1, S.sel + 1); }
    else if (k >= "1" && k <= "5") { save(it, { rating: Number(k) }); }
    else if (k === ".") { goPage(S.page + 1); }
    else if (k === ",") { goPage(S.page - 1); }
    else return;
    ev.preventDefault(); paintSel();
  });

  // ---- start --------------------------------------------------------------------------------
  async function start() {
    S.meta = await getJSON("/api/meta");
    showCounts(S.meta.counts); buildFilters(); buildToggles();
    const rs = $("reasons"); const hr = [];
    for (const [key, words] of Object.entries(S.meta.reasons)) {
      const b = el("button"); b.dataset.reason = key; b.appendChild(el("kbd", null, REASON_KEYS[key])); b.appendChild(document.createTextNode(" " + words));
      b.onclick = () => toggleReason(key); rs.appendChild(b); hr.push(`${REASON_KEYS[key]} ${words}`);
    }
    $("help-reasons").textContent = hr.join(" \u00b7 ");
    $("mode-pairs").title = S.meta.has_twins ? "Pairs: sample vs defect twin (shift+p)" : "Pairs: any two samples (shift+p)";
    await loadPage();
    $("grid").focus();
    document.body.dataset.ready = "1";
  }
  start().catch((e) => toast("cannot start: " + e.message));
})();
