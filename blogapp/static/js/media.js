// Progressive enhancement for "Insert an image" in the post editor: the image is uploaded
// in the background and its Markdown put into the body at the cursor. Without JavaScript
// the button submits the form and the page shows the Markdown to copy.
(function () {
  "use strict";
  var box = document.querySelector("[data-image-upload]");
  var form = box && box.closest("form");
  var body = form && form.querySelector("textarea[name=body]");
  if (!box || !form || !body || !window.fetch || !window.FormData) return;
  var file = box.querySelector("input[type=file]");
  var alt = box.querySelector("input[name=inline_alt]");
  var button = box.querySelector("[name=upload_image]");
  var status = box.querySelector(".insert-image-status");
  var token = form.querySelector("input[name=csrf_token]");
  var cursor = { start: body.value.length, end: body.value.length };

  // Where the author last was in the body: choosing a file moves focus away from it.
  function remember() {
    cursor = { start: body.selectionStart, end: body.selectionEnd };
  }
  ["keyup", "mouseup", "select", "blur", "input"].forEach(function (name) {
    body.addEventListener(name, remember);
  });

  function say(message, isError) {
    status.textContent = message;
    status.classList.toggle("error", !!isError);
  }

  function insert(markdown) {
    var before = body.value.slice(0, cursor.start);
    var after = body.value.slice(cursor.end);
    // On a line of its own: Markdown shows a lone image line as its own paragraph.
    var lead = before && !/\n\n$/.test(before) ? (/\n$/.test(before) ? "\n" : "\n\n") : "";
    var tail = after && !/^\n\n/.test(after) ? (/^\n/.test(after) ? "\n" : "\n\n") : "";
    body.value = before + lead + markdown + tail + after;
    var end = before.length + lead.length + markdown.length;
    body.focus();
    body.setSelectionRange(end, end);
    cursor = { start: end, end: end };
    body.dispatchEvent(new Event("input", { bubbles: true })); // the live preview follows
  }

  button.addEventListener("click", function (event) {
    event.preventDefault();
    if (!file.files.length) return say("Choose an image to upload.", true);
    if (!alt.value.trim()) {
      alt.focus();
      return say("Describe the image for people who can't see it (alt text).", true);
    }
    var data = new FormData();
    data.append("csrf_token", token ? token.value : "");
    data.append("image", file.files[0]);
    data.append("alt", alt.value);
    button.disabled = true;
    say("Uploading…");
    fetch(box.getAttribute("data-image-upload"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        // Not JSON (e.g. the sign-in page after the session ended): a plain failure.
        var parsed = response.json().catch(function () {
          return {};
        });
        return parsed.then(function (answer) {
          if (!response.ok || !answer.markdown) {
            throw new Error(answer.error || "The upload failed. Are you still signed in?");
          }
          return answer;
        });
      })
      .then(function (answer) {
        insert(answer.markdown);
        file.value = "";
        alt.value = "";
        say("Image uploaded and inserted into the body.");
      })
      .catch(function (error) {
        say(error.message || "The upload failed. Try again.", true);
      })
      .then(function () {
        button.disabled = false;
      });
  });
})();
