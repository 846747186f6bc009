// Progressive enhancement: "Reply" opens the comment form under the comment instead of
// going to the reply page. Without JavaScript the link leads to a page that works alone.
(function () {
  "use strict";
  var form = document.getElementById("comment-form");
  if (!form) return;
  var home = form.parentNode;
  var marker = document.createComment("comment form");
  home.insertBefore(marker, form);
  var parentInput = form.querySelector("input[name=parent_id]");
  var submit = form.querySelector("button[type=submit]");
  var label = submit ? submit.textContent : "";
  var cancel = document.createElement("button");
  cancel.type = "button";
  cancel.className = "secondary cancel-inline-reply";
  cancel.textContent = "Cancel reply";
  cancel.hidden = true;
  if (submit) submit.insertAdjacentElement("afterend", cancel);

  function reset() {
    parentInput.value = "";
    cancel.hidden = true;
    if (submit) submit.textContent = label;
    form.classList.remove("comment-inline-form");
    marker.parentNode.insertBefore(form, marker.nextSibling);
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-reply-to]") : null;
    if (!link) return;
    var item = document.getElementById("comment-" + link.getAttribute("data-reply-to"));
    if (!item || !parentInput) return;
    event.preventDefault();
    parentInput.value = link.getAttribute("data-reply-to");
    var article = item.querySelector("article");
    article.insertAdjacentElement("afterend", form);
    form.classList.add("comment-inline-form");
    cancel.hidden = false;
    if (submit) submit.textContent = "Post reply";
    var body = form.querySelector("textarea");
    if (body) body.focus();
  });
  cancel.addEventListener("click", function () {
    reset();
    var body = form.querySelector("textarea");
    if (body) body.focus();
  });
})();
