// QA scoring beside the player: collect the answers, save a draft or submit through
// the QA API (the score shown is the server's), add remarks at the player's time.
"use strict";
(function () {
  const root = document.getElementById("qa-form");
  if (!root) return;
  const callId = root.dataset.call;
  const errors = document.getElementById("qa-errors");
  const scoreBox = document.getElementById("score");

  function answerOf(fs) {
    const type = fs.dataset.type, qid = fs.dataset.qid;
    const na = fs.querySelector("input.na:checked, input[value='__na']:checked");
    const comment = fs.querySelector("input.comment").value.trim();
    const a = {};
    if (na) a.na = true;
    else if (type === "yes_no" || type === "single") {
      const r = fs.querySelector("input[name='q-" + qid + "']:checked");
      if (r) a.value = type === "yes_no" ? r.value === "yes" : r.value;
    } else if (type === "multi") {
      a.value = Array.from(fs.querySelectorAll("input[name='q-" + qid + "']:checked")).map(function (c) { return c.value; });
    } else {
      const input = fs.querySelector("[name='q-" + qid + "']");
      if (input.value !== "") a.value = type === "text" ? input.value : Number(input.value);
    }
    if (comment) a.comment = comment;
    return Object.keys(a).length ? a : null;
  }

  function answers() {
    const out = {};
    root.querySelectorAll("fieldset.question").forEach(function (fs) {
      const a = answerOf(fs);
      if (a) out[fs.dataset.qid] = a;
    });
    return out;
  }

  function showScore(e) {
    const pct = e.score === null ? "—" : String(e.score);
    if (e.state === "submitted") {
      scoreBox.innerHTML = "";
      scoreBox.append("Score: ");
      const strong = document.createElement("strong");
      strong.id = "score-value";
      strong.textContent = pct + " %";
      scoreBox.append(strong);
      if (e.auto_failed) {
        const span = document.createElement("span");
        span.className = "autofail";
        span.textContent = " auto-fail: " + e.reasons.join("; ");
        scoreBox.append(span);
        scoreBox.classList.add("failed");
      }
      root.querySelectorAll("fieldset.question").forEach(function (fs) { fs.disabled = true; });
      const actions = root.querySelector(".actions");
      if (actions) actions.remove();
    } else {
      scoreBox.textContent = "Draft saved (score so far: " + pct + " %)";
    }
  }

  async function save(submit) {
    errors.textContent = "";
    const id = root.dataset.evaluation;
    let url, method, body;
    if (!id) {
      url = "/api/v1/qa/evaluations"; method = "POST";
      body = { call_id: callId, form: root.dataset.form, answers: answers(), submit: submit };
    } else if (submit) {
      url = "/api/v1/qa/evaluations/" + id + "/submit"; method = "POST"; body = { answers: answers() };
    } else {
      url = "/api/v1/qa/evaluations/" + id; method = "PUT"; body = { answers: answers() };
    }
    const r = await ui.fetch(url, { method: method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const data = await r.json();
    if (!r.ok) {
      errors.textContent = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
      return;
    }
    root.dataset.evaluation = data.id;
    root.dataset.state = data.state;
    showScore(data);
  }

  const draft = document.getElementById("save-draft"), submit = document.getElementById("submit");
  if (draft) draft.addEventListener("click", function () { save(false); });
  if (submit) submit.addEventListener("click", function () { save(true); });

  // timestamped remarks at the player's current time (player.js: window.player)
  const add = document.getElementById("remark-add");
  if (add) add.addEventListener("click", async function () {
    const input = document.getElementById("remark-text"), status = document.getElementById("remark-status");
    const text = input.value.trim();
    if (!text) { status.textContent = "Write the remark first."; input.focus(); return; }
    const at = window.player ? window.player.currentTime() : 0;
    const body = { offset_seconds: Math.round(at * 10) / 10, text: text };
    if (root.dataset.evaluation) body.evaluation_id = Number(root.dataset.evaluation);
    const r = await ui.fetch("/api/v1/calls/" + callId + "/remarks",
      { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const data = await r.json();
    if (!r.ok) { status.textContent = typeof data.detail === "string" ? data.detail : "Not saved"; return; }
    const list = document.getElementById("remarks");
    const li = document.createElement("li");
    const jump = document.createElement("button");
    const label = ui.formatSeconds(data.offset_seconds);
    jump.type = "button"; jump.className = "secondary jump"; jump.dataset.seek = data.offset_seconds;
    jump.setAttribute("aria-label", "Jump to " + label); jump.textContent = label;
    const span = document.createElement("span"); span.textContent = data.text;
    const who = document.createElement("span"); who.className = "muted"; who.textContent = " — " + data.author;
    li.append(jump, " ", span, " ", who);
    const items = Array.from(list.children);
    const after = items.find(function (x) { return Number(x.querySelector("[data-seek]").dataset.seek) > data.offset_seconds; });
    list.insertBefore(li, after || null);
    const none = list.parentElement.querySelector("p.muted");
    if (none && none.textContent.indexOf("No remarks") === 0) none.remove();
    input.value = "";
    status.textContent = "Remark added at " + label + ".";
  });
})();
