// Live preview of the card colours on the program page while the owner picks them (no round trip).
// A static file, not an inline script: the Content-Security-Policy allows no inline script in the admin.
// Colours go through element.style (the CSSOM), which the policy allows, never through a style attribute.
(function () {
  "use strict";
  var preview = document.getElementById("bo-card-preview");
  if (!preview) { return; }
  var background = document.querySelector("[data-preview=background]");
  var text = document.querySelector("[data-preview=text]");
  var name = document.getElementById("id_name");
  function update() {
    // Without the inputs (a read-only view) the saved colours come from the preview's data attributes.
    preview.style.background = background ? background.value : preview.dataset.background;
    preview.style.color = text ? text.value : preview.dataset.text;
    if (name && name.value) { preview.querySelector("[data-preview-name]").textContent = name.value; }
  }
  [background, text, name].forEach(function (input) { if (input) { input.addEventListener("input", update); } });
  update();
})();
