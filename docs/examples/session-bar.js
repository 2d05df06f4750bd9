// "You will be signed out in 2:00 — Stay signed in": a bar for any web client behind
// idlegate. It polls GET /.idlegate/session, which never resets the idle timer, and shows the
// bar once idlegate says `warning` (timeout.warn_before before the idle deadline). "Stay
// signed in" sends POST /.idlegate/session/extend: one activity, which never moves the
// absolute deadline.
//
// Use: <script src="session-bar.js"></script> and call
//   idlegateSessionBar({ token: () => myAccessToken, onSignedOut: () => location.reload() })
// `token` returns the current access token (sent as a Bearer header). With a cookie-borne
// token, return null and the browser sends the cookie.
(function () {
  "use strict";

  function format(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  window.idlegateSessionBar = function (options) {
    const path = options.path || "/.idlegate/session";
    const pollMs = options.pollMs || 15000;
    const bar = document.createElement("div");
    bar.className = "idlegate-session-bar";
    bar.setAttribute("role", "alert");
    bar.hidden = true;
    const text = document.createElement("span");
    const stay = document.createElement("button");
    stay.type = "button";
    stay.textContent = "Stay signed in";
    bar.append(text, " ", stay);
    document.body.prepend(bar);

    let remaining = null; // idle seconds left, counted down between polls
    let warning = false;

    function headers() {
      const t = options.token && options.token();
      return t ? { Authorization: "Bearer " + t } : {};
    }

    async function ask(method, suffix) {
      const resp = await fetch(path + suffix, { method, headers: headers(), credentials: "same-origin" });
      if (resp.status === 401) {
        bar.hidden = true;
        clearInterval(tick);
        clearInterval(poll);
        if (options.onSignedOut) options.onSignedOut();
        return;
      }
      if (!resp.ok) return; // a passing failure: try again at the next poll
      const s = await resp.json();
      remaining = s.idle_remaining_seconds;
      warning = s.warning;
      render();
    }

    function render() {
      bar.hidden = !warning || remaining === null;
      if (!bar.hidden) text.textContent = "You will be signed out in " + format(remaining) + " \u2014";
    }

    stay.addEventListener("click", () => ask("POST", "/extend"));
    const tick = setInterval(() => {
      if (remaining !== null) {
        remaining -= 1;
        render();
      }
    }, 1000);
    const poll = setInterval(() => ask("GET", ""), pollMs);
    ask("GET", "");
  };
})();
