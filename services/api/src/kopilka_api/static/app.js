// Kopilka Mini App: the owner's balance in the current period, their payments and statement,
// and a form to record a payment. Every API call carries `Authorization: tma <initData>`.
//
// Where the initData comes from, in order:
//   1. Telegram: the launch parameters in the URL fragment (#tgWebAppData=...), read through
//      Telegram's telegram-web-app.js, which is loaded only when those parameters are present;
//   2. a plain browser: the fragment #tma=<url-encoded initData>[&community=<id>];
//   3. the sign-in form on the page.
// Never from the query string: initData is a credential while fresh, and a query string ends up
// in server and proxy logs, a fragment never leaves the browser.
// Amounts stay decimal strings from the API to the screen: no floating point anywhere.
"use strict";

(function () {
  const API = "/api/payments";
  const TELEGRAM_SCRIPT = "https://telegram.org/js/telegram-web-app.js";

  const state = {
    initData: null,
    communityId: null,
    webApp: null,
    me: null,
    period: null,
    pending: null, // {body, key}: the Idempotency-Key of a submission until it succeeds
  };

  const $ = (id) => document.getElementById(id);

  // ------------------------------------------------------------------ helpers

  function show(id, visible) {
    $(id).hidden = !visible;
  }

  function setError(message) {
    const el = $("error");
    el.textContent = message || "";
    el.hidden = !message;
  }

  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
  }

  function node(tag, text, className) {
    const el = document.createElement(tag);
    if (text !== undefined && text !== null) el.textContent = text;
    if (className) el.className = className;
    return el;
  }

  // "-1234567.50" -> "−1 234 567.50" (string work only; the API's digits are kept exactly).
  function groupDigits(amount) {
    const text = String(amount);
    const negative = text.startsWith("-");
    const [whole, fraction] = text.replace(/^[-+]/, "").split(".");
    const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, "\u2009");
    return (negative ? "\u2212" : "") + grouped + (fraction !== undefined ? "." + fraction : "");
  }

  function money(amount, currency) {
    return groupDigits(amount) + " " + (currency || (state.me && state.me.currency) || "");
  }

  function sign(amount) {
    const text = String(amount);
    if (/^-/.test(text) && /[1-9]/.test(text)) return -1;
    if (/[1-9]/.test(text)) return 1;
    return 0;
  }

  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function todayISO() {
    const d = new Date();
    const pad = (n) => String(n).padStart(2, "0");
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
  }

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }

  async function api(path, options) {
    const opts = options || {};
    const headers = {
      Accept: "application/json",
      Authorization: "tma " + state.initData,
    };
    if (state.communityId) headers["X-Community-Id"] = state.communityId;
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    if (opts.idempotencyKey) headers["Idempotency-Key"] = opts.idempotencyKey;
    let response;
    try {
      response = await fetch(API + path, {
        method: opts.method || "GET",
        headers,
        body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
        credentials: "omit",
        cache: "no-store",
      });
    } catch (err) {
      throw new ApiError(0, "The server cannot be reached; check the connection and retry.");
    }
    let data = null;
    const text = await response.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (err) {
        data = null;
      }
    }
    if (!response.ok) {
      const detail =
        (data && (data.detail || data.title)) || "The server answered " + response.status + ".";
      throw new ApiError(response.status, detail);
    }
    return data;
  }

  // ------------------------------------------------------------------ launch

  function launchParams() {
    return new URLSearchParams(window.location.hash.replace(/^#/, ""));
  }

  function loadTelegram(params) {
    // Load Telegram's script only when Telegram launched us: a plain browser needs nothing
    // from outside this server.
    if (window.Telegram && window.Telegram.WebApp) return Promise.resolve(window.Telegram.WebApp);
    if (!params.has("tgWebAppData") && !params.has("tgWebAppPlatform")) {
      return Promise.resolve(null);
    }
    return new Promise((resolve) => {
      const script = document.createElement("script");
      script.src = TELEGRAM_SCRIPT;
      script.async = true;
      const timer = window.setTimeout(() => resolve(null), 5000);
      script.onload = () => {
        window.clearTimeout(timer);
        resolve((window.Telegram && window.Telegram.WebApp) || null);
      };
      script.onerror = () => {
        window.clearTimeout(timer);
        resolve(null);
      };
      document.head.appendChild(script);
    });
  }

  function communityFrom(params, webApp) {
    const given = params.get("community");
    if (given && /^\d+$/.test(given)) return given;
    // A bot link may name the community: t.me/<bot>?startapp=c<id>
    const start =
      (webApp && webApp.initDataUnsafe && webApp.initDataUnsafe.start_param) ||
      params.get("tgWebAppStartParam") ||
      "";
    const m = /^c(\d+)$/.exec(start);
    return m ? m[1] : null;
  }

  // ------------------------------------------------------------------ rendering

  function renderWho() {
    const me = state.me;
    $("community-name").textContent = me.community_name || "Kopilka";
    const who = me.name ? me.name + " · owner " + me.owner_id : "Owner " + me.owner_id;
    $("who").textContent = who;
    $("currency").textContent = me.currency || "";
  }

  function renderBalance(b) {
    $("period-name").textContent =
      b.period_name + " · " + (state.period ? state.period.start_date + " – " + state.period.end_date : "");
    $("period-status").textContent = b.status;
    const el = $("balance");
    el.textContent = money(b.balance, b.currency);
    const s = sign(b.balance);
    el.className = "amount" + (s > 0 ? " credit" : s < 0 ? " debt" : "");
    $("balance-note").textContent =
      s > 0 ? "Credit: you have paid ahead." : s < 0 ? "Debt: still to pay." : "Settled: nothing to pay.";
    const dl = $("breakdown");
    clear(dl);
    const lines = [
      ["Opening balance", b.opening_balance],
      ["Your payments", b.total_contributions],
      ["Expenses you paid", b.total_paid_expenses],
      ["Your share of expenses", b.total_allocated],
      ["Direct charges", b.total_service_charges],
      ["Settlements (net)", b.net_settlements],
    ];
    for (const [label, value] of lines) {
      dl.appendChild(node("dt", label));
      dl.appendChild(node("dd", money(value, b.currency)));
    }
    show("balance-card", true);
  }

  function renderPayments(rows) {
    const list = $("payments");
    clear(list);
    const recent = rows.slice(-10).reverse();
    for (const c of recent) {
      const li = document.createElement("li");
      const left = node("span", c.date + (c.comment ? " · " + c.comment : ""));
      if (c.is_opening) left.textContent = c.date + " · carried forward";
      li.appendChild(left);
      li.appendChild(node("span", money(c.amount), "right"));
      list.appendChild(li);
    }
    show("payments-empty", recent.length === 0);
    show("payments-card", true);
  }

  function renderStatement(st) {
    const body = $("statement").tBodies[0];
    clear(body);
    for (const p of st.periods || []) {
      const tr = document.createElement("tr");
      tr.appendChild(node("td", p.period_name));
      for (const v of [p.opening_balance, p.charges, p.payments, p.closing_balance]) {
        tr.appendChild(node("td", groupDigits(v)));
      }
      body.appendChild(tr);
    }
    const list = $("invoices");
    clear(list);
    for (const inv of st.invoices || []) {
      const li = document.createElement("li");
      li.appendChild(node("span", inv.period_name));
      const right = node("span", "", "right");
      right.appendChild(node("span", money(inv.amount, st.currency)));
      right.appendChild(document.createTextNode(" "));
      right.appendChild(node("span", inv.status, "status-" + inv.status));
      if (inv.status === "PARTIAL" || inv.status === "ISSUED") {
        right.appendChild(node("div", "pending " + money(inv.pending, st.currency), "muted"));
      }
      li.appendChild(right);
      list.appendChild(li);
    }
    show("invoices-empty", (st.invoices || []).length === 0);
    show("statement-error", false);
    show("statement-card", true);
  }

  // ------------------------------------------------------------------ data

  function currentPeriod(periods) {
    const today = todayISO();
    const open = periods.filter((p) => p.status === "OPEN");
    const byStart = (a, b) => (a.start_date < b.start_date ? 1 : a.start_date > b.start_date ? -1 : 0);
    const containing = open.find((p) => p.start_date <= today && today <= p.end_date);
    if (containing) return containing;
    if (open.length) return open.sort(byStart)[0];
    return periods.slice().sort(byStart)[0] || null;
  }

  async function refreshPeriod() {
    const ownerId = state.me.owner_id;
    const p = state.period;
    const [balance, contributions] = await Promise.all([
      api("/periods/" + p.id + "/balances/" + ownerId),
      api("/periods/" + p.id + "/contributions?owner_id=" + ownerId + "&limit=500"),
    ]);
    renderBalance(balance);
    renderPayments(contributions);
  }

  async function refreshStatement() {
    try {
      renderStatement(await api("/owners/" + state.me.owner_id + "/statement"));
    } catch (err) {
      $("statement-error").textContent = err.message;
      show("statement-error", true);
      show("statement-card", true);
    }
  }

  async function load() {
    setError("");
    show("loading", true);
    try {
      state.me = await api("/me");
      if (state.me.owner_id === null || state.me.owner_id === undefined) {
        throw new ApiError(403, "This Telegram account is not linked to an owner of the community.");
      }
      show("signin-card", false);
      renderWho();
      const { periods } = await api("/periods?limit=500");
      state.period = currentPeriod(periods || []);
      if (!state.period) {
        setError("The treasurer has not opened a period yet.");
      } else {
        await refreshPeriod();
        show("pay-card", state.period.status === "OPEN");
      }
      await refreshStatement();
    } catch (err) {
      setError(err.message);
      if (err.status === 401 && !state.webApp) show("signin-card", true);
    } finally {
      show("loading", false);
      $("app").setAttribute("aria-busy", "false");
    }
  }

  // ------------------------------------------------------------------ the payment form

  function normalizeAmount(text) {
    const t = text.replace(/[\s\u00a0\u2009]/g, "").replace(",", ".");
    if (!/^\d+(\.\d+)?$/.test(t)) return null;
    if (!/[1-9]/.test(t)) return null;
    return t;
  }

  function setPayStatus(text, kind) {
    const el = $("pay-status");
    el.textContent = text;
    el.className = "status" + (kind ? " " + kind : "");
  }

  async function submitPayment(event) {
    event.preventDefault();
    const amount = normalizeAmount($("amount").value);
    if (amount === null) {
      setPayStatus("Enter an amount greater than zero, like 500 or 500.00.", "bad");
      return;
    }
    const body = { owner_id: state.me.owner_id, amount };
    const comment = $("comment").value.trim();
    if (comment) body.comment = comment;
    // One key per intended payment: a retry of the same form after a failure reuses it, so a
    // lost answer never records the money twice.
    const fingerprint = JSON.stringify([state.period.id, body]);
    if (!state.pending || state.pending.fingerprint !== fingerprint) {
      state.pending = { fingerprint, key: newKey() };
    }
    const button = $("pay-submit");
    button.disabled = true;
    setPayStatus("Recording…");
    try {
      const saved = await api("/periods/" + state.period.id + "/contributions", {
        method: "POST",
        body,
        idempotencyKey: state.pending.key,
      });
      state.pending = null;
      $("pay-form").reset();
      setPayStatus("Recorded " + money(saved.amount) + " on " + saved.date + ".", "ok");
      if (state.webApp && state.webApp.HapticFeedback) {
        state.webApp.HapticFeedback.notificationOccurred("success");
      }
      await refreshPeriod();
      await refreshStatement();
    } catch (err) {
      if (err.status && err.status !== 409 && err.status < 500) state.pending = null;
      setPayStatus(err.message, "bad");
    } finally {
      button.disabled = false;
    }
  }

  function signIn(event) {
    event.preventDefault();
    const text = $("init-data").value.trim();
    if (!text) return;
    state.initData = text;
    const community = $("community-id").value.trim();
    state.communityId = /^\d+$/.test(community) ? community : null;
    load();
  }

  // ------------------------------------------------------------------ start

  async function start() {
    $("pay-form").addEventListener("submit", submitPayment);
    $("signin-form").addEventListener("submit", signIn);
    const params = launchParams();
    const webApp = await loadTelegram(params);
    state.webApp = webApp;
    if (webApp) {
      webApp.ready();
      webApp.expand();
    }
    state.initData = (webApp && webApp.initData) || params.get("tgWebAppData") || params.get("tma");
    state.communityId = communityFrom(params, webApp);
    if (!state.initData) {
      show("loading", false);
      show("signin-card", true);
      $("app").setAttribute("aria-busy", "false");
      return;
    }
    await load();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
