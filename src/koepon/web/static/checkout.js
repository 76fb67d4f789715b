// Return page after a provider's hosted payment page: polls the checkout until it settles.
(function () {
  const section = document.getElementById("checkout-return");
  const out = document.getElementById("checkout-status");
  const token = window.sessionStorage.getItem("access_token");
  if (!section || !token) { if (out) out.textContent = "ログインしてください / Please sign in"; return; }
  const id = section.dataset.checkoutId;
  let tries = 0;
  async function poll() {
    tries += 1;
    const response = await fetch("/api/v1/checkouts/" + encodeURIComponent(id), {
      headers: { Authorization: "Bearer " + token },
    });
    if (!response.ok) { out.textContent = "確認できませんでした (" + response.status + ")"; return; }
    const checkout = await response.json();
    out.textContent = checkout.status;
    if (checkout.status === "open" && tries < 20) setTimeout(poll, 1000);
  }
  poll();
})();
