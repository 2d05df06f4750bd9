// idlegate admin UI: the *Evidence* view (docs/reference.md, "Admin UI"): live evidence
// (`GET /api/v1/evidence`), the settings' `trial` (each change one `PUT /api/v1/settings`),
// what the trial would have signed out (`GET /api/v1/evidence/trial`), and its promotion to
// enforced exclusions after a confirm step. Server strings are only ever set as text.
"use strict";

(function () {
  const FIRST_ROWS = 50;
  let ctx = null;
  // evidence: the last /evidence answer (null before, or when off); would: the last
  // /evidence/trial answer; seq and wouldSeq drop answers overtaken by newer look-ups.
  const view = { evidence: null, would: null, off: false, showAll: false, seq: 0, wouldSeq: 0, busy: false };

  const count = (n) => (typeof n === "number" ? n.toLocaleString("en-US") : "–");
  const plural = (n, one, many) => count(n) + " " + (n === 1 ? one : many);
  const patternOf = (a) => a.method + " " + a.template;
  const empty = (t) => t.defaults.length === 0 && t.custom.length === 0;

  function trialOf(doc) {
    const t = (doc && doc.trial) || {};
    return { defaults: (t.defaults || []).slice(), custom: (t.custom || []).slice() };
  }

  function intervalText(seconds) {
    if (seconds < 90) return Math.round(seconds) + " s";
    if (seconds < 5400) return Math.round(seconds / 60) + " min";
    return Math.round(seconds / 360) / 10 + " h";
  }

  function periodicText(periodicTokens, seconds) {
    if (!periodicTokens || seconds === null || seconds === undefined) return "not periodic";
    return "every " + intervalText(seconds) + " on " + plural(periodicTokens, "token", "tokens");
  }

  // "2024-05-01T10:00:00.123Z" → "2024-05-01 10:00:00 UTC"; anything else as sent.
  function timeText(iso) {
    const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.\d+)?Z$/.exec(String(iso || ""));
    return m ? m[1] + " " + m[2] + " UTC" : String(iso || "");
  }

  // A button of a list row, described by the row's text (`describedBy`).
  function rowButton(cls, text, id, describedBy) {
    const b = Object.assign(ctx.el("button", cls, text), { type: "button", id });
    b.setAttribute("aria-describedby", describedBy);
    return b;
  }

  function apiLabel(method, template) {
    return withChildren(ctx.el("span", "api"), ctx.el("span", "method method-" + String(method).toLowerCase(), method),
      " ", ctx.el("code", "template", template));
  }

  function withChildren(parent, ...children) {
    parent.append(...children);
    return parent;
  }

  // ---- loading -----------------------------------------------------------------------------

  async function refresh() {
    const seq = ++view.seq;
    view.wouldSeq++;
    ctx.$("evidence-error").textContent = "";
    ctx.$("evidence-status").textContent = "Loading the evidence…";
    try {
      const evidence = await ctx.api("GET", "/api/v1/evidence");
      if (seq !== view.seq) return;
      view.evidence = evidence;
      view.off = false;
    } catch (e) {
      if (seq !== view.seq) return;
      view.evidence = null;
      view.off = e.status === 404 && !!e.body && e.body.error === "evidence_disabled";
      const shown = view.off || e.status === 401 || e.status === 403; // said elsewhere
      ctx.$("evidence-error").textContent = shown ? "" : "Cannot load the evidence: " + e.message;
    }
    const would = view.evidence ? await fetchWould() : null;
    if (seq !== view.seq) return;
    view.would = would;
    renderAll();
  }

  // What the trial would have signed out, or `{error}`.
  async function fetchWould() {
    try {
      return await ctx.api("GET", "/api/v1/evidence/trial");
    } catch (e) {
      return { error: e.message };
    }
  }

  // ---- rendering ---------------------------------------------------------------------------

  function renderAll() {
    const ev = view.evidence;
    ctx.$("evidence-body").hidden = !ev;
    ctx.$("evidence-status").textContent = view.off
      ? "Live evidence is off ([evidence] enabled = false in the config file): there is nothing to show."
      : ev ? "Traffic since " + timeText(ev.since) + "." : "";
    if (!ev) return;
    renderApis(ev);
    renderTrial();
    renderWould();
  }

  function renderApis(ev) {
    const apis = Array.isArray(ev.apis) ? ev.apis : [];
    const shown = view.showAll ? apis : apis.slice(0, FIRST_ROWS);
    const body = ctx.$("apis");
    body.textContent = "";
    for (const a of shown) {
      const cls = withChildren(ctx.el("td"), ctx.el("span", "class-" + a.class, a.class));
      if (a.exclusion) cls.append(" ", ctx.el("span", "muted note", "by " + a.exclusion));
      body.appendChild(withChildren(ctx.el("tr", "api-" + a.class), withChildren(ctx.el("td"), apiLabel(a.method, a.template)),
        ctx.el("td", "num", count(a.requests)), ctx.el("td", "num", count(a.tokens)),
        cls, ctx.el("td", null, periodicText(a.periodic_tokens, a.median_interval_seconds))));
    }
    ctx.$("apis-table").hidden = apis.length === 0;
    ctx.$("apis-empty").hidden = apis.length > 0;
    ctx.$("apis-count").textContent = apis.length > shown.length
      ? "The busiest " + shown.length + " of " + plural(apis.length, "API", "APIs") + "."
      : apis.length ? plural(apis.length, "API", "APIs") + ", busiest first." : "";
    const more = ctx.$("apis-more");
    more.hidden = apis.length <= FIRST_ROWS;
    more.textContent = view.showAll ? "Show the busiest " + FIRST_ROWS + " only"
      : "Show all " + plural(apis.length, "API", "APIs");
    more.setAttribute("aria-expanded", String(view.showAll));
  }

  // The patterns already enforced (custom, or a route of a group switched on).
  function enforcedPatterns(doc) {
    const set = new Set(doc.custom_exclusions || []);
    for (const g of doc.default_exclusions || []) if (g.enabled) for (const r of g.routes || []) set.add(r);
    return set;
  }

  function renderCandidates(trial, enforced) {
    const ev = view.evidence;
    const list = ctx.$("candidates");
    list.textContent = "";
    const candidates = (ev && Array.isArray(ev.candidates)) ? ev.candidates : [];
    ctx.$("candidates-empty").hidden = candidates.length > 0;
    candidates.forEach((c, i) => {
      const pattern = patternOf(c);
      const li = ctx.el("li", "candidate");
      const label = apiLabel(c.method, c.template);
      label.id = "candidate-" + i;
      li.appendChild(withChildren(ctx.el("div", "custom-body"), label,
        ctx.el("span", "muted note", periodicText(c.periodic_tokens, c.median_interval_seconds))));
      if (enforced.has(pattern)) {
        li.appendChild(ctx.el("span", "badge", "excluded"));
      } else if (trial.custom.includes(pattern)) {
        li.appendChild(ctx.el("span", "badge", "in trial"));
      } else {
        li.appendChild(rowButton("btn add-trial", "Add to trial", "candidate-add-" + i, label.id)).dataset.pattern = pattern;
      }
      list.appendChild(li);
    });
  }

  function renderTrial() {
    const saved = ctx.saved();
    if (!saved || !view.evidence) return;
    const trial = trialOf(saved);
    renderCandidates(trial, enforcedPatterns(saved));
    const groups = ctx.$("trial-groups");
    groups.textContent = "";
    const offered = (saved.default_exclusions || []).filter((g) => !g.enabled || trial.defaults.includes(g.id));
    ctx.$("trial-groups-empty").hidden = offered.length > 0;
    for (const g of offered) {
      const id = "trial-group-" + g.id;
      const input = Object.assign(ctx.el("input", "switch"), { type: "checkbox", id, checked: trial.defaults.includes(g.id) });
      input.setAttribute("role", "switch");
      input.setAttribute("aria-describedby", id + "-routes");
      input.dataset.group = g.id;
      const label = Object.assign(ctx.el("label", "group-title", (g.title || g.id) + " on trial"), { htmlFor: id });
      const routes = (g.routes || []).join(", ") + (g.enabled ? " (already enforced)" : "");
      groups.appendChild(withChildren(ctx.el("li", "trial-group"), input, label,
        Object.assign(ctx.el("span", "muted note", routes), { id: id + "-routes" })));
    }
    const list = ctx.$("trial-custom");
    list.textContent = "";
    ctx.$("trial-custom-empty").hidden = trial.custom.length > 0;
    trial.custom.forEach((pattern, i) => {
      const li = Object.assign(ctx.el("li", "custom"), { id: "trial-row-" + i });
      const text = Object.assign(ctx.el("code", "custom-pattern", pattern), { id: "trial-pattern-" + i });
      const b = rowButton("btn btn-quiet remove", "Remove from trial", "trial-remove-" + i, text.id);
      b.dataset.index = String(i);
      li.append(withChildren(ctx.el("div", "custom-body"), text), b);
      list.appendChild(li);
    });
    ctx.$("trial-promote").disabled = ctx.$("trial-clear").disabled = empty(trial) || view.busy;
  }

  function keptAliveText(list) {
    return "kept alive by " + (list || []).map((k, i) =>
      (k.method === "*" ? "" : k.method + " ") + k.template + " (" + (i === 0 ? plural(k.count, "request", "requests") : count(k.count)) + ")",
    ).join(", ");
  }

  function renderWould() {
    const w = view.would;
    const note = ctx.$("revoke-note");
    const body = ctx.$("revoke");
    body.textContent = "";
    const rows = w && Array.isArray(w.would_revoke) ? w.would_revoke : [];
    ctx.$("revoke-table").hidden = rows.length === 0;
    if (!w) { note.textContent = ""; return; }
    if (w.error) { note.textContent = "Cannot load what the trial would have done: " + w.error; return; }
    const since = w.since ? " since " + timeText(w.since) : "";
    note.textContent = rows.length
      ? plural(rows.length, "token", "tokens") + " would have been signed out by the trial" + since + ", newest first."
      : "No token would have been signed out by the trial" + since + ".";
    for (const r of rows) {
      const id = ctx.el("td", "mono", String(r.token_id || "").slice(0, 16));
      id.title = r.token_id || "";
      const when = ctx.el("time", null, timeText(r.at));
      when.dateTime = String(r.at || "");
      body.appendChild(withChildren(ctx.el("tr"), id, ctx.el("td", null, r.subject || "–"),
        withChildren(ctx.el("td"), when), ctx.el("td", null, keptAliveText(r.kept_alive_by))));
    }
  }

  // ---- trial changes -----------------------------------------------------------------------

  function setBusy(busy) {
    view.busy = busy;
    document.querySelectorAll("#evidence-body button, #trial-groups input").forEach((b) => { b.disabled = busy; });
    if (!busy) renderTrial();
  }

  // One PUT of `body`; the answer becomes the saved settings. Answers true when applied.
  async function put(body, replaceDraft, done) {
    ctx.$("trial-error").textContent = "";
    ctx.$("trial-status").textContent = "";
    document.querySelectorAll("#trial-custom .invalid").forEach((e) => e.classList.remove("invalid"));
    setBusy(true);
    try {
      const saved = await ctx.api("PUT", "/api/v1/settings", body);
      view.busy = false;
      ctx.adopt(saved, replaceDraft);
      ctx.$("trial-status").textContent = done;
      return true;
    } catch (e) {
      if (e.status === 400 && e.body) showErrors(e.body.errors || e.body.fields || [], body);
      else if (e.status !== 401 && e.status !== 403) ctx.$("trial-error").textContent = "Not saved: " + e.message;
      return false;
    } finally {
      setBusy(false);
    }
  }

  // Each error with what it names: the pattern sent for `trial.custom[1]`, else the field.
  function showErrors(errors, body) {
    const lines = [];
    for (const err of errors) {
      const field = String(err.field || "");
      const m = /^(trial\.custom|custom_exclusions)\[(\d+)\]/.exec(field);
      const list = m && (m[1] === "trial.custom" ? (body.trial || {}).custom : body.custom_exclusions);
      const named = m && list && list[Number(m[2])];
      const row = m && m[1] === "trial.custom" && ctx.$("trial-row-" + m[2]);
      if (row && ctx.$("trial-pattern-" + m[2]).textContent === named) row.classList.add("invalid");
      lines.push((named || field) + (named || field ? ": " : "") + err.message);
    }
    ctx.$("trial-error").textContent = lines.join(" ") || "The change was refused.";
    ctx.$("trial-error").focus();
  }

  async function afterTrialChange(ok, focusId) {
    if (!ok) return;
    const target = ctx.$(focusId);
    if (target) target.focus();
    const seq = ++view.wouldSeq;
    const would = await fetchWould();
    if (seq !== view.wouldSeq || !view.evidence) return;
    view.would = would;
    renderWould();
  }

  async function onCandidate(event) {
    const b = event.target.closest("button.add-trial");
    if (!b) return;
    const custom = trialOf(ctx.saved()).custom;
    const pattern = b.dataset.pattern;
    if (!custom.includes(pattern)) custom.push(pattern);
    const ok = await put({ trial: { custom } }, false, pattern + " is on trial.");
    await afterTrialChange(ok, "trial-remove-" + trialOf(ctx.saved()).custom.indexOf(pattern));
  }

  async function onGroup(event) {
    const input = event.target;
    if (!input.dataset || !input.dataset.group) return;
    const trial = trialOf(ctx.saved());
    const id = input.dataset.group;
    trial.defaults = trial.defaults.filter((g) => g !== id);
    if (input.checked) trial.defaults.push(id);
    const ok = await put({ trial }, false, "Group " + id + (input.checked ? " is on trial." : " is off the trial."));
    await afterTrialChange(ok, "trial-group-" + id);
  }

  async function onRemove(event) {
    const b = event.target.closest("button.remove");
    if (!b) return;
    const trial = trialOf(ctx.saved());
    const i = Number(b.dataset.index);
    const [pattern] = trial.custom.splice(i, 1);
    const ok = await put({ trial }, false, pattern + " is off the trial.");
    const left = trial.custom.length;
    await afterTrialChange(ok, left ? "trial-remove-" + Math.min(i, left - 1) : "trial-title");
  }

  async function onClear() {
    hideConfirm();
    const ok = await put({ trial: { defaults: [], custom: [] } }, false, "The trial is cleared.");
    await afterTrialChange(ok, "evidence-refresh");
  }

  // ---- promote -----------------------------------------------------------------------------

  function askPromote() {
    const trial = trialOf(ctx.saved());
    const n = trial.defaults.length + trial.custom.length;
    ctx.$("trial-status").textContent = "";
    ctx.$("trial-question").textContent = "Enforce the trial? " + (n === 1 ? "This exclusion" : "These " + n + " exclusions") +
      " will stop resetting the timer of every token, and the trial will be empty.";
    const details = ctx.$("trial-details");
    details.textContent = "";
    for (const g of trial.defaults) details.appendChild(ctx.el("li", null, "Group switched on: " + g));
    for (const p of trial.custom) details.appendChild(ctx.el("li", null, "Custom API excluded: " + p));
    if (ctx.dirty()) details.appendChild(ctx.el("li", "error", "Unsaved changes in the settings above will be discarded."));
    ctx.$("trial-confirm").hidden = false;
    ctx.$("trial-no").focus();
  }

  const hideConfirm = () => { ctx.$("trial-confirm").hidden = true; };

  // One PUT: the server switches the trial's groups on, adds its patterns to the custom list
  // (once) and empties the trial, from the settings as they are when it arrives.
  async function promote() {
    hideConfirm();
    if (!(await put({ promote_trial: true }, true, "The trial is enforced."))) return;
    ctx.$("trial-title").focus();
    await refresh();
  }

  // ---- wiring ------------------------------------------------------------------------------

  function reset() {
    view.seq++;
    view.evidence = view.would = null;
    view.off = view.showAll = view.busy = false;
    for (const id of ["evidence-status", "evidence-error", "trial-error", "trial-status", "revoke-note",
      "apis", "candidates", "trial-groups", "trial-custom", "revoke"]) ctx.$(id).textContent = "";
    ctx.$("evidence-body").hidden = true;
    hideConfirm();
  }

  function init(context) {
    ctx = context;
    ctx.$("evidence-refresh").addEventListener("click", refresh);
    ctx.$("apis-more").addEventListener("click", () => {
      view.showAll = !view.showAll;
      if (view.evidence) renderApis(view.evidence);
    });
    ctx.$("candidates").addEventListener("click", onCandidate);
    ctx.$("trial-groups").addEventListener("change", onGroup);
    ctx.$("trial-custom").addEventListener("click", onRemove);
    ctx.$("trial-clear").addEventListener("click", onClear);
    ctx.$("trial-promote").addEventListener("click", askPromote);
    ctx.$("trial-yes").addEventListener("click", promote);
    ctx.$("trial-no").addEventListener("click", () => { hideConfirm(); ctx.$("trial-promote").focus(); });
    ctx.$("trial-confirm").addEventListener("keydown", (e) => {
      if (e.key === "Escape") { e.stopPropagation(); hideConfirm(); ctx.$("trial-promote").focus(); }
    });
  }

  window.idlegateSections = window.idlegateSections || [];
  window.idlegateSections.push({
    keys: [], init, reset, panel: "evidence", show: refresh, render: () => renderTrial(),
  });
})();
