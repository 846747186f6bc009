// "Copy link" under an article: shown only where the clipboard can be written to.
// Progressive enhancement: without this script the share links still work.
(function () {
  "use strict";
  var button = document.querySelector(".copy-link");
  var status = document.querySelector(".copy-status");
  if (!button || !navigator.clipboard || !window.isSecureContext) {
    return;
  }
  button.closest("li").hidden = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(button.getAttribute("data-url")).then(
      function () { status.textContent = "Link copied."; },
      function () { status.textContent = "Couldn't copy the link: copy it from the address bar."; }
    );
  });
})();
