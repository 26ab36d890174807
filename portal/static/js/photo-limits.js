// Photo fields check size and count before anything is sent, so a photo that is too
// large does not cost the upload and the other chosen photos. The limits and the words
// come from the page (data-max-bytes, data-max-count, data-too-large, data-too-many,
// rendered by _macros/forms.html from the server's limits); the server checks again.
(function () {
  "use strict";
  if (window.portalPhotoLimits) {
    return; // the macro includes this once per photo field
  }
  window.portalPhotoLimits = true;
  var FIELDS = "input[type=file][data-max-bytes]";

  function problem(input) {
    var files = Array.prototype.slice.call(input.files || []);
    var maxCount = parseInt(input.dataset.maxCount, 10);
    var maxBytes = parseInt(input.dataset.maxBytes, 10);
    if (!isNaN(maxCount) && files.length > maxCount) {
      return input.dataset.tooMany;
    }
    for (var i = 0; i < files.length; i++) {
      if (!isNaN(maxBytes) && files[i].size > maxBytes) {
        return input.dataset.tooLarge.replace("{name}", files[i].name);
      }
    }
    return "";
  }

  function show(input, message) {
    var box = input.parentNode.querySelector("[data-photo-problem]");
    if (!box) {
      box = document.createElement("div");
      box.className = "invalid-feedback";
      box.setAttribute("data-photo-problem", "");
      box.setAttribute("aria-live", "polite");
      input.insertAdjacentElement("afterend", box);
    }
    box.textContent = message;
    input.classList.toggle("is-invalid", message !== "");
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.matches && input.matches(FIELDS)) {
      show(input, problem(input));
    }
  });

  // Capture: the check runs before any other submit handler, and stops the sending.
  document.addEventListener(
    "submit",
    function (event) {
      var inputs = event.target.querySelectorAll(FIELDS);
      for (var i = 0; i < inputs.length; i++) {
        var message = problem(inputs[i]);
        show(inputs[i], message);
        if (message) {
          event.preventDefault();
          event.stopImmediatePropagation();
          inputs[i].focus();
          return;
        }
      }
    },
    true
  );
})();
