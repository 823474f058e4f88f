// The agent's answer to its evaluations: acknowledge, or dispute with a comment.
"use strict";
document.querySelectorAll("button[data-ack-status]").forEach(function (b) {
  b.addEventListener("click", async function () {
    const id = b.dataset.id, err = document.getElementById("ack-err-" + id);
    const comment = document.getElementById("ack-c-" + id).value.trim();
    err.textContent = "";
    const r = await ui.fetch("/api/v1/qa/evaluations/" + id + "/acknowledgement", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ status: b.dataset.ackStatus, comment: comment || null }),
    });
    const data = await r.json();
    if (!r.ok) { err.textContent = typeof data.detail === "string" ? data.detail : "Not saved"; return; }
    const ack = b.closest("article").querySelector("p.ack");
    ack.dataset.ack = data.acknowledgement;
    ack.querySelector("strong").textContent = data.acknowledgement;
  });
});
