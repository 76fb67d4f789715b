// Pages the mailed links open: verify an email address, reset a forgotten password.
(function () {
  const $ = (id) => document.getElementById(id);
  const say = (text, state) => {
    const box = $("flow-message");
    box.textContent = text;
    box.dataset.state = state || "";
  };
  const box = $("flow-messages");
  const text = box ? JSON.parse(box.textContent) : {};
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
    if (!token) { verify.hidden = true; say(text.incomplete, "error"); }
    verify.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await post("/api/v1/auth/verify-email", { token });
        verify.hidden = true;
        say(text.verified, "done");
      } catch (err) {
        say(err.code === "token_invalid"
          ? text.invalid
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
        say(text.sent, "sent");
      } catch (err) { say(err.message, "error"); }
    });
    confirm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = new FormData(confirm);
      if (form.get("new_password") !== form.get("repeat")) {
        say(text.differ, "error");
        return;
      }
      try {
        await post("/api/v1/auth/password-reset/confirm", { token, new_password: form.get("new_password") });
        confirm.hidden = true;
        say(text.changed, "done");
      } catch (err) {
        say(err.code === "token_invalid"
          ? text.invalid
          : err.message, "error");
      }
    });
  }
})();
