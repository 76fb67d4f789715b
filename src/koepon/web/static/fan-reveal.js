// The draw's 演出 (reveal). The result is pushed over Socket.IO ("draw.completed" to the fan's
// own room, joined with the page's ticket); if nothing arrives within a few seconds the page
// polls the result partial instead. The server renders the results (htmx swaps them in: no
// markup is built here); this script only stages them one by one, each with the colour and
// length of its rarity (.reveal-<RARITY>), and the Skip button shows them all at once.
(function () {
  "use strict";
  var root = document.getElementById("draw");
  if (!root) return;
  var drawId = root.getAttribute("data-draw-id");
  var resultUrl = root.getAttribute("data-result-url");
  var skip = document.getElementById("skip");
  var LENGTH_MS = { N: 350, R: 500, SR: 1300, SSR: 1800, UR: 2600 };
  var FALLBACK_MS = 4000;
  var POLL_MS = 1500;
  var timers = [];
  var loading = false;
  var done = false;

  function cards() {
    return Array.prototype.slice.call(root.querySelectorAll("#results > li"));
  }

  function showAll() {
    timers.forEach(clearTimeout);
    timers = [];
    cards().forEach(function (card) {
      card.classList.remove("invisible");
    });
    if (skip) skip.classList.add("hidden");
    root.setAttribute("data-revealed", "true");
  }

  function stage() {
    var list = cards();
    if (list.length === 0) return;
    var reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    if (reduce) return showAll();
    list.forEach(function (card) {
      card.classList.add("invisible");
    });
    if (skip) skip.classList.remove("hidden");
    var at = 200;
    list.forEach(function (card) {
      timers.push(
        setTimeout(function () {
          card.classList.remove("invisible");
        }, at)
      );
      at += LENGTH_MS[card.getAttribute("data-rarity")] || 400;
    });
    timers.push(setTimeout(showAll, at));
  }

  function finished() {
    var body = root.querySelector("#draw-result-body");
    var status = body ? body.getAttribute("data-status") : "";
    return status === "completed" || status === "refused" || status === "voided" || status === "failed";
  }

  function load(source) {
    if (done || loading || typeof window.htmx === "undefined") return;
    loading = true;
    window.htmx
      .ajax("GET", resultUrl, { target: "#draw-result", swap: "innerHTML" })
      .then(function () {
        loading = false;
        if (!done && finished()) {
          done = true;
          root.setAttribute("data-source", source);
          stage();
        }
      }, function () {
        loading = false;
      });
  }

  if (skip) skip.addEventListener("click", showAll);

  if (finished()) {
    // Already complete when the page was rendered (a reload): replay the reveal.
    done = true;
    root.setAttribute("data-source", "page");
    stage();
    return;
  }

  if (typeof window.io === "function") {
    var socket = window.io({
      path: "/socket.io/",
      auth: { ticket: root.getAttribute("data-ticket") },
      transports: ["websocket", "polling"],
    });
    socket.on("connect", function () {
      root.setAttribute("data-connected", "true");
      // The draw may have completed between the page's render and this connection.
      setTimeout(function () {
        if (!done) load("poll");
      }, FALLBACK_MS);
    });
    socket.on("draw.completed", function (event) {
      if (event && String(event.draw_id) === drawId) load("socket");
    });
  }
  setTimeout(function poll() {
    if (done) return;
    load("poll");
    setTimeout(poll, POLL_MS);
  }, FALLBACK_MS);
})();
