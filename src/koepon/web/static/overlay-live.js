// The stream overlay: fans' pulls arrive over Socket.IO ("pull" events to this VTuber's
// overlay room) and are shown one after another, so none is lost when several arrive at once.
// Text goes in with textContent only; the rarity becomes a class from a fixed list.
(function () {
  "use strict";
  var root = document.getElementById("overlay-live");
  if (!root) return;
  var list = root.querySelector("[data-pulls]");
  var status = root.querySelector("[data-connection]");
  var RARITIES = ["N", "R", "SR", "SSR", "UR"];
  var SHOW_MS = 4000; // an ordinary pull
  var BIG_MS = 8000; // SSR and above: the big reveal stays longer
  var KEEP = 5; // pulls kept on screen
  var queue = [];
  var seen = {};
  var busy = false;

  function rarity(value) {
    return RARITIES.indexOf(value) >= 0 ? value : "N";
  }

  function show(pull) {
    var best = rarity(pull.best_rarity);
    var big = pull.big === true || best === "SSR" || best === "UR";
    var item = document.createElement("li");
    item.className =
      "overlay-panel reveal max-w-full break-words reveal-" + best + (big ? " overlay-big text-2xl" : " text-base");
    item.setAttribute("data-pull", best);
    if (big) item.setAttribute("data-big", "true");
    if (big) {
      var banner = document.createElement("span");
      banner.className = "block text-sm font-bold";
      banner.textContent = root.getAttribute("data-big-label") || "BIG";
      item.appendChild(banner);
    }
    var name = document.createElement("span");
    name.className = "font-bold";
    name.setAttribute("data-name", "");
    name.textContent = String(pull.display_name || "");
    item.appendChild(name);
    item.appendChild(document.createTextNode(" " + (root.getAttribute("data-pulled-label") || "") + " "));
    var badge = document.createElement("span");
    badge.className = "badge rarity-" + best;
    badge.textContent = best;
    item.appendChild(badge);
    list.insertBefore(item, list.firstChild);
    while (list.children.length > KEEP) list.removeChild(list.lastChild);
    return big ? BIG_MS : SHOW_MS;
  }

  function next() {
    if (busy || queue.length === 0) return;
    busy = true;
    var pull = queue.shift();
    // While others wait, move on faster (but never skip one).
    var wait = show(pull);
    if (queue.length > 0) wait = Math.min(wait, 1500);
    setTimeout(function () {
      busy = false;
      next();
    }, wait);
  }

  function receive(pull) {
    if (!pull || typeof pull !== "object") return;
    var key = String(pull.draw_id || "");
    if (key) {
      if (seen[key]) return;
      seen[key] = true;
    }
    queue.push(pull);
    next();
  }

  if (typeof window.io !== "function") {
    if (status) status.textContent = root.getAttribute("data-offline-label") || "";
    return;
  }
  var socket = window.io({
    path: "/socket.io/",
    auth: { ticket: root.getAttribute("data-ticket") },
    transports: ["websocket", "polling"],
  });
  socket.on("connect", function () {
    root.setAttribute("data-connected", "true");
    if (status) status.hidden = true;
  });
  socket.on("disconnect", function () {
    root.removeAttribute("data-connected");
  });
  socket.on("pull", receive);
})();
