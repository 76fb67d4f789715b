// Pages the mailed links open: verify an email address, reset a forgotten password.
(function () {
  const $ = (id) => document.getElementById(id);
  const say = (text, state) => {
    const box = $("flow-message");
    box.textContent = text;
    box.dataset.state = state || "";
  };
  // The token arrives in the link; keep it off the address bar and out of the history.
  const token = new URLSearchParams(window.location.search).get("token") || "";
  if (token) window.history.replaceState(null, "", window.location.pathname);

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    if (response.ok) return;
    const problem = await response.json().catch(() => null);
    const detail = (problem && problem.detail) || response.statusText;
    throw Object.assign(new Error(detail), { status: response.status, code: problem && problem.code });
  }

  const verify = $("verify-form");
  if (verify) {
    if (!token) { verify.hidden = true; say("リンクが不完全です。メールのリンクをそのまま開いてください。", "error"); }
    verify.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await post("/api/v1/auth/verify-email", { token });
        verify.hidden = true;
        say("メールアドレスを確認しました。/ Your email address is verified.", "done");
      } catch (err) {
        say(err.code === "token_invalid"
          ? "このリンクは無効か、期限切れか、使用済みです。/ This link is invalid, expired or already used."
          : err.message, "error");
      }
    });
  }

  const request = $("reset-request-form");
  const confirm = $("reset-confirm-form");
  if (request && confirm) {
    if (token) { request.hidden = true; confirm.hidden = false; }
    request.addEventListener("submit", async (event) => {
      event.preventDefault();
      const email = new FormData(request).get("email");
      try {
        await post("/api/v1/auth/password-reset/request", { email });
        request.hidden = true;
        say("登録されたアドレスであれば、再設定のリンクを送りました。/ If the address is registered, a link is on its way.", "sent");
      } catch (err) { say(err.message, "error"); }
    });
    confirm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = new FormData(confirm);
      if (form.get("new_password") !== form.get("repeat")) {
        say("2つのパスワードが一致しません。/ The two passwords differ.", "error");
        return;
      }
      try {
        await post("/api/v1/auth/password-reset/confirm", { token, new_password: form.get("new_password") });
        confirm.hidden = true;
        say("パスワードを再設定しました。新しいパスワードでログインしてください。/ Password changed: sign in with the new one.", "done");
      } catch (err) {
        say(err.code === "token_invalid"
          ? "このリンクは無効か、期限切れか、使用済みです。もう一度お試しください。/ This link is invalid, expired or used."
          : err.message, "error");
      }
    });
  }
})();
