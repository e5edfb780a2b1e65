// Copy buttons of the repository pages: a button with data-copy="ID" copies the value of the
// input ID (the clone URLs). Without JavaScript the buttons stay hidden and the URLs are
// selectable, read-only fields. No inline script: the console's CSP allows none.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button.copy[data-copy]").forEach(function (btn) {
    var field = document.getElementById(btn.getAttribute("data-copy"));
    if (!field) {
      return;
    }
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var done = function () {
        btn.textContent = "Copied";
        setTimeout(function () { btn.textContent = "Copy"; }, 1500);
      };
      field.select();
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });
});
