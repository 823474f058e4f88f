// The QA form builder: edits the definition JSON (sections -> subsections -> questions,
// options) and saves it through the QA API as a new version; the API names any mistake.
"use strict";
(function () {
  const root = document.getElementById("builder");
  const model = JSON.parse(document.getElementById("definition").textContent);
  const host = document.getElementById("sections");
  const errors = document.getElementById("builder-errors");
  const TYPES = [["yes_no", "Yes / no"], ["scale", "Scale (min..max)"], ["number", "Number (min..max)"],
    ["single", "Single choice"], ["multi", "Multiple choice"], ["text", "Text (not scored)"]];
  let uid = 0;

  function allQuestions(sections) {
    return sections.reduce(function (acc, s) { return acc.concat(s.questions || [], allQuestions(s.sections || [])); }, []);
  }
  function nextId(prefix, items) {
    let n = items.length + 1;
    const taken = new Set(items.map(function (x) { return x.id; }));
    while (taken.has(prefix + n)) n++;
    return prefix + n;
  }
  function field(labelText, input) {
    const wrap = document.createElement("div");
    const id = "b" + (++uid);
    const label = document.createElement("label");
    label.htmlFor = id; label.textContent = labelText; input.id = id;
    wrap.append(label, input);
    return wrap;
  }
  function input(type, value, onChange, attrs) {
    const el = document.createElement("input");
    el.type = type;
    if (type === "checkbox") el.checked = !!value; else el.value = value === undefined || value === null ? "" : value;
    Object.assign(el, attrs || {});
    el.addEventListener(type === "checkbox" ? "change" : "input", function () {
      onChange(type === "checkbox" ? el.checked : (type === "number" ? (el.value === "" ? null : Number(el.value)) : el.value));
    });
    return el;
  }
  function button(text, onClick, cls) {
    const b = document.createElement("button");
    b.type = "button"; b.textContent = text; b.className = cls || "secondary";
    b.addEventListener("click", function () { onClick(); render(); });
    return b;
  }
  function questionEl(q, list, index, tag) {
    const box = document.createElement("div");
    box.className = "builder-question";
    box.append(field("Question " + tag + " text", input("text", q.text, function (v) { q.text = v; }, { size: 40 })));
    const select = document.createElement("select");
    TYPES.forEach(function (t) { const o = document.createElement("option"); o.value = t[0]; o.textContent = t[1]; select.append(o); });
    select.value = q.type;
    select.addEventListener("change", function () {
      q.type = select.value;
      if (q.type === "text") delete q.weight; else if (!q.weight) q.weight = 1;
      if (q.type === "single" || q.type === "multi") {
        if (!q.options) q.options = [{ id: "o1", label: "", score: 1 }, { id: "o2", label: "", score: 0 }];
      } else delete q.options;
      if (q.type === "scale" || q.type === "number") { if (q.min === undefined) { q.min = 1; q.max = 5; } }
      else { delete q.min; delete q.max; }
      render();
    });
    box.append(field("Question " + tag + " type", select));
    if (q.type !== "text") {
      box.append(field("Question " + tag + " weight", input("number", q.weight, function (v) { q.weight = v; }, { min: 0, step: "any", size: 4 })));
      box.append(field("Question " + tag + " N/A allowed", input("checkbox", q.na_allowed, function (v) { q.na_allowed = v; })));
    }
    if (q.type === "scale" || q.type === "number") {
      box.append(field("Question " + tag + " min", input("number", q.min, function (v) { q.min = v; }, { step: "any" })));
      box.append(field("Question " + tag + " max", input("number", q.max, function (v) { q.max = v; }, { step: "any" })));
    }
    box.append(button("Remove question " + tag, function () { list.splice(index, 1); }));
    if (q.options) {
      const opts = document.createElement("div");
      opts.className = "builder-options";
      q.options.forEach(function (o, i) {
        const otag = tag + "." + (i + 1);
        const row = document.createElement("div");
        row.className = "builder-option";
        row.append(field("Option " + otag + " label", input("text", o.label, function (v) { o.label = v; })));
        row.append(field("Option " + otag + " score", input("number", o.score, function (v) { o.score = v; }, { min: 0, step: "any", size: 4 })));
        row.append(field("Option " + otag + " auto-fail", input("checkbox", o.auto_fail, function (v) { o.auto_fail = v; })));
        row.append(button("Remove option " + otag, function () { q.options.splice(i, 1); }));
        opts.append(row);
      });
      opts.append(button("Add option to question " + tag, function () { q.options.push({ id: nextId("o", q.options), label: "", score: 0 }); }));
      box.append(opts);
    }
    return box;
  }
  function sectionEl(s, list, index, tag, level) {
    const box = document.createElement("section");
    box.className = "builder-section";
    const h = document.createElement(level === 1 ? "h2" : "h3");
    h.textContent = (level === 1 ? "Section " : "Subsection ") + tag;
    box.append(h);
    box.append(field((level === 1 ? "Section " : "Subsection ") + tag + " title", input("text", s.title, function (v) { s.title = v; }, { size: 40 })));
    s.questions = s.questions || [];
    s.questions.forEach(function (q, i) { box.append(questionEl(q, s.questions, i, tag + "." + (i + 1))); });
    const actions = document.createElement("div");
    actions.className = "builder-actions";
    actions.append(button("Add question to " + (level === 1 ? "section " : "subsection ") + tag, function () {
      s.questions.push({ id: nextId("q", allQuestions(model.sections)), text: "", type: "yes_no", weight: 1 });
    }));
    if (level === 1) actions.append(button("Add subsection to section " + tag, function () {
      s.sections = s.sections || []; s.sections.push({ title: "", questions: [] });
    }));
    actions.append(button("Remove " + (level === 1 ? "section " : "subsection ") + tag, function () { list.splice(index, 1); }));
    box.append(actions);
    (s.sections || []).forEach(function (sub, i) { box.append(sectionEl(sub, s.sections, i, tag + "." + String.fromCharCode(97 + i), 2)); });
    return box;
  }
  function render() {
    host.innerHTML = "";
    model.sections.forEach(function (s, i) { host.append(sectionEl(s, model.sections, i, String(i + 1), 1)); });
  }
  document.getElementById("add-section").addEventListener("click", function () {
    model.sections.push({ title: "", questions: [] }); render();
  });
  document.getElementById("save-form").addEventListener("click", async function () {
    errors.textContent = "";
    const name = root.dataset.name || document.getElementById("form-name").value.trim();
    const existing = !!root.dataset.name;
    const url = "/api/v1/qa/forms" + (existing ? "/" + encodeURIComponent(name) : "");
    const body = existing ? { definition: model } : { name: name, definition: model };
    const r = await ui.fetch(url, { method: existing ? "PUT" : "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const data = await r.json();
    if (!r.ok) {
      errors.textContent = typeof data.detail === "string" ? data.detail
        : data.detail.map(function (d) { return d.loc.slice(1).join(".") + ": " + d.msg; }).join("; ");
      return;
    }
    window.location.assign("/ui/qa/forms/" + encodeURIComponent(data.name) + "/versions/" + data.version);
  });
  render();
})();
