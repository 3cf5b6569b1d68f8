// relbot preview: draws what the server says, and sends what the author does.
// Plain JavaScript, no build step, no network beyond this server.
"use strict";

const $ = (id) => document.getElementById(id);
const sid = sessionStorage.getItem("relbot-sid") ||
  Math.random().toString(36).slice(2) + Date.now().toString(36);
sessionStorage.setItem("relbot-sid", sid);

const shown = { version: -1, serial: -1, graph: "", modules: "", languages: "" };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child);
  return node;
}

function setOptions(select, items, key) {
  const wanted = JSON.stringify(items);
  if (shown[key] === wanted) return;
  shown[key] = wanted;
  const current = select.value;
  select.replaceChildren(...items.map(([value, label]) => el("option", { value, textContent: label })));
  if (items.some(([value]) => value === current)) select.value = current;
}

function renderDiagnostics(view) {
  const list = $("diagnostics");
  const causes = view.diagnostics.length ? `${view.diagnostics.length} to fix · ` : "";
  $("counts").textContent = `${causes}${view.errors} error(s), ${view.warnings} warning(s) · version ${view.version}`;
  if (!view.diagnostics.length) {
    list.replaceChildren(el("li", { class: "ok", textContent: "No problems. The file is ready." }));
    return;
  }
  list.replaceChildren(...view.diagnostics.map((d) => {
    const start = Math.max(0, d.column - 1);
    const end = Math.max(start + 1, d.end_column - 1);
    const source = el("pre", {},
      d.source.slice(0, start),
      el("span", { class: "squiggle", textContent: d.source.slice(start, end) || " " }),
      d.source.slice(end));
    const follows = d.follows ? ` (and ${d.follows} problem(s) that follow from it)` : "";
    return el("li", { class: d.severity, "data-code": d.code },
      el("div", { class: "where", textContent: `${d.file}:${d.line}:${d.column} · ${d.code} ${d.severity}` }),
      el("div", { class: "message", textContent: d.message + follows }),
      el("div", { class: "hint", textContent: "hint: " + d.hint }),
      source);
  }));
}

function renderLog(chat) {
  const log = $("log");
  log.replaceChildren(...chat.log.map((item) => {
    if (item.kind === "bot") {
      const li = el("li", { class: "bot" }, el("div", { class: "bubble", textContent: item.text }));
      if (item.buttons.length) {
        const keys = el("div", { class: "keyboard" });
        keys.style.gridTemplateColumns = `repeat(${Math.max(1, item.columns)}, 1fr)`;
        for (const b of item.buttons) {
          keys.append(el("button", {
            type: "button", textContent: b.label, "data-step": item.step, "data-id": b.id,
            onclick: () => act({ action: "press", step: item.step, id: b.id }),
          }));
        }
        li.append(keys);
      }
      return li;
    }
    if (item.kind === "person") return el("li", { class: "person" }, el("div", { class: "bubble", textContent: item.text }));
    if (item.kind === "note") return el("li", { class: "note" }, el("span", { textContent: item.text }));
    return el("li", { class: "notice", textContent: item.text });
  }));
  log.scrollTop = log.scrollHeight;
}

function renderVariables(chat) {
  $("where").textContent = chat.stack.length ? "at " + chat.stack.join("  ·  ") : "the module has ended";
  $("variables").tBodies[0].replaceChildren(...Object.entries(chat.variables).map(([name, value]) =>
    el("tr", {}, el("td", { textContent: name }), el("td", { textContent: JSON.stringify(value) }))));
}

async function renderGraph(view) {
  const chat = view.chat;
  const module = chat ? chat.module : $("module").value;
  const lang = chat ? chat.lang : $("lang").value || "en";
  if (!module) return;
  const key = `${module}|${lang}|${view.version}`;
  if (shown.graph !== key) {
    const answer = await fetch(`/graph.svg?module=${encodeURIComponent(module)}&lang=${lang}&v=${view.version}`);
    if (!answer.ok) return;
    $("graph").innerHTML = await answer.text();  // our own SVG, drawn by the server
    shown.graph = key;
  }
  const reached = new Set(chat ? chat.reached : []);
  const visited = new Set(chat ? chat.visited : []);
  for (const node of document.querySelectorAll("#graph [data-state]")) {
    const name = node.getAttribute("data-state");
    node.classList.toggle("current", Boolean(chat) && chat.state === name);
    node.classList.toggle("visited", visited.has(name));
  }
  for (const edge of document.querySelectorAll("#graph [data-edge]")) {
    const taken = reached.has(edge.getAttribute("data-edge"));
    edge.classList.toggle("taken", taken);
    edge.classList.toggle("unreached", !taken);
  }
  const current = document.querySelector("#graph .node.current");
  if (current && shown.scrolledTo !== `${key}|${chat.state}`) {
    shown.scrolledTo = `${key}|${chat.state}`;
    current.scrollIntoView({ block: "nearest", inline: "nearest" });
  }
}

function render(view) {
  setOptions($("module"), view.modules.map((m) => [m.id, `${m.title} (${m.id})`]), "modules");
  setOptions($("lang"), view.languages.map((l) => [l, l]), "languages");
  if (view.chat && document.activeElement !== $("module") && document.activeElement !== $("lang")) {
    if (shown.serial === -1) { $("module").value = view.chat.module; $("lang").value = view.chat.lang; }
  }
  $("status").textContent = view.problem ? view.problem : (view.chat ? `playing ${view.chat.module} in ${view.chat.lang}` : "");
  $("status").classList.toggle("problem", Boolean(view.problem));
  if (view.version !== shown.version) { renderDiagnostics(view); shown.version = view.version; }
  if (view.chat && view.chat.serial !== shown.serial) {
    renderLog(view.chat);
    renderVariables(view.chat);
    shown.serial = view.chat.serial;
  }
  if (!view.chat && shown.serial !== "empty") {
    shown.serial = "empty";
    const why = view.modules.length ? "Pick a module and a language, then press Start."
      : "The file has errors, so there is nothing to play yet: fix the first one under " +
        "Diagnostics and save. The chat starts as soon as there are none.";
    $("log").replaceChildren(el("li", { class: "note" }, el("span", { textContent: why })));
    $("graph").replaceChildren();
    shown.graph = "";
  }
  renderGraph(view);
  if (!view.chat && view.modules.length && !shown.autostarted) {
    shown.autostarted = true;  // start the first module, so the page is never empty
    act({ action: "start", module: view.focus || view.modules[0].id, lang: view.languages[0] });
  }
}

async function act(body) {
  const answer = await fetch("/api/act", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ sid, ...body }),
  });
  render(await answer.json());
}

async function refresh() {
  try {
    const answer = await fetch(`/api/view?sid=${sid}`);
    render(await answer.json());
  } catch (error) {
    $("status").textContent = "the preview server is not answering";
  }
}

$("start").onclick = () => { shown.serial = -2; act({ action: "start", module: $("module").value, lang: $("lang").value }); };
$("restart").onclick = () => act({ action: "restart" });
$("back").onclick = () => act({ action: "back" });
$("say").onsubmit = (event) => {
  event.preventDefault();
  const text = $("text").value;
  if (!text.trim()) return;
  $("text").value = "";
  act({ action: "type", text });
};

refresh();
setInterval(refresh, 400);
