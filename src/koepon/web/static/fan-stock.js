// A box gacha's remaining stock, kept live: the page watches the public gacha room over
// Socket.IO and, when "stock.changed" arrives, htmx fetches the server-rendered stock partial
// again (no markup is built here). Without the socket it refreshes every 30 s.
(function () {
  "use strict";
  var section = document.getElementById("stock");
  if (!section || typeof window.htmx === "undefined") return;
  var gachaId = section.getAttribute("data-gacha-id");
  var url = "/gachas/" + encodeURIComponent(gachaId) + "/stock";
  var pending = false;

  function refresh() {
    if (pending) return;
    pending = true;
    window.htmx
      .ajax("GET", url, { target: "#box-stock", swap: "outerHTML" })
      .then(function () {
        pending = false;
        section.setAttribute("data-refreshed", String(Date.now()));
      }, function () {
        pending = false;
      });
  }

  var every = 30000;
  if (typeof window.io === "function") {
    var socket = window.io({
      path: "/socket.io/",
      auth: { watch: [gachaId] },
      transports: ["websocket", "polling"],
    });
    socket.on("connect", function () {
      section.setAttribute("data-connected", "true");
    });
    socket.on("stock.changed", function (event) {
      if (event && String(event.gacha_id) === gachaId) refresh();
    });
  }
  setInterval(refresh, every);
})();
