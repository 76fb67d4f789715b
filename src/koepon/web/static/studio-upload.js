// The content upload with a progress bar: the form is sent by XMLHttpRequest so its upload
// progress events can drive <progress>; the CSRF token goes in a header, the answer is JSON.
// Text is set with textContent only (never HTML).
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) return;
  var bar = document.getElementById("upload-progress");
  var percent = document.getElementById("upload-percent");
  var message = document.getElementById("upload-message");
  var button = form.querySelector("button[type=submit]");

  function show(value) {
    bar.hidden = false;
    bar.value = value;
    percent.textContent = value + " %";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-CSRF-Token", form.dataset.csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) show(Math.floor((e.loaded / e.total) * 100));
    });
    xhr.upload.addEventListener("load", function () { show(100); });
    xhr.addEventListener("load", function () {
      var answer = {};
      try { answer = JSON.parse(xhr.responseText); } catch (err) { answer = {}; }
      button.disabled = false;
      if (xhr.status >= 200 && xhr.status < 300 && answer.ok) {
        show(100);
        message.textContent = answer.message || form.dataset.done;
        message.className = "notice notice-success";
        window.setTimeout(function () { window.location.reload(); }, 1200);
      } else {
        message.textContent = answer.message || form.dataset.failed;
        message.className = "notice notice-error";
      }
    });
    xhr.addEventListener("error", function () {
      button.disabled = false;
      message.textContent = form.dataset.failed;
      message.className = "notice notice-error";
    });
    button.disabled = true;
    message.textContent = "";
    show(0);
    xhr.send(new FormData(form));
  });
})();
