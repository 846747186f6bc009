// Remembers a guest commenter's name, email and website in this browser (localStorage),
// if they tick the box, and fills them in next time. Nothing of it goes to the server
// except the comment form itself, so cached pages stay the same for everyone.
(function () {
  "use strict";
  var KEY = "alliedup-blog:guest-commenter";
  var FIELDS = ["name", "email", "website"];
  var store;
  try {
    store = window.localStorage;
    store.getItem(KEY);
  } catch (error) {
    return; // storage off (private mode, settings): the form works as it is
  }

  function remembered() {
    try {
      return JSON.parse(store.getItem(KEY) || "null");
    } catch (error) {
      return null;
    }
  }

  function enhance(form) {
    var box = form.querySelector(".comment-guest-fields");
    if (!box || form.querySelector(".remember-guest")) return;
    var saved = remembered();
    var wrapper = document.createElement("div");
    wrapper.className = "field remember-guest";
    var checkbox = document.createElement("input");
    checkbox.type = "checkbox";
    checkbox.id = "remember-guest-" + Math.random().toString(36).slice(2, 8);
    var label = document.createElement("label");
    label.htmlFor = checkbox.id;
    label.textContent = "Remember these details in this browser";
    wrapper.appendChild(checkbox);
    wrapper.appendChild(document.createTextNode(" "));
    wrapper.appendChild(label);
    box.appendChild(wrapper);
    if (saved) {
      checkbox.checked = true;
      FIELDS.forEach(function (name) {
        var input = form.elements[name];
        if (input && !input.value && typeof saved[name] === "string") input.value = saved[name];
      });
    }
    form.addEventListener("submit", function () {
      if (!checkbox.checked) {
        store.removeItem(KEY);
        return;
      }
      var details = {};
      FIELDS.forEach(function (name) {
        var input = form.elements[name];
        details[name] = input ? input.value.slice(0, 300) : "";
      });
      store.setItem(KEY, JSON.stringify(details));
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form.comment-form"), enhance);
})();
