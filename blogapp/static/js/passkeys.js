// Passkeys need the browser's WebAuthn API, so this is the one place that needs JavaScript.
// Each form is an ordinary POST with its CSRF token: this script fetches the options, asks
// the browser for the passkey, puts the answer in the form's hidden field and submits it.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) return;

  function token(form) {
    var input = form.querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  }

  function options(form) {
    return fetch(form.dataset.optionsUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": token(form), Accept: "application/json" },
    }).then(function (response) {
      if (!response.ok) throw new Error("The server refused (" + response.status + ").");
      return response.json();
    });
  }

  function say(form, message) {
    var note = form.querySelector(".passkey-message");
    if (!note) {
      note = document.createElement("p");
      note.className = "passkey-message error";
      note.setAttribute("role", "alert");
      form.appendChild(note);
    }
    note.textContent = message;
  }

  function wire(form, ask) {
    if (!form) return;
    var button = form.querySelector("button[type=submit]");
    var hint = form.querySelector(".passkey-needs-js");
    if (hint) hint.hidden = true;
    button.hidden = false;
    form.addEventListener("submit", function (event) {
      if (form.dataset.ready === "yes") return; // the answer is in: let the POST go
      event.preventDefault();
      button.disabled = true;
      options(form)
        .then(ask)
        .then(function (credential) {
          form.querySelector("input[name=credential]").value = JSON.stringify(credential.toJSON());
          form.dataset.ready = "yes";
          form.submit();
        })
        .catch(function (error) {
          button.disabled = false;
          say(form, "The passkey didn't work: " + (error && error.message ? error.message : error));
        });
    });
  }

  wire(document.getElementById("passkey-add"), function (json) {
    return navigator.credentials.create({
      publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(json),
    });
  });
  wire(document.getElementById("passkey-signin"), function (json) {
    return navigator.credentials.get({
      publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(json),
    });
  });
})();
