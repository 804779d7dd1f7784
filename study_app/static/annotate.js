// The annotation page: select code units with mouse or keyboard, time the page, send the answer.
// Plain JS, no build step; the server puts the page's state in <script id="state">.
(function () {
  "use strict";
  const state = JSON.parse(document.getElementById("state").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const code = document.getElementById("code");
  const form = document.getElementById("answer");
  const errorBox = document.getElementById("error");
  const order = state.selectable;                       // selectable unit indices, ascending
  const el = new Map();
  code.querySelectorAll(".u").forEach((s) => el.set(Number(s.dataset.i), s));
  const targetEl = code.querySelector(".u.target");
  // the keys visit the selectable units and then the target, so that a screen reader announces it
  const nav = targetEl ? order.concat([Number(targetEl.dataset.i)]) : order;
  const draftKey = state.storageKey + ":draft";
  let selected = new Set(restored());
  const undoStack = [];
  let pending = [];                                     // events not yet sent
  let focusAt = null;                                   // index into order of the focus ring
  let anchor = null;                                    // shift+arrow extension start
  let sending = false;
  let rangeMode = false;                                // touch: tap the first, then the last unit of a run
  let rangeStart = null;

  // A reload can overtake the last telemetry request: the page keeps its newest selection locally
  // too and shows whichever of the server's and its own is newer.
  function restored() {
    if (state.mode !== "select") return state.selected;
    let local = null;
    try { local = JSON.parse(localStorage.getItem(draftKey)); } catch (e) { local = null; }
    if (!local || !(local.ts > state.draftTs)) return state.selected;
    return local.selected.filter((i) => order.includes(i));
  }
  function keepDraft() {
    localStorage.setItem(draftKey, JSON.stringify({ ts: Date.now(), selected: [...selected] }));
  }

  // ---- drawing -------------------------------------------------------------------------------
  function draw() {
    el.forEach((s, i) => {
      s.classList.toggle("on", selected.has(i));
      s.classList.toggle("model", state.model.includes(i));
      s.classList.toggle("anchor", i === rangeStart);
      if (!s.classList.contains("pick")) return;
      s.setAttribute("aria-selected", selected.has(i));
      const notes = [s.classList.contains("gen") ? "gen-note" : "", state.model.includes(i) ? "model-note" : ""];
      const described = notes.filter(Boolean).join(" ");
      if (described) s.setAttribute("aria-describedby", described); else s.removeAttribute("aria-describedby");
    });
    const count = document.getElementById("count");
    if (count) count.textContent = selected.size + (selected.size === 1 ? " token" : " tokens");
    const overlap = document.querySelector("[data-testid=overlap]");
    if (overlap) {
      const both = state.model.filter((i) => selected.has(i)).length;
      overlap.textContent = `You chose ${selected.size}; the model used ${state.model.length}; ${both} in common.`;
    }
  }

  function setFocus(k) {
    if (focusAt !== null) el.get(nav[focusAt]).classList.remove("focus");
    focusAt = Math.max(0, Math.min(nav.length - 1, k));
    const s = el.get(nav[focusAt]);
    s.classList.add("focus");
    code.setAttribute("aria-activedescendant", s.id);
    s.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  // ---- changing the selection (every change is undoable and logged) ---------------------------
  function change(kind, next, detail) {
    undoStack.push(new Set(selected));
    selected = next;
    log(kind, detail);
    draw();
  }
  // a change is saved locally at once and sent soon, not only with the next 4-second batch
  let soon = null;
  function saveSoon() {
    keepDraft();
    clearTimeout(soon);
    soon = setTimeout(flush, 500);
  }
  function log(kind, detail) {
    pending.push(Object.assign({ kind: kind, ts: Date.now(), phase: state.phase,
                                 selected: [...selected].sort((a, b) => a - b) }, detail || {}));
    if (kind !== "focus" && kind !== "blur") saveSoon();
  }
  function toggled(i) {
    const next = new Set(selected);
    next.has(i) ? next.delete(i) : next.add(i);
    return next;
  }
  function undo() {
    if (!undoStack.length) return;
    selected = undoStack.pop();
    log("undo");
    draw();
  }
  function clear() { if (selected.size) change("clear", new Set()); }

  // ---- mouse: click toggles, drag sets a run to the state of its first unit -------------------
  let drag = null;
  function unitAt(target) {
    const s = target.closest && target.closest(".u.pick");
    return s ? Number(s.dataset.i) : null;
  }
  function run(a, b) {
    const [lo, hi] = a < b ? [a, b] : [b, a];
    return order.filter((i) => i >= lo && i <= hi);
  }
  code.addEventListener("pointerdown", () => code.classList.remove("keyboard"));
  code.addEventListener("mousedown", (e) => {
    const i = unitAt(e.target);
    if (i === null || state.mode !== "select") return;
    e.preventDefault();
    if (rangeMode) { rangeTap(i); return; }
    code.focus({ preventScroll: true });
    drag = { start: i, on: !selected.has(i), before: new Set(selected), moved: false };
    selected = toggled(i);
    setFocus(order.indexOf(i));
    draw();
  });
  code.addEventListener("mouseover", (e) => {
    const i = unitAt(e.target);
    if (!drag || i === null) return;
    drag.moved = drag.moved || i !== drag.start;
    const next = new Set(drag.before);
    run(drag.start, i).forEach((k) => (drag.on ? next.add(k) : next.delete(k)));
    selected = next;
    draw();
  });
  document.addEventListener("mouseup", () => {
    if (!drag) return;
    const after = selected;
    selected = drag.before;
    const d = drag;
    drag = null;
    change(d.moved ? "drag" : "toggle", after, { unit: d.start, on: d.on });
  });

  // ---- touch: "Select a range", then tap the first and the last unit ---------------------------
  const rangeButton = document.getElementById("range");
  function setRangeMode(on) {
    rangeMode = on;
    rangeStart = null;
    if (rangeButton) rangeButton.setAttribute("aria-pressed", on);
    draw();
  }
  function rangeTap(i) {
    if (rangeStart === null) { rangeStart = i; draw(); return; }
    const next = new Set(selected);
    run(rangeStart, i).forEach((k) => next.add(k));
    const start = rangeStart;
    rangeStart = null;
    change("drag", next, { unit: start, on: true });
  }
  if (rangeButton) rangeButton.addEventListener("click", () => setRangeMode(!rangeMode));

  // ---- keyboard ------------------------------------------------------------------------------
  function lineStep(dir) {
    // Move to the selectable unit on the next line up/down whose left edge is nearest.
    const here = el.get(nav[focusAt]).getBoundingClientRect();
    let best = null;
    nav.forEach((i, k) => {
      const r = el.get(i).getBoundingClientRect();
      const dy = (r.top - here.top) * dir;
      if (dy <= 2) return;
      const score = [Math.round(dy), Math.abs(r.left - here.left)];
      if (!best || score[0] < best[0][0] || (score[0] === best[0][0] && score[1] < best[0][1])) best = [score, k];
    });
    return best ? best[1] : focusAt;
  }
  code.addEventListener("keydown", (e) => {
    if (state.mode !== "select" || !order.length) return;
    code.classList.add("keyboard");
    const moves = { ArrowLeft: () => focusAt - 1, ArrowRight: () => focusAt + 1,
                    ArrowUp: () => lineStep(-1), ArrowDown: () => lineStep(1) };
    if (moves[e.key]) {
      e.preventDefault();
      if (focusAt === null) { setFocus(0); return; }
      const from = focusAt;
      setFocus(moves[e.key]());
      if (e.shiftKey) {
        if (anchor === null) anchor = nav[from];
        const next = new Set(selected);
        run(anchor, nav[focusAt]).forEach((k) => next.add(k));
        change("extend", next, { unit: nav[focusAt], on: true });
      } else {
        anchor = null;
      }
    } else if (e.key === " ") {
      e.preventDefault();
      if (focusAt === null) setFocus(0);
      const i = nav[focusAt];
      if (order.includes(i)) change("toggle", toggled(i), { unit: i, on: !selected.has(i) });
    }
  });
  document.addEventListener("keydown", (e) => {
    const typing = /^(INPUT|TEXTAREA|SELECT|BUTTON|A|SUMMARY)$/.test(e.target.tagName) && e.target.type !== "radio";
    if (e.ctrlKey || e.metaKey || e.altKey || typing) return;
    if (state.mode === "select" && e.key === "z") undo();
    else if (state.mode === "select" && e.key === "c") clear();
    else if (e.key === "Enter" && form && document.getElementById("next")) { e.preventDefault(); submit(); }
  });
  const undoButton = document.getElementById("undo");
  if (undoButton) undoButton.addEventListener("click", undo);
  const clearButton = document.getElementById("clear");
  if (clearButton) clearButton.addEventListener("click", clear);

  // ---- active time: only while the page is visible and focused -------------------------------
  const activeKey = state.storageKey + ":active";
  let activeMs = Number(localStorage.getItem(activeKey) || 0);  // survives a reload
  let since = document.hasFocus() ? performance.now() : null;
  function pause() {
    if (since !== null) activeMs += performance.now() - since;
    since = null;
    localStorage.setItem(activeKey, String(Math.round(activeMs)));
  }
  function resume() { if (since === null) since = performance.now(); }
  window.addEventListener("focus", () => { resume(); log("focus"); });
  window.addEventListener("blur", () => { pause(); log("blur"); });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") { pause(); flush(true); } else if (document.hasFocus()) resume();
  });

  // ---- sending ---------------------------------------------------------------------------------
  function post(url, body, keepalive) {
    return fetch(url, { method: "POST", keepalive: !!keepalive, credentials: "same-origin",
                        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
                        body: JSON.stringify(body) });
  }
  function flush(keepalive) {
    if (!pending.length || sending || state.mode !== "select") return;
    const batch = pending;
    pending = [];
    post(state.eventsUrl, { phase: state.phase, events: batch }, keepalive)
      .then((r) => {
        if (r.status === 409) r.json().then(showStale);
        else if (!r.ok && r.status >= 500) pending = batch.concat(pending);
      })
      .catch(() => { pending = batch.concat(pending); });
  }
  setInterval(flush, 4000);
  // a reload or a closed tab still sends what is pending (fetch keepalive, which carries the CSRF header)
  window.addEventListener("pagehide", () => { pause(); flush(true); });

  function showStale(data) {
    const box = document.getElementById("stale");
    if (!box || !data || !data.stale) return;
    document.getElementById("continue").href = data.next;
    box.hidden = false;
    errorBox.textContent = "";
    const next = document.getElementById("next");
    if (next) next.hidden = true;
    document.getElementById("continue").focus();
  }

  function radio(name) {
    const checked = form.querySelector(`input[name="${name}"]:checked`);
    return checked ? checked.value : null;
  }
  function missing() {
    if (state.mode === "select" && selected.size < state.minSelected) return "Select at least one token first.";
    for (const f of form.querySelectorAll("fieldset[data-required]")) {
      if (radio(f.dataset.required) === null) return "Please answer: " + f.querySelector("legend").textContent;
    }
    return null;
  }
  function submit() {
    if (sending) return;                                // a double press sends once
    const problem = missing();
    errorBox.textContent = problem || "";
    if (problem) return;
    pause();
    const conf = radio("confidence");
    const agree = radio("agreement");
    const body = { phase: state.phase, selected: [...selected].sort((a, b) => a - b),
                   active_ms: Math.round(activeMs), confidence: conf === null ? null : Number(conf),
                   would_predict: radio("would_predict"), agreement: agree === null ? null : Number(agree),
                   events: pending };
    sending = true;
    document.getElementById("next").disabled = true;
    send(body, 1);
  }
  // An unreachable server (or a 5xx) is retried with a growing pause until the answer is stored;
  // the same body is sent each time, and the server acknowledges a replay without storing it twice.
  function send(body, attempt) {
    const retry = () => {
      const wait = Math.min(30, 2 ** attempt);
      errorBox.textContent = `Could not reach the server. Your answer is kept; trying again in ${wait} s.`;
      setTimeout(() => send(body, attempt + 1), wait * 1000);
    };
    post(state.answerUrl, body).then((r) => {
      if (r.status >= 500) { retry(); return; }
      return r.json().then((data) => {
        if (data.ok) {
          localStorage.removeItem(activeKey);
          localStorage.removeItem(draftKey);
          window.location.assign(data.next);
          return;
        }
        sending = false;
        document.getElementById("next").disabled = false;
        if (data.stale) showStale(data); else errorBox.textContent = data.error;
      });
    }).catch(retry);
  }
  if (form) form.addEventListener("submit", (e) => { e.preventDefault(); submit(); });

  // the progress bar's width is set here: the page's CSP allows no inline style attributes
  const bar = document.querySelector(".progress[aria-valuenow]");
  if (bar) bar.firstElementChild.style.width = (100 * bar.getAttribute("aria-valuenow") / bar.getAttribute("aria-valuemax")) + "%";

  // On a touch screen every unit gets a hit area of at least 24 x 24 px: narrow ones are padded.
  if (window.matchMedia("(pointer: coarse)").matches) {
    code.querySelectorAll(".u.pick, .u.target").forEach((s) => {
      const w = s.getBoundingClientRect().width;
      if (w < 24) s.style.paddingInline = (24 - w) / 2 + "px";
    });
  }

  draw();
  // open with the target and the lines above it in view (on a phone the code is taller than the screen)
  if (targetEl) {
    const r = targetEl.getBoundingClientRect();
    const wrap = code.closest(".code-wrap").getBoundingClientRect();
    if (r.bottom > window.innerHeight || r.right > wrap.right || r.left < wrap.left) {
      targetEl.scrollIntoView({ block: "center", inline: "center" });
    }
  }
  if (state.mode === "select") code.focus({ preventScroll: true });
  // from now on focus that arrives by keyboard (Tab) shows the ring on the first unit
  code.addEventListener("focus", () => {
    if (focusAt === null && order.length && code.matches(":focus-visible")) {
      code.classList.add("keyboard");
      setFocus(0);
    }
  });
})();
