/* Live side-by-side preview for the post form: progressive enhancement only.
   Without JavaScript the "Preview" button shows the same thing after a round trip. */
(function () {
  "use strict";
  var form = document.getElementById("post-form");
  var panel = document.getElementById("live-preview");
  // Not beside a server-rendered preview: the same article twice would repeat its ids.
  if (!form || !panel || !window.fetch || !window.FormData || document.querySelector(".preview")) {
    return;
  }
  var url = form.getAttribute("data-preview-url");
  var timer = null;
  var sequence = 0;

  function hasContent() {
    return form.elements.title.value.trim() !== "" || form.elements.body.value.trim() !== "";
  }

  function refresh() {
    if (!hasContent()) {
      panel.hidden = true;
      return;
    }
    var data = new FormData(form);
    data.delete("cover");  // the preview never uploads anything
    var mine = ++sequence;
    fetch(url, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("preview " + response.status); }
        return response.text();
      })
      .then(function (html) {
        if (mine !== sequence) { return; }
        // Sanitized on the server by the same pipeline that renders saved posts.
        panel.innerHTML = '<h2 class="preview-label">Live preview</h2>' + html;
        panel.hidden = false;
      })
      .catch(function () {
        if (mine === sequence) {
          panel.textContent = "The live preview is unavailable right now; the Preview button still works.";
          panel.hidden = false;
        }
      });
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 400);
  }

  document.body.classList.add("has-live-preview");
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  refresh();
})();
