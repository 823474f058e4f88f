// The wallboard: renders the board from the page, then follows the SSE stream.
// One EventSource, no polling: it reconnects by itself (the server sends `retry:`).
// Durations that only tick are counted on here from the instants the board carries.
"use strict";
(function () {
  const queuesEl = document.getElementById("wb-queues");
  const agentsBody = document.querySelector("#wb-agents tbody");
  const statusEl = document.getElementById("wb-status");
  const announceEl = document.getElementById("wb-announce");
  const atEl = document.getElementById("wb-at");
  const LOWER_IS_WORSE = new Set(["service_level", "service_level_30m"]);
  const LEVEL_TEXT = { normal: "Normal", warning: "Warning", critical: "Critical" };
  let offset = 0; // server clock minus ours (ms), from each board's `at`
  let levels = null; // "queue/kpi" -> level, to announce changes

  function duration(s) {
    if (s === null || s === undefined || !isFinite(s)) return "–";
    s = Math.max(0, Math.floor(s));
    const h = Math.floor(s / 3600);
    if (h) return h + ":" + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
    return window.ui.formatSeconds(s);
  }
  function percent(v) {
    return v === null || v === undefined ? "–" : Math.round(v * 100) + "\u202f%";
  }
  function windowName(seconds) {
    if (seconds % 3600 === 0) return seconds / 3600 + " h";
    return Math.round(seconds / 60) + " min";
  }
  function since(iso) { // seconds from an ISO instant to the server's now
    return iso ? (Date.now() + offset - Date.parse(iso)) / 1000 : null;
  }
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // The tiles of a queue: [kpi name (null: no alert level), label, value, format, since,
  // the tile's id when it has no kpi]
  function tilesOf(q, board) {
    return [
      ["waiting", "Calls waiting", q.waiting, String, null],
      ["longest_wait", "Longest wait", q.longest_wait_seconds, duration, q.oldest_waiting_since],
      ["service_level", "Service level " + windowName(board.kpi_window_seconds), q.service_level, percent, null],
      ["service_level_30m", "Service level 30 min", q.service_level_30m, percent, null],
      [null, "Service level today", q.service_level_today, percent, null, "service_level_today"],
      ["asa", "ASA", q.asa_seconds, duration, null],
      ["aht", "AHT", q.aht_seconds, duration, null],
      ["abandon_rate", "Abandoned", q.abandon_rate, percent, null],
      [null, "Avg hold today", q.avg_hold_seconds_today, duration, null, "avg_hold_today"],
    ];
  }

  // the threshold a warning or critical tile is beyond, in the tile's unit
  function threshold(kpi, tile, fmt) {
    if (tile.level === "normal") return "";
    const limit = tile.level === "critical" ? tile.critical : tile.warning;
    if (limit === null || limit === undefined) return "";
    const text = fmt === duration && limit < 60 ? limit + " s" : fmt(limit);
    return (LOWER_IS_WORSE.has(kpi) ? " (at or below " : " (at or above ") + text + ")";
  }

  function queueSection(name) {
    const id = "wb-q-" + name;
    let section = document.getElementById(id);
    if (!section) {
      section = el("section", { id: id, class: "wb-queue", "aria-labelledby": id + "-title", "data-queue": name });
      section.append(el("h2", { id: id + "-title" }, "Queue " + name), el("ul", { class: "tiles" }),
        el("p", { class: "agent-counts" }));
      queuesEl.append(section);
    }
    return section;
  }

  function renderQueue(q, board, changes) {
    const list = queueSection(q.name).querySelector("ul.tiles");
    list.replaceChildren();
    for (const [kpi, label, value, fmt, start, id] of tilesOf(q, board)) {
      const tile = kpi ? q.kpis[kpi] : null;
      const level = tile ? tile.level : "none";
      const li = el("li", { class: "tile level-" + level, "data-kpi": kpi || id, "data-level": level });
      const valueEl = el("p", { class: "tile-value" }, fmt(value));
      if (start) { valueEl.dataset.since = start; valueEl.dataset.format = "duration"; }
      li.append(el("h3", { class: "tile-label" }, label), valueEl);
      li.append(el("p", { class: "tile-level" }, tile ? LEVEL_TEXT[level] + threshold(kpi, tile, fmt) : "No alert"));
      list.append(li);
      if (tile) {
        const key = q.name + "/" + kpi;
        if (levels && levels[key] !== undefined && levels[key] !== level) {
          changes.push("Queue " + q.name + ": " + label + " is " + LEVEL_TEXT[level].toLowerCase() + ", " + fmt(value) + ".");
        }
        levels = levels || {};
        levels[key] = level;
      }
    }
    const counts = queueSection(q.name).querySelector(".agent-counts");
    counts.replaceChildren(el("span", { class: "agent-counts-label" }, "Agents"));
    for (const [n, what] of [[q.agents_available, "available"], [q.agents_on_call, "on call"],
      [q.agents_ringing, "ringing"], [q.agents_wrap_up, "wrap-up"], [q.agents_paused, "paused"],
      [q.agents_logged_in, "logged in"]]) {
      const item = el("span", { "data-count": what });
      item.append(el("strong", {}, String(n)), " " + what);
      counts.append(item);
    }
  }

  function renderAgents(agents) {
    agentsBody.replaceChildren();
    for (const a of agents) {
      const tr = el("tr", { "data-agent": a.id, "data-state": a.state });
      const inState = el("td", { class: "num" }, duration(a.seconds_in_state));
      if (a.state_since) inState.dataset.since = a.state_since;
      const wait = el("td", { class: "num" }, duration(a.call_wait_seconds));
      if (a.call_arrived_at && !a.call_answered_at) wait.dataset.since = a.call_arrived_at;
      const talk = el("td", { class: "num" }, duration(a.call_talk_seconds));
      if (a.call_answered_at && a.state === "on-call") talk.dataset.since = a.call_answered_at;
      tr.append(el("th", { scope: "row" }, a.name), el("td", { class: "state state-" + a.state }, a.state),
        inState, el("td", {}, a.pause_reason || ""), el("td", {}, a.call_queue || ""), wait, talk);
      agentsBody.append(tr);
    }
  }

  function render(board) {
    offset = Date.parse(board.at) - Date.now();
    const changes = [];
    const names = new Set(board.queues.map((q) => q.name));
    for (const section of queuesEl.querySelectorAll("section.wb-queue")) {
      if (!names.has(section.dataset.queue)) section.remove();
    }
    for (const q of board.queues) renderQueue(q, board, changes);
    renderAgents(board.agents);
    atEl.textContent = new Date(board.at).toLocaleTimeString();
    atEl.setAttribute("datetime", board.at);
    if (changes.length) announceEl.textContent = changes.join(" ");
  }

  function tick() {
    for (const e of document.querySelectorAll("[data-since]")) e.textContent = duration(since(e.dataset.since));
  }

  function status(state, text) {
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  }

  render(JSON.parse(document.getElementById("wb-initial").textContent));
  setInterval(tick, 1000); // local clock only: no request
  const source = new EventSource("/api/v1/wallboard/stream");
  source.onopen = () => status("live", "Live");
  source.onerror = () => status(source.readyState === EventSource.CLOSED ? "closed" : "reconnecting",
    source.readyState === EventSource.CLOSED ? "Disconnected: reload the page" : "Reconnecting…");
  source.addEventListener("wallboard", (e) => { status("live", "Live"); render(JSON.parse(e.data)); });
})();
