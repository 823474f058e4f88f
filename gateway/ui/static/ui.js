// The shell's helpers for every page: fetch() with the session's CSRF header.
"use strict";
window.ui = (function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.content : "";
  // Same-origin fetch: the session cookie authenticates; a state-changing method
  // must carry X-CSRF-Token (gateway/auth/http.py).
  function request(url, options) {
    const opts = Object.assign({ credentials: "same-origin" }, options || {});
    const headers = new Headers(opts.headers || {});
    const method = (opts.method || "GET").toUpperCase();
    if (!["GET", "HEAD", "OPTIONS"].includes(method)) headers.set("X-CSRF-Token", csrf);
    if (!headers.has("Accept")) headers.set("Accept", "application/json");
    opts.headers = headers;
    return fetch(url, opts);
  }
  function formatSeconds(s) {
    if (!isFinite(s)) return "0:00";
    const m = Math.floor(s / 60), r = Math.floor(s % 60);
    return m + ":" + String(r).padStart(2, "0");
  }
  return { csrf: csrf, fetch: request, formatSeconds: formatSeconds };
})();
