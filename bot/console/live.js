/* Live parts of the 转人工 pages: every element with data-live="URL" is refreshed from that URL
   (JSON {"html": …, "waiting": n, "open": m}) every few seconds, and the navigation's count of
   conversations with it. Without this script a page shows the same after a refresh. */
(function () {
  "use strict";
  var EVERY = 2500;
  var nav = document.getElementById("nav-handoffs");

  function counts(data) {
    if (!nav || typeof data.waiting !== "number") { return; }
    nav.textContent = data.waiting + "/" + data.open;
    nav.className = data.waiting ? "count alert" : "count";
  }

  function refresh(el, url) {
    var request = new XMLHttpRequest();
    request.open("GET", url, true);
    request.setRequestHeader("Accept", "application/json");
    request.onload = function () {
      if (request.status !== 200) { return; }
      var data;
      try { data = JSON.parse(request.responseText); } catch (e) { return; }
      if (el && typeof data.html === "string" && el.getAttribute("data-shown") !== data.html) {
        el.innerHTML = data.html;
        el.setAttribute("data-shown", data.html);
      }
      counts(data);
    };
    request.send();
  }

  var live = document.querySelectorAll("[data-live]");
  for (var i = 0; i < live.length; i++) {
    (function (el) {
      var url = el.getAttribute("data-live");
      setInterval(function () { refresh(el, url); }, EVERY);
    })(live[i]);
  }
})();
