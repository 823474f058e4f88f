// The recording player: waveform (server-computed peaks drawn on a canvas), play/pause,
// click-to-seek, caller/agent solo (Web Audio: the <audio> element's source split
// into its two channels, one gain each, mixed back to both ears), speed, remarks.
"use strict";
(function () {
  const root = document.getElementById("player");
  if (!root) return;
  const audio = document.getElementById("audio");
  const canvas = document.getElementById("wave");
  const status = document.getElementById("wave-status");
  const playButton = document.getElementById("play");
  const clock = document.getElementById("clock");
  const callId = root.dataset.call;
  let peaks = null;       // {duration_seconds, channels: [{name, min, max}]}
  let graph = null;       // {ctx, gains: [caller, agent]}
  let soloMode = "both";

  function duration() {
    if (isFinite(audio.duration) && audio.duration > 0) return audio.duration;
    return peaks ? peaks.duration_seconds : 0;
  }

  function draw() {
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth, height = canvas.clientHeight;
    if (canvas.width !== Math.round(width * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const g = canvas.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);
    const styles = getComputedStyle(document.documentElement);
    const colours = [styles.getPropertyValue("--caller"), styles.getPropertyValue("--agent")];
    const lanes = peaks ? peaks.channels.length : 2;
    const lane = height / lanes;
    const played = duration() ? audio.currentTime / duration() : 0;
    for (let c = 0; c < lanes; c++) {
      const mid = lane * c + lane / 2;
      g.fillStyle = "#eef1f4";
      g.fillRect(0, lane * c + 1, width, lane - 2);
      if (!peaks) continue;
      const ch = peaks.channels[c], n = ch.max.length;
      const muted = (soloMode === "caller" && c === 1) || (soloMode === "agent" && c === 0);
      for (let i = 0; i < n; i++) {
        const x = (i / n) * width, w = Math.max(width / n, 1);
        const top = mid - ch.max[i] * (lane / 2 - 2), bottom = mid - ch.min[i] * (lane / 2 - 2);
        g.globalAlpha = (i / n <= played ? 1 : 0.55) * (muted ? 0.35 : 1);
        g.fillStyle = colours[c] || "#333";
        g.fillRect(x, top, w, Math.max(bottom - top, 1));
      }
      g.globalAlpha = 1;
    }
    g.fillStyle = "#c62828";
    g.fillRect(played * width - 1, 0, 2, height);
    const now = ui.formatSeconds(audio.currentTime), total = ui.formatSeconds(duration());
    clock.textContent = now + " / " + total;
    canvas.setAttribute("aria-valuemax", String(Math.round(duration())));
    canvas.setAttribute("aria-valuenow", String(Math.round(audio.currentTime)));
    canvas.setAttribute("aria-valuetext", now + " of " + total);
  }

  function loop() {
    draw();
    if (!audio.paused) window.requestAnimationFrame(loop);
  }

  function ensureGraph() {
    if (graph) return graph;
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    const ctx = new Ctx();
    const source = ctx.createMediaElementSource(audio);
    const split = ctx.createChannelSplitter(2);
    const merge = ctx.createChannelMerger(2);
    const gains = [ctx.createGain(), ctx.createGain()];
    source.connect(split);
    gains.forEach(function (gain, c) {
      split.connect(gain, c);
      gain.connect(merge, 0, 0);  // each channel to both ears: a solo is heard in both
      gain.connect(merge, 0, 1);
    });
    merge.connect(ctx.destination);
    graph = { ctx: ctx, gains: gains };
    applySolo();
    return graph;
  }

  function applySolo() {
    if (!graph) return;
    graph.gains[0].gain.value = soloMode === "agent" ? 0 : 1;
    graph.gains[1].gain.value = soloMode === "caller" ? 0 : 1;
  }

  function solo(mode) {
    soloMode = mode;
    ensureGraph();
    applySolo();
    document.querySelectorAll("button.solo").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.dataset.solo === mode));
    });
    root.dataset.solo = mode;
    draw();
  }

  function speed(rate) {
    audio.playbackRate = rate;
    document.querySelectorAll("button.speed").forEach(function (b) {
      b.setAttribute("aria-pressed", String(Number(b.dataset.speed) === rate));
    });
  }

  function seekTo(seconds) {
    const end = duration();
    audio.currentTime = Math.max(0, end ? Math.min(seconds, end) : seconds);
    draw();
  }

  function toggle() {
    const g = ensureGraph();
    if (g && g.ctx.state === "suspended") g.ctx.resume();
    if (audio.paused) audio.play(); else audio.pause();
  }

  audio.addEventListener("play", function () {
    playButton.textContent = "Pause";
    playButton.setAttribute("aria-pressed", "true");
    loop();
  });
  audio.addEventListener("pause", function () {
    playButton.textContent = "Play";
    playButton.setAttribute("aria-pressed", "false");
    draw();
  });
  ["loadedmetadata", "timeupdate", "seeked", "ended"].forEach(function (e) {
    audio.addEventListener(e, draw);
  });
  audio.addEventListener("error", function () {
    status.textContent = "The recording could not be loaded.";
  });
  playButton.addEventListener("click", toggle);
  canvas.addEventListener("click", function (e) {
    const box = canvas.getBoundingClientRect();
    seekTo(((e.clientX - box.left) / box.width) * duration());
  });
  canvas.addEventListener("keydown", function (e) {
    const steps = { ArrowLeft: -5, ArrowRight: 5, PageDown: -30, PageUp: 30 };
    if (e.key in steps) seekTo(audio.currentTime + steps[e.key]);
    else if (e.key === "Home") seekTo(0);
    else if (e.key === "End") seekTo(duration());
    else if (e.key === " " || e.key === "Enter") toggle();
    else return;
    e.preventDefault();
  });
  document.querySelectorAll("button.solo").forEach(function (b) {
    b.addEventListener("click", function () { solo(b.dataset.solo); });
  });
  document.querySelectorAll("button.speed").forEach(function (b) {
    b.addEventListener("click", function () { speed(Number(b.dataset.speed)); });
  });
  document.getElementById("remarks").addEventListener("click", function (e) {
    const button = e.target.closest("button[data-seek]");
    if (button) seekTo(Number(button.dataset.seek));
  });
  window.addEventListener("resize", draw);

  const buckets = Math.min(4000, Math.max(200, Math.round(canvas.clientWidth * (window.devicePixelRatio || 1))));
  ui.fetch("/ui/calls/" + callId + "/waveform?buckets=" + buckets)
    .then(function (r) { return r.ok ? r.json() : r.json().then(function (b) { throw new Error(b.detail); }); })
    .then(function (data) {
      peaks = data;
      status.textContent = "Caller above, agent below. Click the waveform to seek.";
      root.dataset.waveform = "ready";
      draw();
    })
    .catch(function (err) {
      status.textContent = "No waveform: " + err.message;
      root.dataset.waveform = "failed";
    });
  draw();

  // Hooks for other pages (QA scoring adds timestamped remarks): seek, read the time.
  window.seekTo = seekTo;
  window.player = {
    seekTo: seekTo,
    currentTime: function () { return audio.currentTime; },
    solo: solo,
    speed: speed,
    gains: function () { return graph ? graph.gains.map(function (g) { return g.gain.value; }) : null; },
  };
})();
