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
  let selected = new Set(state.selected);
  const undoStack = [];
  let pending = [];                                     // events not yet sent
  let focusAt = null;                                   // index into order of the focus ring
  let anchor = null;                                    // shift+arrow extension start
  let sending = false;

  // ---- drawing -------------------------------------------------------------------------------
  function draw() {
    el.forEach((s, i) => {
      s.classList.toggle("on", selected.has(i));
      s.classList.toggle("model", state.model.includes(i));
      if (s.classList.contains("pick")) s.setAttribute("aria-selected", selected.has(i));
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
    if (focusAt !== null) el.get(order[focusAt]).classList.remove("focus");
    focusAt = Math.max(0, Math.min(order.length - 1, k));
    const s = el.get(order[focusAt]);
    s.classList.add("focus");
    code.setAttribute("aria-activedescendant", s.id || (s.id = "unit-" + order[focusAt]));
    s.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  // ---- changing the selection (every change is undoable and logged) ---------------------------
  function change(kind, next, detail) {
    undoStack.push(new Set(selected));
    selected = next;
    log(kind, detail);
    draw();
  }
  function log(kind, detail) {
    pending.push(Object.assign({ kind: kind, ts: Date.now(), phase: state.phase,
                                 selected: [...selected].sort((a, b) => a - b) }, detail || {}));
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
  code.addEventListener("mousedown", (e) => {
    const i = unitAt(e.target);
    if (i === null || state.mode !== "select") return;
    e.preventDefault();
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

  // ---- keyboard ------------------------------------------------------------------------------
  function lineStep(dir) {
    // Move to the selectable unit on the next line up/down whose left edge is nearest.
    const here = el.get(order[focusAt]).getBoundingClientRect();
    let best = null;
    order.forEach((i, k) => {
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
    const moves = { ArrowLeft: () => focusAt - 1, ArrowRight: () => focusAt + 1,
                    ArrowUp: () => lineStep(-1), ArrowDown: () => lineStep(1) };
    if (moves[e.key]) {
      e.preventDefault();
      if (focusAt === null) { setFocus(0); return; }
      const from = focusAt;
      setFocus(moves[e.key]());
      if (e.shiftKey) {
        if (anchor === null) anchor = order[from];
        const next = new Set(selected);
        run(anchor, order[focusAt]).forEach((k) => next.add(k));
        change("extend", next, { unit: order[focusAt], on: true });
      } else {
        anchor = null;
      }
    } else if (e.key === " ") {
      e.preventDefault();
      if (focusAt === null) setFocus(0);
      const i = order[focusAt];
      change("toggle", toggled(i), { unit: i, on: !selected.has(i) });
    }
  });
  code.addEventListener("focus", () => { if (focusAt === null && order.length) setFocus(0); });
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
      .then((r) => { if (!r.ok && r.status >= 500) pending = batch.concat(pending); })
      .catch(() => { pending = batch.concat(pending); });
  }
  setInterval(flush, 4000);

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
    post(state.answerUrl, body).then((r) => r.json().then((data) => {
      if (data.ok) {
        localStorage.removeItem(activeKey);
        window.location.assign(data.next);
      } else {
        sending = false;
        document.getElementById("next").disabled = false;
        errorBox.textContent = data.error;
      }
    })).catch(() => {
      sending = false;
      document.getElementById("next").disabled = false;
      errorBox.textContent = "Could not reach the server. Check your connection and press Next again.";
    });
  }
  if (form) form.addEventListener("submit", (e) => { e.preventDefault(); submit(); });

  // the progress bar's width is set here: the page's CSP allows no inline style attributes
  const bar = document.querySelector(".progress[aria-valuenow]");
  if (bar) bar.firstElementChild.style.width = (100 * bar.getAttribute("aria-valuenow") / bar.getAttribute("aria-valuemax")) + "%";

  draw();
  if (state.mode === "select") code.focus({ preventScroll: true });
})();
