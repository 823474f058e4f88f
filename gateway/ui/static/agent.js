// The agent desktop: paints the desktop from the page, then follows the SSE stream
// (/api/v1/desktop/stream). Buttons call the existing agent API with ui.fetch (CSRF).
// The wrap-up form stays for the last call until it is saved or another call comes:
// a wrap-up after the wrap-up time ran out still goes on the call record.
"use strict";
(function () {
  const initial = JSON.parse(document.getElementById("ad-initial").textContent);
  const $ = (id) => document.getElementById(id);
  const statusEl = $("ad-status"), announceEl = $("ad-announce"), errorEl = $("ad-error");
  let agent = null; // the agent id (from the desktop)
  let call = null; // the pop shown (the last call, kept after it ends)
  let savedFor = null; // the call id whose wrap-up was saved
  let offset = 0; // server clock minus ours, unknown: 0

  function text(id, value) { $(id).textContent = value === null || value === undefined || value === "" ? "–" : value; }
  function el(tag, value) { const e = document.createElement(tag); if (value !== undefined) e.textContent = value; return e; }
  function showError(message) {
    if (!errorEl) return;
    errorEl.hidden = !message;
    errorEl.textContent = message || "";
  }

  async function act(path, body) {
    showError("");
    const opts = { method: "POST" };
    if (body) { opts.body = JSON.stringify(body); opts.headers = { "Content-Type": "application/json" }; }
    const r = await window.ui.fetch(path, opts);
    if (!r.ok) {
      const data = await r.json().catch(() => ({}));
      const detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
      showError(detail || ("HTTP " + r.status));
      return null;
    }
    return r.json();
  }

  function renderAgent(desk) {
    const a = desk.agent;
    agent = a.id;
    text("ad-state", a.state);
    $("ad-reason").textContent = a.pause_reason ? "(" + a.pause_reason + ")" : "";
    const out = a.state === "logged-out";
    $("ad-login").disabled = !out;
    $("ad-logout").disabled = out;
    $("ad-pause").disabled = out || a.state === "paused";
    $("ad-unpause").disabled = a.state !== "paused";
    $("ad-ready").disabled = a.state !== "wrap-up";
    const list = $("ad-queues");
    list.replaceChildren(...desk.queues.map((q) => {
      const li = el("li"), b = el("button", q.name + (q.logged_in ? ": logged in" : ": logged out"));
      b.type = "button";
      b.setAttribute("aria-pressed", String(q.logged_in));
      b.dataset.queue = q.name;
      b.addEventListener("click", () => act("/api/v1/agents/" + encodeURIComponent(agent) +
        "/queues/" + encodeURIComponent(q.name) + (q.logged_in ? "/logout" : "/login")));
      li.append(b);
      return li;
    }));
  }

  function renderPop(pop) {
    const fresh = !call || call.call_id !== pop.call_id;
    call = pop;
    $("ad-pop").hidden = false;
    text("pop-state", pop.state);
    text("pop-caller", pop.caller);
    text("pop-name", pop.caller_name);
    text("pop-did", pop.did);
    text("pop-queue", pop.queue);
    $("ad-incall").hidden = pop.state !== "talking";
    const rows = pop.history.map((h) => {
      const tr = el("tr");
      tr.append(el("td", h.arrived_at.replace("T", " ").slice(0, 19)), el("td", h.queue || "–"),
        el("td", h.agent || "–"), el("td", h.disposition || "–"), el("td", h.wrapup_code || "–"),
        el("td", h.wrapup_notes || ""));
      const rec = el("td");
      if (h.recording_url) { const link = el("a", "Play"); link.href = h.recording_url; rec.append(link); }
      tr.append(rec);
      return tr;
    });
    $("pop-history").querySelector("tbody").replaceChildren(...rows);
    $("pop-history").hidden = !rows.length;
    $("pop-nohistory").hidden = !!rows.length;
    if (fresh) {
      savedFor = pop.wrapup_code || pop.wrapup_notes ? pop.call_id : null;
      const select = $("wrapup-code");
      select.replaceChildren(el("option", "(none)"), ...pop.wrapup_codes.map((c) => el("option", c)));
      select.options[0].value = "";
      select.value = pop.wrapup_code || "";
      $("wrapup-notes").value = pop.wrapup_notes || "";
      $("wrapup-result").textContent = "";
      announceEl.textContent = pop.state === "ringing"
        ? "Call from " + (pop.caller_name || pop.caller || "unknown caller") + " in " + (pop.queue || "no queue") : "";
    }
    $("ad-wrapup").hidden = pop.state === "ringing";
    tick();
  }

  function tick() { // the wait counts on while it rings
    if (!call) return;
    let wait = call.wait_seconds;
    if (call.state === "ringing") wait = Math.max(wait, (Date.now() + offset - Date.parse(call.arrived_at)) / 1000);
    text("pop-wait", window.ui.formatSeconds(wait));
  }

  function render(desk) {
    renderAgent(desk);
    if (desk.call) renderPop(desk.call);
    else if (call && call.state !== "ended") renderPop(Object.assign({}, call, { state: "ended" }));
  }

  $("ad-wrapup").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!call) return;
    const code = $("wrapup-code").value || null, notes = $("wrapup-notes").value || null;
    const out = await fetchWrapup(call.call_id, { code: code, notes: notes, ready: true });
    if (out) {
      savedFor = call.call_id;
      $("wrapup-result").textContent = "Saved" + (out.code ? " (" + out.code + ")" : "") + ".";
    }
  });
  async function fetchWrapup(id, body) {
    const r = await window.ui.fetch("/api/v1/calls/" + encodeURIComponent(id) + "/wrapup", {
      method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" },
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) {
      $("wrapup-result").textContent = typeof data.detail === "string" ? data.detail : "Not saved (HTTP " + r.status + ")";
      return null;
    }
    return data;
  }

  // in-call buttons: the in-call and transfers APIs on the call shown
  async function inCall(path, body, done) {
    if (!call) return;
    const opts = { method: "POST" };
    if (body) { opts.body = JSON.stringify(body); opts.headers = { "Content-Type": "application/json" }; }
    const r = await window.ui.fetch("/api/v1/calls/" + encodeURIComponent(call.call_id) + path, opts);
    const data = await r.json().catch(() => ({}));
    $("ic-result").textContent = r.ok ? done : (typeof data.detail === "string" ? data.detail : "HTTP " + r.status);
  }
  $("ic-hold").addEventListener("click", () => inCall("/hold", null, "On hold."));
  $("ic-resume").addEventListener("click", () => inCall("/resume", null, "Resumed."));
  $("ic-pci-pause").addEventListener("click", () => inCall("/recording/pause", null, "Recording paused."));
  $("ic-pci-resume").addEventListener("click", () => inCall("/recording/resume", null, "Recording resumed."));
  $("ic-transfer").addEventListener("click", () => {
    const target = {}; target[$("ic-kind").value] = $("ic-target").value;
    inCall("/transfers", { flow: "blind", target: target }, "Transferred.");
  });

  if (initial.pop) renderPop(initial.pop); // one call's page (the Call-Info link): no stream
  if (initial.desktop) {
    render(initial.desktop);
    const path = (p) => "/api/v1/agents/" + encodeURIComponent(agent) + p;
    $("ad-login").addEventListener("click", () => act(path("/login")));
    $("ad-logout").addEventListener("click", () => act(path("/logout")));
    $("ad-pause").addEventListener("click", () => act(path("/pause"), { reason: $("ad-pause-reason").value }));
    $("ad-unpause").addEventListener("click", () => act(path("/unpause")));
    $("ad-ready").addEventListener("click", () => act(path("/ready")));
    const source = new EventSource("/api/v1/desktop/stream");
    source.addEventListener("open", () => { statusEl.dataset.state = "live"; statusEl.textContent = "Live"; });
    source.addEventListener("error", () => { statusEl.dataset.state = "lost"; statusEl.textContent = "Reconnecting…"; });
    source.addEventListener("desktop", (ev) => render(JSON.parse(ev.data)));
  }
  setInterval(tick, 1000);
  window.desktop = { current: () => call, savedFor: () => savedFor };
})();
