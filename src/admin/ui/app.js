// idlegate admin UI. Plain script, no framework, no build step, no external URL: the page is
// served from the binary under a strict Content-Security-Policy, so nothing here may use
// inline handlers, eval or inline styles.
"use strict";

(function () {
  const TOKEN_KEY = "idlegate.adminToken";
  const MINUTE_CHOICES = [5, 10, 15, 30, 60, 120, 240, 480];
  const STATS_EVERY_MS = 5000;
  const SEARCH_DELAY_MS = 120;
  const PATTERN = /^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|\*)\s+(\/\S*)$/i;

  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };

  // saved: the settings document as the server last answered it; draft: what the form shows.
  const state = { saved: null, draft: null, suggestions: [], active: -1, statsTimer: null,
    searchTimer: null, searchSeq: 0 };

  // The sections of policies.js and everywhere.js (loaded first): each edits its `keys` of
  // the settings document, or is a panel of its own shown while signed in.
  const sections = () => window.idlegateSections || [];

  function showPanels(visible) {
    for (const sec of sections()) {
      if (sec.reset) sec.reset();
      if (sec.panel) $(sec.panel).hidden = !visible;
      if (visible && sec.show) sec.show();
    }
  }

  // ---- API -------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, body) {
      super((body && (body.message || body.error)) || "HTTP " + status);
      this.status = status;
      this.body = body;
    }
  }

  async function api(method, path, body) {
    const token = sessionStorage.getItem(TOKEN_KEY) || "";
    const init = { method, headers: { Authorization: "Bearer " + token }, cache: "no-store" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const resp = await fetch(path, init);
    let data = null;
    try { data = await resp.json(); } catch (_) { data = null; }
    if (resp.status === 401) { signOut("The admin token was not accepted. Sign in again."); }
    if (resp.status === 403) { signOut((data && data.message) || "The admin API is disabled."); }
    if (!resp.ok) throw new ApiError(resp.status, data);
    return data;
  }

  // ---- sign-in ---------------------------------------------------------------------------

  function showSignIn(message) {
    stopStats();
    $("settings").hidden = true;
    $("figures").hidden = true;
    $("sign-out").hidden = true;
    $("banner-shadow").hidden = true;
    $("banner-disabled").hidden = true;
    showPanels(false);
    $("signin").hidden = false;
    $("signin-error").textContent = message || "";
    $("admin-token").value = "";
    $("admin-token").focus();
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.saved = state.draft = null;
    showSignIn(message);
  }

  async function signIn(event) {
    event.preventDefault();
    const token = $("admin-token").value.trim();
    if (!token) { $("signin-error").textContent = "Enter the admin token."; return; }
    sessionStorage.setItem(TOKEN_KEY, token);
    $("signin-error").textContent = "";
    await loadSettings();
  }

  async function loadSettings() {
    try {
      const settings = await api("GET", "/api/v1/settings");
      state.saved = settings;
      state.draft = clone(settings);
      $("signin").hidden = true;
      $("settings").hidden = false;
      $("figures").hidden = false;
      $("sign-out").hidden = false;
      showPanels(true);
      clearErrors();
      render();
      startStats();
      $("enabled").focus();
    } catch (e) {
      if (e.status !== 401 && e.status !== 403) {
        showSignIn("Cannot load the settings: " + e.message);
      }
    }
  }

  // ---- live figures ----------------------------------------------------------------------

  function startStats() {
    stopStats();
    refreshStats();
    state.statsTimer = setInterval(refreshStats, STATS_EVERY_MS);
  }

  function stopStats() {
    if (state.statsTimer) clearInterval(state.statsTimer);
    state.statsTimer = null;
  }

  async function refreshStats() {
    try {
      const s = await api("GET", "/api/v1/stats");
      $("fig-tracked").textContent = formatCount(s.tracked_tokens);
      $("fig-revocations").textContent = formatCount(s.revocations_last_hour);
      $("fig-mode").textContent = s.mode === "shadow" ? "Shadow" : "Enforce";
      $("fig-mode").className = s.mode === "shadow" ? "mode-shadow" : "mode-enforce";
      showBanners(s.mode, s.enabled);
    } catch (_) {
      $("fig-tracked").textContent = $("fig-revocations").textContent = "–";
    }
  }

  function showBanners(mode, enabled) {
    $("banner-shadow").hidden = mode !== "shadow";
    $("banner-disabled").hidden = enabled !== false;
  }

  // ---- rendering -------------------------------------------------------------------------

  function render() {
    const d = state.draft;
    $("enabled").checked = !!d.enabled;
    renderIdle(d.idle_seconds);
    renderGroups(d.default_exclusions);
    renderCustoms(d.custom_exclusions);
    for (const sec of sections()) if (sec.render) sec.render(d);
    showBanners(state.saved.mode, state.saved.enabled);
    updateDirty();
  }

  function renderIdle(seconds) {
    const select = $("idle");
    select.textContent = "";
    const choices = MINUTE_CHOICES.map((m) => m * 60);
    if (!choices.includes(seconds)) choices.push(seconds);
    choices.sort((a, b) => a - b);
    for (const s of choices) {
      const opt = el("option", null, idleLabel(s));
      opt.value = String(s);
      opt.selected = s === seconds;
      select.appendChild(opt);
    }
  }

  function idleLabel(seconds) {
    if (seconds % 60 !== 0) return seconds + " seconds (current)";
    const m = seconds / 60;
    const custom = MINUTE_CHOICES.includes(m) ? "" : " (current)";
    if (m >= 60 && m % 60 === 0) {
      const h = m / 60;
      return m + " — " + h + (h === 1 ? " hour" : " hours") + custom;
    }
    return String(m) + custom;
  }

  function renderGroups(groups) {
    const list = $("groups");
    list.textContent = "";
    groups.forEach((g, i) => {
      const li = el("li", "group" + (isHighRisk(g) ? " high-risk" : ""));
      const head = el("div", "group-head");
      const input = el("input", "switch");
      input.type = "checkbox";
      input.setAttribute("role", "switch");
      input.id = "group-" + g.id;
      input.dataset.index = String(i);
      input.checked = !!g.enabled;
      const label = el("label", "group-title", g.title || g.id);
      label.htmlFor = input.id;
      const id = el("code", "group-id", g.id);
      head.append(input, label, id);
      const desc = el("p", "help", g.description || "");
      desc.id = input.id + "-desc";
      const routes = el("ul", "routes");
      routes.setAttribute("aria-label", "Routes of " + (g.title || g.id));
      for (const r of g.routes || []) routes.appendChild(el("li", null, r)).classList.add("mono");
      const described = [desc.id];
      li.append(head, desc, routes);
      if (g.caution) {
        const caution = el("p", "caution");
        caution.id = input.id + "-caution";
        caution.append(el("strong", null, isHighRisk(g) ? "High risk: " : "Caution: "),
          document.createTextNode(g.caution.replace(/^HIGH RISK:\s*/i, "")));
        li.appendChild(caution);
        described.push(caution.id);
      }
      input.setAttribute("aria-describedby", described.join(" "));
      list.appendChild(li);
    });
  }

  function isHighRisk(group) {
    return /high risk/i.test(group.caution || "");
  }

  function renderCustoms(customs) {
    const list = $("customs");
    list.textContent = "";
    $("custom-empty").hidden = customs.length > 0;
    customs.forEach((pattern, i) => {
      const li = el("li", "custom");
      li.id = "custom-row-" + i;
      li.dataset.index = String(i);
      const text = el("code", "custom-pattern", pattern);
      text.id = "custom-" + i;
      const covered = coveringGroup(pattern);
      const body = el("div", "custom-body");
      body.appendChild(text);
      if (covered) body.appendChild(el("span", "muted note", "also in " + covered));
      const err = el("p", "error", "");
      err.id = "custom-error-" + i;
      err.setAttribute("aria-live", "polite");
      body.appendChild(err);
      const remove = el("button", "btn btn-quiet remove", "Remove from list");
      remove.type = "button";
      remove.id = "custom-remove-" + i;
      remove.dataset.index = String(i);
      remove.setAttribute("aria-describedby", text.id + " " + err.id);
      li.append(body, remove);
      list.appendChild(li);
    });
  }

  function coveringGroup(pattern) {
    const g = state.draft.default_exclusions.find((x) => x.enabled && (x.routes || []).includes(pattern));
    return g ? g.title || g.id : "";
  }

  // ---- editing ---------------------------------------------------------------------------

  function onGroupToggle(event) {
    const t = event.target;
    if (!t.matches || !t.matches("input.switch[data-index]")) return;
    state.draft.default_exclusions[Number(t.dataset.index)].enabled = t.checked;
    renderCustoms(state.draft.custom_exclusions);
    updateDirty();
  }

  function addCustom(raw) {
    const pattern = normalisePattern(raw);
    const error = $("custom-input-error");
    if (!pattern) {
      error.textContent = "Pick an API from the list, or enter METHOD /path (for example GET /api/v2/users/me).";
      return false;
    }
    if (state.draft.custom_exclusions.includes(pattern)) {
      error.textContent = pattern + " is already in the list.";
      return false;
    }
    error.textContent = "";
    state.draft.custom_exclusions.push(pattern);
    renderCustoms(state.draft.custom_exclusions);
    updateDirty();
    $("custom-input").value = "";
    closeSuggestions();
    return true;
  }

  function normalisePattern(raw) {
    const m = PATTERN.exec(String(raw || "").trim());
    return m ? m[1].toUpperCase() + " " + m[2] : null;
  }

  function onRemove(event) {
    const b = event.target.closest("button.remove");
    if (!b) return;
    const i = Number(b.dataset.index);
    state.draft.custom_exclusions.splice(i, 1);
    renderCustoms(state.draft.custom_exclusions);
    updateDirty();
    // Keep keyboard users in place: focus the next remove button, or the input.
    const buttons = document.querySelectorAll("#customs button.remove");
    (buttons[Math.min(i, buttons.length - 1)] || $("custom-input")).focus();
  }

  // ---- type-ahead (combobox + listbox) ---------------------------------------------------

  function onSearchInput() {
    $("custom-input-error").textContent = "";
    clearTimeout(state.searchTimer);
    const q = $("custom-input").value.trim();
    if (q.length < 2) { closeSuggestions(); return; }
    state.searchTimer = setTimeout(() => search(q), SEARCH_DELAY_MS);
  }

  async function search(q) {
    const seq = ++state.searchSeq;
    try {
      const found = await api("GET", "/api/v1/apis?q=" + encodeURIComponent(q) + "&limit=12");
      if (seq !== state.searchSeq) return; // a newer search is on its way
      showSuggestions(Array.isArray(found) ? found : []);
    } catch (_) {
      closeSuggestions();
    }
  }

  function showSuggestions(items) {
    state.suggestions = items;
    state.active = -1;
    const list = $("suggestions");
    list.textContent = "";
    items.forEach((api, i) => {
      const li = el("li", "option");
      li.id = "suggestion-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.dataset.index = String(i);
      li.dataset.pattern = api.method + " " + api.path;
      li.append(el("span", "method method-" + api.method.toLowerCase(), api.method),
        el("span", "mono path", api.path));
      if (api.summary) li.appendChild(el("span", "muted summary-text", api.summary));
      list.appendChild(li);
    });
    const open = items.length > 0;
    list.hidden = !open;
    $("custom-input").setAttribute("aria-expanded", String(open));
    $("custom-input").removeAttribute("aria-activedescendant");
  }

  function closeSuggestions() {
    clearTimeout(state.searchTimer);
    state.searchSeq++;
    state.suggestions = [];
    state.active = -1;
    $("suggestions").hidden = true;
    $("suggestions").textContent = "";
    $("custom-input").setAttribute("aria-expanded", "false");
    $("custom-input").removeAttribute("aria-activedescendant");
  }

  function setActive(i) {
    const options = $("suggestions").querySelectorAll("[role=option]");
    if (!options.length) return;
    state.active = (i + options.length) % options.length;
    options.forEach((o, j) => o.setAttribute("aria-selected", String(j === state.active)));
    const opt = options[state.active];
    $("custom-input").setAttribute("aria-activedescendant", opt.id);
    opt.scrollIntoView({ block: "nearest" });
  }

  function onComboKey(event) {
    const open = !$("suggestions").hidden;
    switch (event.key) {
      case "ArrowDown":
        event.preventDefault();
        if (open) setActive(state.active + 1);
        else onSearchInput();
        break;
      case "ArrowUp":
        if (open) { event.preventDefault(); setActive(state.active - 1); }
        break;
      case "Enter":
        // Never submit the whole form from here.
        event.preventDefault();
        if (open && state.active >= 0) pickSuggestion(state.active);
        else addCustom($("custom-input").value);
        break;
      case "Escape":
        if (open) { event.preventDefault(); closeSuggestions(); }
        break;
      default:
    }
  }

  function pickSuggestion(i) {
    const s = state.suggestions[i];
    if (s) addCustom(s.method + " " + s.path);
    $("custom-input").focus();
  }

  function onSuggestionPointer(event) {
    const opt = event.target.closest("[role=option]");
    if (!opt) return;
    event.preventDefault(); // keep focus in the input
    pickSuggestion(Number(opt.dataset.index));
  }

  // ---- save ------------------------------------------------------------------------------

  function excludedRoutes(doc) {
    const set = new Set();
    if (!doc) return set;
    for (const g of doc.default_exclusions) if (g.enabled) for (const r of g.routes || []) set.add(r);
    for (const c of doc.custom_exclusions) set.add(c);
    return set;
  }

  // "30 → 15 minutes" for whole minutes; seconds spelled out otherwise (test configs).
  function timeoutChange(from, to) {
    if (from % 60 === 0 && to % 60 === 0) return "timeout " + from / 60 + " → " + to / 60 + " minutes";
    return "timeout " + durationText(from) + " → " + durationText(to);
  }

  function durationText(seconds) {
    if (seconds % 60 !== 0) return seconds + (seconds === 1 ? " second" : " seconds");
    const m = seconds / 60;
    return m + (m === 1 ? " minute" : " minutes");
  }

  // The change as sentences: the headline first, then the APIs concerned.
  function describeChange(before, after) {
    const parts = [];
    const details = [];
    const was = excludedRoutes(before);
    const now = excludedRoutes(after);
    const stop = [...now].filter((r) => !was.has(r));
    const resume = [...was].filter((r) => !now.has(r));
    if (stop.length) {
      parts.push(stop.length + (stop.length === 1 ? " API will stop" : " APIs will stop") + " resetting the timer");
      stop.forEach((r) => details.push("No longer resets the timer: " + r));
    }
    if (resume.length) {
      parts.push(resume.length + (resume.length === 1 ? " API will reset" : " APIs will reset") + " the timer again");
      resume.forEach((r) => details.push("Resets the timer again: " + r));
    }
    if (before.idle_seconds !== after.idle_seconds) {
      parts.push(timeoutChange(before.idle_seconds, after.idle_seconds));
    }
    if (before.enabled !== after.enabled) {
      parts.push(after.enabled ? "the inactivity timeout will be switched on" : "the inactivity timeout will be switched off (tokens are no longer tracked)");
    }
    const groupsWas = before.default_exclusions.filter((g) => g.enabled).map((g) => g.id);
    const groupsNow = after.default_exclusions.filter((g) => g.enabled).map((g) => g.id);
    groupsNow.filter((g) => !groupsWas.includes(g)).forEach((g) => details.unshift("Group switched on: " + g));
    groupsWas.filter((g) => !groupsNow.includes(g)).forEach((g) => details.unshift("Group switched off: " + g));
    for (const sec of sections()) {
      if (!sec.describe) continue;
      const more = sec.describe(before, after);
      parts.push(...more.parts);
      details.push(...more.details);
    }
    const sameCustoms = JSON.stringify(before.custom_exclusions) === JSON.stringify(after.custom_exclusions);
    if (!parts.length && !details.length && !sameCustoms) parts.push("the custom list will be reordered");
    const headline = parts.length ? capitalise(parts.join("; ")) + "." : "";
    return { headline, details };
  }

  function capitalise(s) {
    return s.charAt(0).toUpperCase() + s.slice(1);
  }

  function isDirty() {
    return state.saved && JSON.stringify(payload(state.saved)) !== JSON.stringify(payload(state.draft));
  }

  function updateDirty() {
    $("dirty-note").textContent = isDirty() ? "Unsaved changes" : "";
    if (isDirty()) $("save-status").textContent = "";
    $("summary").hidden = true;
  }

  function payload(doc) {
    const body = {
      enabled: doc.enabled,
      idle_seconds: doc.idle_seconds,
      mode: doc.mode,
      default_exclusions: doc.default_exclusions.map((g) => Object.assign({}, g)),
      custom_exclusions: doc.custom_exclusions.slice(),
    };
    for (const sec of sections()) for (const key of sec.keys) if (doc[key] !== undefined) body[key] = clone(doc[key]);
    return body;
  }

  function onSave(event) {
    event.preventDefault();
    clearErrors();
    const { headline, details } = describeChange(state.saved, state.draft);
    if (!headline && !details.length) {
      $("save-status").textContent = "Nothing to save: no changes.";
      return;
    }
    $("summary-headline").textContent = headline || "Default groups change; the set of excluded APIs stays the same.";
    const list = $("summary-details");
    list.textContent = "";
    details.forEach((d) => list.appendChild(el("li", null, d)));
    $("summary").hidden = false;
    $("confirm").focus();
  }

  async function onConfirm() {
    const button = $("confirm");
    button.disabled = true;
    try {
      const saved = await api("PUT", "/api/v1/settings", payload(state.draft));
      state.saved = saved;
      state.draft = clone(saved);
      render();
      $("save-status").textContent = saveStatus(saved);
      $("save").focus();
      refreshStats();
    } catch (e) {
      $("summary").hidden = true;
      if (e.status === 400 && e.body && Array.isArray(e.body.errors)) showErrors(e.body.errors);
      else if (e.status !== 401 && e.status !== 403) $("general-error").textContent = "Save failed: " + e.message;
    } finally {
      button.disabled = false;
    }
  }

  // What the answer to a Save says: saved or only applied, and what `idlegate check` warns
  // about in the resulting config file (a short timeout, a pattern no catalog operation has).
  function saveStatus(answer) {
    let text = answer.saved === false
      ? "Applied, but not saved to the config file: " + (answer.save_error || "no config file") + "."
      : "Saved and applied.";
    const warnings = Array.isArray(answer.warnings) ? answer.warnings : [];
    if (warnings.length) text += " Warnings: " + warnings.map((w) => w.message).join("; ");
    return text;
  }

  function onCancel() {
    $("summary").hidden = true;
    $("save").focus();
  }

  // ---- validation errors -----------------------------------------------------------------

  function clearErrors() {
    document.querySelectorAll("#settings .error").forEach((e) => { e.textContent = ""; });
    document.querySelectorAll("#settings .invalid").forEach((e) => e.classList.remove("invalid"));
    document.querySelectorAll("#settings [aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
  }

  // Puts each server error next to what it names; the first one gets the focus.
  function showErrors(errors) {
    let first = null;
    for (const err of errors) {
      const target = errorTarget(String(err.field || ""));
      const box = $(target.box);
      box.textContent = (box.textContent ? box.textContent + " " : "") + err.message;
      if (target.item) $(target.item).classList.add("invalid");
      if (!first) first = target.focus;
    }
    const focus = first && $(first);
    if (focus) focus.focus();
  }

  function errorTarget(field) {
    for (const sec of sections()) {
      const target = sec.errorTarget && sec.errorTarget(field);
      if (target) return target;
    }
    const custom = /^custom_exclusions\[(\d+)\]/.exec(field);
    if (custom && $("custom-error-" + custom[1])) {
      const i = custom[1];
      return { box: "custom-error-" + i, item: "custom-row-" + i, focus: "custom-remove-" + i };
    }
    if (field.startsWith("idle_seconds")) { $("idle").setAttribute("aria-invalid", "true"); return { box: "idle-error", focus: "idle" }; }
    if (field.startsWith("enabled")) return { box: "enabled-error", focus: "enabled" };
    if (field.startsWith("default_exclusions")) return { box: "defaults-error", focus: null };
    if (field.startsWith("custom_exclusions")) return { box: "custom-input-error", focus: "custom-input" };
    return { box: "general-error", focus: null };
  }

  // ---- helpers ---------------------------------------------------------------------------

  function clone(x) {
    return JSON.parse(JSON.stringify(x));
  }

  function formatCount(n) {
    return typeof n === "number" ? n.toLocaleString("en-US") : "–";
  }

  // A settings document a section got back from its own PUT: the saved state from now on. The
  // form keeps its unsaved edits unless `replaceDraft` (the section changed what they edit).
  function adopt(doc, replaceDraft) {
    state.saved = doc;
    if (replaceDraft) state.draft = clone(doc);
    render();
    refreshStats();
  }

  // ---- wiring ----------------------------------------------------------------------------

  function wire() {
    const context = { $, el, api, draft: () => state.draft, changed: updateDirty,
      saved: () => state.saved, dirty: () => !!isDirty(), adopt };
    for (const sec of sections()) sec.init(context);
    $("signin-form").addEventListener("submit", signIn);
    $("sign-out").addEventListener("click", () => signOut("Signed out."));
    $("enabled").addEventListener("change", (e) => { state.draft.enabled = e.target.checked; updateDirty(); });
    $("idle").addEventListener("change", (e) => { state.draft.idle_seconds = Number(e.target.value); updateDirty(); });
    $("groups").addEventListener("change", onGroupToggle);
    $("customs").addEventListener("click", onRemove);
    $("custom-input").addEventListener("input", onSearchInput);
    $("custom-input").addEventListener("keydown", onComboKey);
    $("custom-input").addEventListener("blur", () => setTimeout(closeSuggestions, 150));
    $("custom-add").addEventListener("click", () => {
      const s = state.active >= 0 ? state.suggestions[state.active] : null;
      addCustom(s ? s.method + " " + s.path : $("custom-input").value);
    });
    $("suggestions").addEventListener("mousedown", onSuggestionPointer);
    $("settings").addEventListener("submit", onSave);
    $("confirm").addEventListener("click", onConfirm);
    $("cancel").addEventListener("click", onCancel);
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && !$("summary").hidden) onCancel();
    });
    window.addEventListener("beforeunload", (e) => { if (isDirty()) e.preventDefault(); });
  }

  document.addEventListener("DOMContentLoaded", () => {
    wire();
    if (sessionStorage.getItem(TOKEN_KEY)) loadSettings();
    else showSignIn("");
  });
})();
