// mmattr insights: one ES module, no build step. The notebook widget (anywidget) calls
// render({model, el}) with the kernel's model; the browser page passes httpModel(token), the
// same interface (get / set / save_changes / on) over the server's API.
//
// Model values: "state" (examples, methods and bounds, classes), "selection" ({A, B}: the
// settings of each pane, B optional), "result" ({A, B}: each pane's job: status, progress,
// result or error).

const POLL_MS = 80;

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") el.className = value;
    else if (key === "style") el.style.cssText = value; // CSSOM: allowed by the page's CSP
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null) el.setAttribute(key, value);
  }
  for (const child of children) el.append(child);
  return el;
}

// The server's Content-Security-Policy has no 'unsafe-inline': the style attributes and
// <style> elements of a view's HTML (token highlights, spectrogram axes) would be refused.
// They are renamed before parsing (data-mm-style) and applied through the CSSOM, which the
// policy does not govern. Scripts in the HTML never run (script-src 'self').
const adopted = new Set();
function fragment(markup) {
  const template = document.createElement("template");
  template.innerHTML = markup.replace(/(<[a-zA-Z][^>]*?\s)style=/g, "$1data-mm-style=");
  const root = template.content;
  for (const style of root.querySelectorAll("style")) {
    const css = style.textContent;
    style.remove();
    if (adopted.has(css)) continue;
    adopted.add(css);
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  }
  const box = h("div", { class: "mi-html" });
  box.append(root);
  for (const el of box.querySelectorAll("[data-mm-style]")) {
    el.style.cssText = el.dataset.mmStyle;
    el.removeAttribute("data-mm-style");
  }
  return box;
}

const fmt = (x) => (Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(3) : x.toFixed(4));

export function httpModel(token) {
  const values = { state: null, selection: null, result: {} };
  const handlers = {};
  const running = {};
  let generation = 0;
  const emit = (name) => (handlers["change:" + name] || []).forEach((f) => f());
  async function api(path, body) {
    const response = await fetch(path, {
      method: body === undefined ? "GET" : "POST",
      headers: { "X-Mmattr-Token": token, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
    if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
    return data;
  }
  function update(pane, job, mine) {
    if (mine !== generation) return;
    values.result = { ...values.result, [pane]: job };
    emit("result");
  }
  async function follow(pane, request, mine) {
    update(pane, { status: "queued", progress: 0 }, mine);
    let job = await api("api/run", request);
    running[pane] = job.job;
    while (job.status === "queued" || job.status === "running") {
      update(pane, job, mine);
      if (mine !== generation) return;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      job = await api("api/job/" + job.job);
    }
    update(pane, job, mine);
  }
  function select() {
    const mine = ++generation;
    // the user moved on: stop what is still running for the old selection
    for (const id of Object.values(running)) api("api/cancel/" + id, {}).catch(() => {});
    values.result = {};
    const selection = values.selection || {};
    for (const pane of ["A", "B"]) {
      if (!selection[pane]) continue;
      follow(pane, selection[pane], mine).catch((error) =>
        update(pane, { status: "error", error: error.message }, mine));
    }
    emit("result");
  }
  const model = {
    get: (name) => values[name],
    set: (name, value) => { values[name] = value; },
    save_changes: () => select(),
    on: (event, f) => { (handlers[event] ||= []).push(f); },
    off: (event, f) => { handlers[event] = (handlers[event] || []).filter((g) => g !== f); },
    // Explanation.save of a pane's finished view, zipped (the server keeps the Explanation)
    saveUrl: (pane) => {
      const job = values.result[pane];
      return job && job.status === "done" && job.job ? `api/save/${job.job}?token=${encodeURIComponent(token)}` : null;
    },
  };
  api("api/state").then((state) => { values.state = state; emit("state"); })
    .catch((error) => { values.result = { A: { status: "error", error: error.message } }; emit("result"); });
  return model;
}

class View {
  constructor(model, el) {
    this.model = model;
    this.el = el;
    this.filter = "";
    this.correctness = "all";
    this.settings = { example: 0, method: null, target: "predicted", baseline: "adapter" };
    this.compare = "";
    this.onState = () => this.build();
    this.onResult = () => this.showResults();
    model.on("change:state", this.onState);
    model.on("change:result", this.onResult);
    el.classList.add("mmattr-insights");
    if (model.get("state")) this.build();
    else el.replaceChildren(h("p", { class: "mi-status" }, "loading…"));
  }

  dispose() {
    this.model.off("change:state", this.onState);
    this.model.off("change:result", this.onResult);
  }

  get state() { return this.model.get("state"); }

  build() {
    const state = this.state;
    const methods = Object.keys(state.methods);
    const selection = this.model.get("selection");
    if (selection && selection.A) Object.assign(this.settings, selection.A);
    this.settings.method ||= methods[0];
    this.list = h("tbody");
    this.params = h("span", { class: "mi-params" });
    this.panes = h("div", { class: "mi-panes" });
    const option = (value, label, chosen) => h("option", chosen ? { value, selected: "" } : { value }, label);
    const control = (name, label, options) => h("label", {}, label, h("select", {
      name, onchange: (e) => { this.settings[name] = e.target.value; this.run(); } }, ...options));
    const targets = [option("predicted", "predicted", true),
      ...(state.classes || []).map((c, i) => option(String(i), c, false))];
    this.el.replaceChildren(
      h("div", { class: "mi-side" },
        h("input", { class: "mi-filter", placeholder: "filter examples", oninput: (e) => { this.filter = e.target.value.toLowerCase(); this.showList(); } }),
        h("select", { class: "mi-correct", onchange: (e) => { this.correctness = e.target.value; this.showList(); } },
          option("all", "all", true), option("right", "correct", false), option("wrong", "wrong", false)),
        h("table", { class: "mi-examples" }, h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, "example"), h("th", {}, "label"), h("th", {}, "predicted"), h("th", {}, ""))), this.list)),
      h("div", { class: "mi-main" },
        h("div", { class: "mi-controls" },
          control("method", "method ", methods.map((m) => option(m, m, m === this.settings.method))),
          this.params,
          control("target", "target ", targets),
          control("baseline", "baseline ", state.baselines.map((b) => option(b, b, b === this.settings.baseline))),
          h("label", {}, "compare with ", h("select", { name: "compare", onchange: (e) => { this.compare = e.target.value; this.run(); } },
            option("", "—", true), ...methods.map((m) => option(m, m, false)))),
          h("button", { class: "mi-export-png", onclick: () => this.exportPng() }, "PNG"),
          h("button", { class: "mi-export-html", onclick: () => this.exportHtml() }, "HTML"),
          ...(this.model.saveUrl ? [h("button", { class: "mi-export-save", onclick: () => this.exportSave() }, "Explanation.save")] : [])),
        this.panes));
    this.showList();
    this.showParams();
    this.showResults();
  }

  showList() {
    const rows = this.state.examples.filter((row) => {
      const text = `${row.title} ${row.label_name} ${row.prediction_name}`.toLowerCase();
      const keep = this.correctness === "all" || (this.correctness === "right") === row.correct;
      return keep && text.includes(this.filter);
    });
    this.list.replaceChildren(...rows.map((row) => h("tr", {
      class: "mi-example" + (row.index === Number(this.settings.example) ? " mi-chosen" : ""),
      "data-index": row.index,
      onclick: () => { this.settings.example = row.index; this.showList(); this.run(); },
    }, h("td", {}, String(row.index)), h("td", {}, row.title), h("td", {}, row.label_name ?? "–"),
       h("td", {}, row.prediction_name), h("td", { class: row.correct ? "mi-right" : "mi-wrong" }, row.correct === null ? "" : row.correct ? "✓" : "✗"))));
  }

  showParams() {
    const bounds = this.state.methods[this.settings.method] || {};
    for (const key of ["n_steps", "n_samples"]) if (!(key in bounds)) delete this.settings[key];
    this.params.replaceChildren(...Object.entries(bounds).map(([name, [low, high, initial]]) => {
      this.settings[name] ??= initial;
      return h("label", {}, name + " ", h("input", { type: "number", name, min: low, max: high, value: this.settings[name],
        onchange: (e) => { this.settings[name] = e.target.value === "" ? e.target.value : Number(e.target.value); this.run(); } }));
    }));
  }

  request(method) {
    const request = { ...this.settings, method, example: Number(this.settings.example) };
    if (request.target !== "predicted") request.target = Number(request.target);
    const bounds = this.state.methods[method] || {};
    for (const key of ["n_steps", "n_samples"]) {
      if (!(key in bounds)) delete request[key];
      else if (method !== this.settings.method) request[key] = bounds[key][2];
    }
    return request;
  }

  run() {
    this.showParams();
    const selection = { A: this.request(this.settings.method) };
    if (this.compare) selection.B = this.request(this.compare);
    this.model.set("selection", selection);
    this.model.save_changes();
  }

  showResults() {
    if (!this.panes) return;
    const result = this.model.get("result") || {};
    this.panes.replaceChildren(...Object.entries(result).sort().map(([pane, job]) => this.pane(pane, job)));
  }

  pane(name, job) {
    const box = h("div", { class: "mi-pane", "data-pane": name, "data-status": job.status });
    if (job.status === "error" || job.status === "cancelled") {
      box.append(h("div", { class: "mi-error" }, job.error || job.status));
      return box;
    }
    if (job.status !== "done") {
      box.append(h("div", { class: "mi-progress" }, h("span", { class: "mi-spinner" }), ` computing… ${job.progress || 0} model calls`));
      return box;
    }
    const view = job.result;
    box.append(h("h3", {}, `${view.settings.method} → ${view.target_name}`),
      h("div", { class: "mi-evaluations" }, `${view.evaluations} model calls`));
    for (const m of view.modalities) {
      const caption = m.total === null ? [m.name]
        : [`${m.name}: Σ attribution = `, h("span", { class: "mi-total" }, fmt(m.total))];
      const card = h("div", { class: "mi-modality", "data-modality": m.name, "data-total": m.total },
        h("div", { class: "mi-caption" }, ...caption));
      if (m.kind === "image") card.append(h("img", { class: "mi-image", src: m.data, alt: `${m.name} attribution` }));
      else card.append(fragment(m.data));
      box.append(card);
    }
    for (const [estimator, c] of Object.entries(view.contributions)) {
      const table = h("table", { class: "mi-bars", "data-estimator": estimator }, h("caption", {}, estimator));
      for (const [modality, value] of Object.entries(c.values)) {
        const share = c.shares[modality];
        table.append(h("tr", { class: "mi-bar", "data-modality": modality, "data-value": value, "data-share": share },
          h("td", {}, modality),
          h("td", { class: "mi-track" }, h("div", { class: value >= 0 ? "mi-fill mi-pos" : "mi-fill mi-neg", style: `width:${(100 * share).toFixed(1)}%` })),
          h("td", { class: "mi-value" }, fmt(value))));
      }
      box.append(table);
    }
    return box;
  }

  download(name, href) {
    const link = h("a", { href, download: name });
    document.body.append(link);
    link.click();
    link.remove();
  }

  exportPng() {
    const image = this.panes.querySelector(".mi-modality img");
    if (image) this.download("attribution.png", image.src);
  }

  exportSave() {
    const url = this.model.saveUrl("A");
    if (url) this.download("explanation.zip", url);
  }

  exportHtml() {
    const css = [...document.styleSheets, ...document.adoptedStyleSheets].flatMap((s) => { try { return [...s.cssRules].map((r) => r.cssText); } catch { return []; } }).join("\n");
    const page = `<!doctype html><meta charset="utf-8"><style>${css}</style><div class="mmattr-insights">${this.panes.outerHTML}</div>`;
    this.download("attribution.html", URL.createObjectURL(new Blob([page], { type: "text/html" })));
  }
}

function render({ model, el }) {
  const view = new View(model, el);
  return () => view.dispose();
}

export default { render };
