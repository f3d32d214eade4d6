// Polls the progress of a card import while a Celery worker runs it (inline imports are already done).
// A static file, not an inline script: the Content-Security-Policy allows no inline script in the admin.
(function () {
  "use strict";
  var box = document.getElementById("bo-import");
  if (!box) { return; }
  function text(id, value) { document.getElementById(id).textContent = value; }
  function poll() {
    fetch(box.dataset.statusUrl, {credentials: "same-origin"}).then(function (response) { return response.json(); }).then(function (state) {
      var bar = document.getElementById("bo-import-bar");
      bar.max = state.total; bar.value = state.processed;
      text("bo-import-processed", state.processed); text("bo-import-total", state.total);
      text("bo-import-imported", state.imported); text("bo-import-status", state.status);
      var list = document.getElementById("bo-import-failed");
      list.textContent = "";
      state.failed.forEach(function (row) {
        var item = document.createElement("li");
        item.textContent = row.line + " (" + row.email + "): " + row.error;
        list.appendChild(item);
      });
      if (state.status !== "done") { setTimeout(poll, 1000); }
    });
  }
  if (document.getElementById("bo-import-status").textContent.trim() !== "done") { setTimeout(poll, 1000); }
})();
