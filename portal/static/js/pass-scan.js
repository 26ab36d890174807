// The gate's check page: where the browser can read QR codes (BarcodeDetector) and open the
// camera, a "scan" button fills the code and sends the form. Everywhere else the typed
// number or code works as it is; nothing here is needed to check a pass.
(function () {
  "use strict";
  var button = document.getElementById("scan-button");
  var video = document.getElementById("scan-video");
  var input = document.getElementById("code");
  var form = document.getElementById("check-form");
  var message = document.getElementById("scan-message");
  if (!button || !video || !input || !form) return;
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices ||
      !navigator.mediaDevices.getUserMedia) return;

  var stream = null;
  var timer = null;
  var detector = null;

  function stop() {
    if (timer) { clearInterval(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    video.classList.add("d-none");
    button.textContent = button.dataset.start;
  }

  function found(text) {
    stop();
    input.value = text.trim();
    form.submit();
  }

  function scan() {
    if (!detector || video.readyState < 2) return;
    detector.detect(video).then(function (codes) {
      if (codes.length && codes[0].rawValue) found(codes[0].rawValue);
    }).catch(function () { /* a frame it could not read: try the next */ });
  }

  function start() {
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        video.classList.remove("d-none");
        button.textContent = button.dataset.stop;
        message.textContent = "";
        return video.play();
      })
      .then(function () { timer = setInterval(scan, 300); })
      .catch(function () {
        stop();
        message.textContent = button.dataset.noCamera;
        input.focus();
      });
  }

  BarcodeDetector.getSupportedFormats().then(function (formats) {
    if (formats.indexOf("qr_code") < 0) return;
    detector = new BarcodeDetector({ formats: ["qr_code"] });
    button.classList.remove("d-none");
    button.addEventListener("click", function () { if (stream) stop(); else start(); });
  }).catch(function () { /* no QR reading here: typing works */ });

  window.addEventListener("pagehide", stop);
})();
