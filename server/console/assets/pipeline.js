// The pipeline page's live view: every second it asks the console's state route
// (/ui/pipelines/{name}/state, on the session cookie) for the diagram as the server renders
// it, and when its stamp changed replaces #diagram with it, keeping what the user typed in its
// forms (by form id and field name) and the field in focus. The elements it relies on are
// listed at the top of templates/pipeline.html.
(function () {
  "use strict";
  var root = document.getElementById("pipeline");
  var diagram = document.getElementById("diagram");
  if (!root || !diagram || !window.fetch) { return; }
  var name = root.getAttribute("data-name");
  var live = document.getElementById("live");
  var say = function (t) { if (live) { live.textContent = t; } };
  var stamp = "";
  // Every poll is a use of the session (it renews the console's idle expiry), so an unattended
  // page stops following after followFor: a reload is the user's, and follows again.
  var followFor = 30 * 60 * 1000;
  var started = Date.now();
  var typed = function () {
    var kept = [];
    Array.prototype.forEach.call(diagram.querySelectorAll("form[id] textarea, form[id] input[type=text], form[id] input:not([type]), form[id] input[type=checkbox]"), function (el) {
      var v = el.type === "checkbox" ? el.checked : el.value;
      if (v || el === document.activeElement) {
        kept.push({ form: el.form.id, name: el.name, value: v, focus: el === document.activeElement, checkbox: el.type === "checkbox" });
      }
    });
    return kept;
  };
  var restore = function (kept) {
    kept.forEach(function (k) {
      var f = document.getElementById(k.form);
      if (!f || !f.elements[k.name]) { return; }
      var el = f.elements[k.name];
      if (k.checkbox) { el.checked = k.value; } else { el.value = k.value; }
      if (k.focus) { el.focus(); }
    });
  };
  var poll = function () {
    fetch("/ui/pipelines/" + encodeURIComponent(name) + "/state", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (resp) {
        if (!resp.ok) { throw new Error("the server answered " + resp.status); }
        return resp.json();
      })
      .then(function (a) {
        if (a.stamp && a.stamp !== stamp) {
          var kept = typed();
          diagram.innerHTML = a.html;
          restore(kept);
          stamp = a.stamp;
        }
        if (Date.now() - started > followFor) {
          say("Live updates stopped after 30 minutes: reload the page to follow the pipeline again.");
          return;
        }
        say("Live: the page follows the pipeline.");
        window.setTimeout(poll, 1000);
      })
      .catch(function (e) {
        if (Date.now() - started > followFor) {
          say("Live updates stopped: reload the page to follow the pipeline again.");
          return;
        }
        say("Live updates paused (" + e.message + "): retrying.");
        window.setTimeout(poll, 5000);
      });
  };
  poll();
})();
