// Search as you type on the check-in page. The GET form works without this script; with it,
// the list and the counts follow the search box, fetched from the same page.
(function () {
  "use strict";
  var input = document.getElementById("q");
  var form = input && input.form;
  if (!form || !window.fetch || !window.DOMParser || !window.URLSearchParams) return;
  var timer = null;
  var latest = 0;
  function refresh() {
    var url = location.pathname + "?" + new URLSearchParams(new FormData(form)).toString();
    var mine = ++latest;
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (answer) { return answer.ok ? answer.text() : null; })
      .then(function (html) {
        if (!html || mine !== latest) return;
        var page = new DOMParser().parseFromString(html, "text/html");
        ["people", "matches", "door-counts"].forEach(function (id) {
          var shown = document.getElementById(id);
          var fresh = page.getElementById(id);
          if (shown && fresh) shown.replaceWith(fresh);
        });
        history.replaceState(null, "", url);
      })
      .catch(function () { /* the Find button still works */ });
  }
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  });
})();
