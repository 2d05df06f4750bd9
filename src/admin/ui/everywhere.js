// idlegate admin UI: the *Sign a user out everywhere* box (docs/reference.md, "Admin API").
// It lists a subject's tokens and revokes them all through
// `GET`/`DELETE /api/v1/subjects/{subject}/tokens`; it is not part of the settings Save.
"use strict";

(function () {
  let ctx = null;
  // The subject the list and the confirm step are about (not what is typed since).
  let shown = "";

  const tokensPath = (subject) => "/api/v1/subjects/" + encodeURIComponent(subject) + "/tokens";

  function remainingText(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    if (seconds < 60) return seconds + " s";
    const m = Math.floor(seconds / 60);
    return m < 60 ? m + " min " + (seconds % 60) + " s" : Math.floor(m / 60) + " h " + (m % 60) + " min";
  }

  function countText(n, what) {
    return n + (n === 1 ? " token " : " tokens ") + what;
  }

  async function findTokens(event) {
    if (event) event.preventDefault();
    const subject = ctx.$("subject").value.trim();
    ctx.$("subject-error").textContent = "";
    ctx.$("everywhere-status").textContent = "";
    hideConfirm();
    if (!subject) {
      ctx.$("subject-error").textContent = "Enter the user's subject (the sub of their tokens).";
      ctx.$("subject").focus();
      return;
    }
    await list(subject);
  }

  async function list(subject) {
    try {
      const answer = await ctx.api("GET", tokensPath(subject));
      shown = subject;
      showTokens(subject, Array.isArray(answer.tokens) ? answer.tokens : []);
    } catch (e) {
      if (e.status !== 401 && e.status !== 403) {
        ctx.$("subject-error").textContent = "Cannot list the tokens: " + e.message;
      }
    }
  }

  function showTokens(subject, tokens) {
    const active = tokens.filter((t) => t.state === "active").length;
    ctx.$("tokens-note").textContent = tokens.length
      ? countText(tokens.length, "for " + subject) + " (" + active + " active)."
      : "0 tokens for " + subject + " on this replica.";
    const body = ctx.$("tokens");
    body.textContent = "";
    for (const t of tokens) {
      const tr = ctx.el("tr", "token-" + (t.state === "active" ? "active" : "revoked"));
      const id = ctx.el("td", "mono", String(t.token_id || "").slice(0, 16));
      id.title = t.token_id || "";
      const state = t.state === "active" ? "active" : "revoked" + (t.reason ? " (" + t.reason + ")" : "");
      tr.append(id, ctx.el("td", null, state), ctx.el("td", null, t.policy || "default"),
        ctx.el("td", null, t.last_activity || "–"), ctx.el("td", null, remainingText(t.remaining_seconds)));
      body.appendChild(tr);
    }
    ctx.$("tokens-table").hidden = tokens.length === 0;
    // Offered even with nothing listed: other replicas may hold tokens of the subject.
    ctx.$("everywhere-actions").hidden = false;
  }

  function askConfirm() {
    ctx.$("everywhere-status").textContent = "";
    ctx.$("everywhere-question").textContent = "Revoke every active token of " + shown +
      "? Their clients must sign in again.";
    ctx.$("everywhere-confirm").hidden = false;
    ctx.$("everywhere-no").focus();
  }

  function hideConfirm() {
    ctx.$("everywhere-confirm").hidden = true;
  }

  async function revokeAll() {
    const yes = ctx.$("everywhere-yes");
    yes.disabled = true;
    try {
      const answer = await ctx.api("DELETE", tokensPath(shown));
      hideConfirm();
      ctx.$("everywhere-status").textContent = countText(Number(answer.revoked) || 0, "revoked") + ".";
      ctx.$("everywhere-start").focus();
      await list(shown);
    } catch (e) {
      hideConfirm();
      if (e.status !== 401 && e.status !== 403) {
        ctx.$("subject-error").textContent = "Sign-out failed: " + e.message;
      }
    } finally {
      yes.disabled = false;
    }
  }

  // Signing in or out of the page starts the box afresh: nothing of another session stays.
  function reset() {
    shown = "";
    ctx.$("subject").value = "";
    ctx.$("subject-error").textContent = "";
    ctx.$("tokens-note").textContent = "";
    ctx.$("everywhere-status").textContent = "";
    ctx.$("tokens").textContent = "";
    ctx.$("tokens-table").hidden = true;
    ctx.$("everywhere-actions").hidden = true;
    hideConfirm();
  }

  function init(context) {
    ctx = context;
    ctx.$("everywhere-form").addEventListener("submit", findTokens);
    ctx.$("everywhere-start").addEventListener("click", askConfirm);
    ctx.$("everywhere-yes").addEventListener("click", revokeAll);
    ctx.$("everywhere-no").addEventListener("click", () => { hideConfirm(); ctx.$("everywhere-start").focus(); });
    ctx.$("everywhere-confirm").addEventListener("keydown", (e) => {
      if (e.key === "Escape") { e.stopPropagation(); hideConfirm(); ctx.$("everywhere-start").focus(); }
    });
  }

  window.idlegateSections = window.idlegateSections || [];
  window.idlegateSections.push({ keys: [], init, reset, panel: "everywhere" });
})();
