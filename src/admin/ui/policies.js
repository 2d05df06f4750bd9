// idlegate admin UI: the *Timeouts by group* section (docs/reference.md, "Admin API"). It edits
// `policies` and `warn_before_seconds` of the settings document; app.js owns the document, the
// change summary and the Save, and calls the hooks registered here.
"use strict";

(function () {
  const PRIORITY_STEP = 10;
  const MAX_PRIORITY = 1000;
  const WHOLE = /^\d+$/;
  let ctx = null;

  const policies = () => ctx.draft().policies;

  // ---- durations: a number and a unit, as the idle timeout is shown -----------------------

  // Whole minutes are shown in minutes, anything else in seconds.
  function splitSeconds(seconds) {
    if (seconds === null || seconds === undefined) return { value: "", unit: "off" };
    if (seconds % 60 === 0) return { value: String(seconds / 60), unit: "60" };
    return { value: String(seconds), unit: "1" };
  }

  // What the server gets: a whole number of seconds, null for off, or the text as typed (the
  // server then names the field in its error, next to the policy).
  function joinSeconds(value, unit) {
    if (unit === "off") return null;
    const text = value.trim();
    return WHOLE.test(text) ? Number(text) * Number(unit) : text;
  }

  function durationText(seconds) {
    if (seconds === null || seconds === undefined) return "off";
    if (typeof seconds !== "number") return String(seconds);
    if (seconds % 60 !== 0) return seconds + (seconds === 1 ? " second" : " seconds");
    const m = seconds / 60;
    return m + (m === 1 ? " minute" : " minutes");
  }

  function policyText(p) {
    return p.name + " (groups " + p.groups.join(", ") + "; idle " + durationText(p.idle_seconds) +
      "; absolute " + (p.absolute_seconds === null ? "none" : durationText(p.absolute_seconds)) +
      "; priority " + p.priority + ")";
  }

  // ---- rendering -------------------------------------------------------------------------

  function render(draft) {
    const list = ctx.$("policies");
    list.textContent = "";
    ctx.$("policies-empty").hidden = draft.policies.length > 0;
    draft.policies.forEach((p, i) => list.appendChild(policyRow(p, i, draft.policies.length)));
    const warn = splitSeconds(draft.warn_before_seconds);
    ctx.$("warn-before").value = warn.value;
    ctx.$("warn-before-unit").value = warn.unit;
  }

  function policyRow(p, i, count) {
    const li = ctx.el("li", "policy");
    li.id = "policy-row-" + i;
    li.dataset.index = String(i);
    const head = ctx.el("div", "policy-head");
    const title = ctx.el("strong", "policy-title", p.name || "New policy");
    title.id = "policy-title-" + i;
    head.append(title, ctx.el("span", "muted policy-priority", "priority " + p.priority));
    const fields = ctx.el("div", "policy-fields");
    fields.append(
      textField(i, "name", "Name", p.name, "lowercase letters, digits and -"),
      textField(i, "groups", "Groups", p.groups.join(", "), "comma-separated, e.g. contractors"),
      durationField(i, "idle", "Idle timeout", p.idle_seconds, "off"),
      durationField(i, "absolute", "Absolute lifetime", p.absolute_seconds, "none"));
    const err = ctx.el("p", "error", "");
    err.id = "policy-error-" + i;
    err.setAttribute("aria-live", "polite");
    const actions = ctx.el("div", "policy-actions");
    actions.append(
      actionButton(i, "up", "Move up", i === 0),
      actionButton(i, "down", "Move down", i === count - 1),
      actionButton(i, "remove", "Remove policy", false));
    li.append(head, fields, err, actions);
    return li;
  }

  function textField(i, key, label, value, help) {
    const wrap = ctx.el("div", "field");
    const input = ctx.el("input");
    input.type = "text";
    input.id = "policy-" + key + "-" + i;
    input.dataset.index = String(i);
    input.dataset.key = key;
    input.value = value;
    input.placeholder = help;
    input.autocomplete = "off";
    input.spellcheck = false;
    input.setAttribute("aria-describedby", "policy-error-" + i);
    const l = ctx.el("label", null, label);
    l.htmlFor = input.id;
    wrap.append(l, input);
    return wrap;
  }

  function durationField(i, key, label, seconds, offLabel) {
    const wrap = ctx.el("div", "field");
    const split = splitSeconds(seconds);
    const input = ctx.el("input");
    input.type = "text";
    input.inputMode = "numeric";
    input.id = "policy-" + key + "-" + i;
    input.dataset.index = String(i);
    input.dataset.key = key;
    input.value = split.value;
    input.disabled = split.unit === "off";
    input.setAttribute("aria-describedby", "policy-error-" + i);
    const unit = ctx.el("select");
    unit.id = "policy-" + key + "-unit-" + i;
    unit.dataset.index = String(i);
    unit.dataset.key = key;
    unit.setAttribute("aria-label", label + " unit");
    for (const [value, text] of [["60", "minutes"], ["1", "seconds"], ["off", offLabel]]) {
      const opt = ctx.el("option", null, text);
      opt.value = value;
      opt.selected = value === split.unit;
      unit.appendChild(opt);
    }
    const l = ctx.el("label", null, label);
    l.htmlFor = input.id;
    const row = ctx.el("div", "duration");
    row.append(input, unit);
    wrap.append(l, row);
    return wrap;
  }

  function actionButton(i, action, label, disabled) {
    const b = ctx.el("button", "btn btn-quiet" + (action === "remove" ? " remove" : ""), label);
    b.type = "button";
    b.id = "policy-" + action + "-" + i;
    b.dataset.index = String(i);
    b.dataset.action = action;
    b.disabled = disabled;
    b.setAttribute("aria-describedby", "policy-title-" + i);
    return b;
  }

  // ---- editing ---------------------------------------------------------------------------

  // Typing updates the draft without re-rendering, so the focus stays where it is.
  function onEdit(event) {
    const t = event.target;
    if (!t.dataset || t.dataset.index === undefined || !t.dataset.key) return;
    const i = Number(t.dataset.index);
    const p = policies()[i];
    const key = t.dataset.key;
    if (key === "name") {
      p.name = t.value.trim();
      ctx.$("policy-title-" + i).textContent = p.name || "New policy";
    } else if (key === "groups") {
      p.groups = t.value.split(",").map((g) => g.trim()).filter((g) => g.length > 0);
    } else {
      const input = ctx.$("policy-" + key + "-" + i);
      const unit = ctx.$("policy-" + key + "-unit-" + i).value;
      input.disabled = unit === "off";
      p[key + "_seconds"] = joinSeconds(input.value, unit);
    }
    ctx.changed();
  }

  function onAction(event) {
    const b = event.target.closest("button[data-action]");
    if (!b) return;
    const i = Number(b.dataset.index);
    const list = policies();
    if (b.dataset.action === "remove") {
      list.splice(i, 1);
      rerender(() => {
        const buttons = document.querySelectorAll("#policies button.remove");
        return buttons[Math.min(i, buttons.length - 1)] || ctx.$("policy-add");
      });
    } else {
      const j = b.dataset.action === "up" ? i - 1 : i + 1;
      swap(list, i, j);
      rerender(() => {
        const again = ctx.$("policy-" + b.dataset.action + "-" + j);
        return again && !again.disabled ? again : ctx.$("policy-name-" + j);
      });
    }
  }

  // Moving swaps the two priorities (and the rows); equal priorities are first spread out,
  // since swapping equals would change nothing the server keeps.
  function swap(list, i, j) {
    if (list[i].priority === list[j].priority) {
      list.forEach((p, k) => { p.priority = Math.min(MAX_PRIORITY, (k + 1) * PRIORITY_STEP); });
    }
    const pi = list[i].priority;
    list[i].priority = list[j].priority;
    list[j].priority = pi;
    [list[i], list[j]] = [list[j], list[i]];
  }

  function addPolicy() {
    const list = policies();
    const last = list.reduce((m, p) => Math.max(m, Number(p.priority) || 0), 0);
    list.push({ name: "", groups: [], idle_seconds: ctx.draft().idle_seconds,
      absolute_seconds: null, priority: Math.min(MAX_PRIORITY, last + PRIORITY_STEP) });
    rerender(() => ctx.$("policy-name-" + (list.length - 1)));
  }

  function rerender(focusAfter) {
    render(ctx.draft());
    ctx.changed();
    const target = focusAfter();
    if (target) target.focus();
  }

  function onWarnBefore() {
    const input = ctx.$("warn-before");
    ctx.draft().warn_before_seconds = joinSeconds(input.value, ctx.$("warn-before-unit").value);
    ctx.changed();
  }

  // ---- change summary and errors ---------------------------------------------------------

  function describe(before, after) {
    const parts = [];
    const details = [];
    const was = new Map(before.policies.map((p) => [p.name, p]));
    const now = new Map(after.policies.map((p) => [p.name, p]));
    const added = after.policies.filter((p) => !was.has(p.name));
    const removed = before.policies.filter((p) => !now.has(p.name));
    const changed = after.policies.filter((p) => was.has(p.name) &&
      JSON.stringify(p) !== JSON.stringify(was.get(p.name)));
    const count = (n, what) => n + (n === 1 ? " policy " : " policies ") + what;
    if (added.length) parts.push(count(added.length, "added"));
    if (removed.length) parts.push(count(removed.length, "removed"));
    if (changed.length) parts.push(count(changed.length, "changed"));
    added.forEach((p) => details.push("Policy added: " + policyText(p)));
    removed.forEach((p) => details.push("Policy removed: " + p.name));
    changed.forEach((p) => details.push("Policy changed: " + policyText(p)));
    const order = (doc) => doc.policies.map((p) => p.name).join(" → ");
    if (order(before) !== order(after) && after.policies.length > 1) {
      details.push("First match first: " + order(after));
    }
    if (before.warn_before_seconds !== after.warn_before_seconds) {
      parts.push("warning " + durationText(before.warn_before_seconds) + " → " +
        durationText(after.warn_before_seconds) + " before the timeout");
    }
    return { parts, details };
  }

  // `policies[2].name` → next to the third policy, its name field focused.
  function errorTarget(field) {
    const m = /^policies\[(\d+)\](?:\.(\w+))?/.exec(field);
    if (m && ctx.$("policy-row-" + m[1])) {
      const i = m[1];
      const key = (m[2] || "name").replace(/_seconds$/, "");
      const input = ctx.$("policy-" + key + "-" + i);
      if (input) input.setAttribute("aria-invalid", "true");
      return { box: "policy-error-" + i, item: "policy-row-" + i,
        focus: input && !input.disabled ? input.id : "policy-name-" + i };
    }
    if (field.startsWith("policies")) return { box: "policies-error", focus: "policy-add" };
    if (field.startsWith("warn_before")) {
      ctx.$("warn-before").setAttribute("aria-invalid", "true");
      return { box: "warn-before-error", focus: "warn-before" };
    }
    return null;
  }

  function init(context) {
    ctx = context;
    ctx.$("policies").addEventListener("input", onEdit);
    ctx.$("policies").addEventListener("change", onEdit);
    ctx.$("policies").addEventListener("click", onAction);
    ctx.$("policy-add").addEventListener("click", addPolicy);
    ctx.$("warn-before").addEventListener("input", onWarnBefore);
    ctx.$("warn-before-unit").addEventListener("change", onWarnBefore);
  }

  window.idlegateSections = window.idlegateSections || [];
  window.idlegateSections.push({
    keys: ["policies", "warn_before_seconds"],
    init, render, describe, errorTarget,
  });
})();
