// Fan page: talks to the public API with the access token kept in sessionStorage.
(function () {
  const store = window.sessionStorage;
  const $ = (id) => document.getElementById(id);
  const yen = (n) => n.toLocaleString("ja-JP") + "円(税込)";

  async function api(path, options = {}) {
    const headers = Object.assign({ "Content-Type": "application/json" }, options.headers || {});
    const token = store.getItem("access_token");
    if (token) headers["Authorization"] = "Bearer " + token;
    const response = await fetch(path, Object.assign({}, options, { headers }));
    const body = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) throw Object.assign(new Error((body && body.detail) || response.statusText), { body, status: response.status });
    return body;
  }

  function say(text) { $("auth-message").textContent = text; }

  async function refreshWallet() {
    if (!store.getItem("access_token")) { $("wallet").hidden = true; $("signin").hidden = false; return; }
    try {
      const me = await api("/api/v1/me");
      $("who").textContent = me.display_name;
      const wallet = await api("/api/v1/wallet");
      $("paid-medals").textContent = wallet.paid_medals;
      $("free-medals").textContent = wallet.free_medals;
      $("wallet").hidden = false; $("signin").hidden = true;
    } catch (err) {
      if (err.status === 401) { store.clear(); $("who").textContent = ""; }
      $("wallet").hidden = true; $("signin").hidden = false;
    }
  }

  async function loadPacks() {
    const packs = await api("/api/v1/medal-packs");
    const list = $("packs");
    list.innerHTML = "";
    for (const pack of packs) {
      const item = document.createElement("li");
      const title = document.createElement("div");
      title.textContent = `${pack.paid_medals} メダル` + (pack.bonus_medals ? ` + ボーナス ${pack.bonus_medals}` : "");
      const price = document.createElement("div");
      price.textContent = yen(pack.price_jpy);
      const buy = document.createElement("button");
      buy.textContent = "購入";
      buy.dataset.packId = pack.id;
      buy.addEventListener("click", () => checkout(pack.id));
      item.append(title, price, buy);
      list.append(item);
    }
  }

  async function checkout(packId) {
    if (!store.getItem("access_token")) { say("ログインしてください / Please sign in"); return; }
    try {
      const key = (crypto.randomUUID && crypto.randomUUID()) || String(Date.now()) + Math.random();
      const result = await api("/api/v1/checkouts", {
        method: "POST", headers: { "Idempotency-Key": key },
        body: JSON.stringify({ pack_id: packId, provider: "sandbox" }),
      });
      window.location.href = result.redirect_url;
    } catch (err) { say(err.message); }
  }

  function cell(tag, text) { const el = document.createElement(tag); el.textContent = text; return el; }

  async function loadGachas() {
    const page = await api("/api/v1/gachas");
    const list = $("gachas");
    list.innerHTML = "";
    for (const gacha of page.items.filter((g) => g.state === "live")) {
      const item = document.createElement("li");
      item.append(cell("div", gacha.title), cell("div", `1回 ${gacha.price_medals} メダル（${yen(gacha.price_jpy)}）`));
      const odds = document.createElement("details");
      odds.append(cell("summary", "提供割合 / Odds"));
      odds.addEventListener("toggle", () => showOdds(gacha.id, odds), { once: true });
      item.append(odds);
      const single = cell("button", "1回引く");
      single.dataset.gachaId = gacha.id;
      single.addEventListener("click", () => confirmDraw(gacha, 1));
      item.append(single);
      if (gacha.multi_price_medals) {
        const ten = cell("button", "10連");
        ten.addEventListener("click", () => confirmDraw(gacha, 10));
        item.append(ten);
      }
      list.append(item);
    }
  }

  async function showOdds(gachaId, holder) {
    const detail = await api(`/api/v1/gachas/${encodeURIComponent(gachaId)}`);
    for (const [name, lines] of Object.entries(detail.odds.tables)) {
      const table = document.createElement("table");
      table.append(cell("caption", name));
      for (const line of lines) {
        const row = document.createElement("tr");
        const left = line.remaining === null || line.remaining === undefined ? "" : `残り ${line.remaining}/${line.total}`;
        row.append(cell("td", line.rarity), cell("td", line.item_id), cell("td", line.percent + "%"), cell("td", left));
        table.append(row);
      }
      holder.append(table);
    }
  }

  function confirmDraw(gacha, count) {
    if (!store.getItem("access_token")) { say("ログインしてください / Please sign in"); return; }
    const medals = count === 1 ? gacha.price_medals : gacha.multi_price_medals;
    const jpy = count === 1 ? gacha.price_jpy : gacha.multi_price_jpy;
    $("confirm-title").textContent = gacha.title;
    $("confirm-count").textContent = count === 1 ? "1回" : "10連（10回）";
    $("confirm-price").textContent = `${medals} メダル（${yen(jpy)}相当）`;
    const dialog = $("confirm-draw");
    dialog.onclose = () => { if (dialog.returnValue === "draw") drawNow(gacha.id, count); };
    dialog.showModal();
  }

  async function drawNow(gachaId, count) {
    const out = $("draw-result");
    out.textContent = "抽選中… / Drawing…";
    try {
      const key = (crypto.randomUUID && crypto.randomUUID()) || String(Date.now()) + Math.random();
      let draw = await api(`/api/v1/gachas/${encodeURIComponent(gachaId)}/draws`, {
        method: "POST", headers: { "Idempotency-Key": key }, body: JSON.stringify({ count }),
      });
      for (let i = 0; i < 30 && draw.status !== "completed"; i++) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        draw = await api(`/api/v1/draws/${encodeURIComponent(draw.id)}`);
        if (draw.status === "refused" || draw.status === "voided") throw new Error(draw.detail || draw.status);
      }
      out.innerHTML = "";
      for (const slot of draw.results) out.append(cell("div", `${slot.rarity} ${slot.item_id}`));
    } catch (err) { out.textContent = err.message; }
    await refreshWallet();
  }

  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      const tokens = await api("/api/v1/auth/login", { method: "POST", body: JSON.stringify(Object.fromEntries(form)) });
      store.setItem("access_token", tokens.access_token);
      store.setItem("refresh_token", tokens.refresh_token);
      say("");
      await refreshWallet();
    } catch (err) { say(err.message); }
  });

  $("signup-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      await api("/api/v1/auth/signup", { method: "POST", body: JSON.stringify(Object.fromEntries(form)) });
      say("登録しました。ログインしてください / Signed up: please sign in");
    } catch (err) { say(err.message); }
  });

  $("logout").addEventListener("click", async () => {
    try { await api("/api/v1/auth/logout", { method: "POST", body: JSON.stringify({ refresh_token: store.getItem("refresh_token") }) }); } catch (err) { /* already gone */ }
    store.clear(); $("who").textContent = ""; await refreshWallet();
  });

  loadPacks().catch((err) => say(err.message));
  loadGachas().catch((err) => say(err.message));
  refreshWallet();
})();
