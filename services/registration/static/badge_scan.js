// Scan a badge's QR code with the phone's camera on the check-in page. The form works
// without this script (the code is typed); with it, where the browser offers
// BarcodeDetector, a "Scan badge" button reads the code into the field and sends the form.
(function () {
  "use strict";
  var form = document.getElementById("code-form");
  var input = document.getElementById("code");
  var box = document.getElementById("scanner");
  var video = document.getElementById("scan-video");
  var stop = document.getElementById("scan-stop");
  if (!form || !input || !box || !video || !stop) return;
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
  var detector;
  try {
    detector = new window.BarcodeDetector({ formats: ["qr_code"] });
  } catch (e) {
    return;
  }
  var stream = null;
  var timer = null;
  function end() {
    clearInterval(timer);
    timer = null;
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    box.hidden = true;
    start.hidden = false;
  }
  function look() {
    if (video.readyState < 2) return;
    detector.detect(video).then(function (codes) {
      if (!codes.length || !timer) return;
      input.value = codes[0].rawValue;
      end();
      form.submit();
    }).catch(function () { /* try again on the next frame */ });
  }
  var start = document.createElement("button");
  start.type = "button";
  start.id = "scan-start";
  start.className = "secondary";
  start.textContent = "Scan badge";
  form.querySelector("button[type=submit]").after(start);
  start.addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } })
      .then(function (media) {
        stream = media;
        video.srcObject = media;
        box.hidden = false;
        start.hidden = true;
        return video.play();
      })
      .then(function () { timer = setInterval(look, 250); })
      .catch(function () { end(); input.focus(); });
  });
  stop.addEventListener("click", end);
})();
