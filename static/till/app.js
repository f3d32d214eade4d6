// The till: sign in, find a card (camera, scanner, number, search), act on it, enroll a customer.
// Everything goes through the public store API (api.js); the words come from the page (i18n.js).

import { ApiError, UncertainOutcome, createApi } from "./api.js";
import { config, errorText, formatDateTime, formatNumber, formatTime, language, minutesUntil, t, transactionType } from "./i18n.js";
import { amountAfterKey, amountDisplay, amountToCents, decimalSeparator, formatCents, isValidCardNumber, typedCardNumber } from "./money.js";
import { CameraError, CameraScanner } from "./scanner.js";

const $ = (id) => document.getElementById(id);
const SESSION_KEY = "till.session";
const STORE_CODE_KEY = "till.storeCode";
const HISTORY_SIZE = 5;
const SEARCH_SIZE = 10;
const PIN_MIN_LENGTH = 4;
const PIN_MAX_LENGTH = 8;
const STORE = "/store/loyalty";
const SCREENS = ["sign-in", "find", "card", "enroll", "enrolled"];

// --- State -------------------------------------------------------------------------------------------------

// The token lives in localStorage: it must survive reloads and the home-screen app's restarts on the shop's
// device, it is readable only by this origin, and it is removed on sign-out and on the first 401.
function loadSession() {
  try {
    const session = JSON.parse(localStorage.getItem(SESSION_KEY) || "null");
    if (!session || typeof session.token !== "string") return null;
    if (session.expiresAt && new Date(session.expiresAt).getTime() <= Date.now()) return null;
    return session;
  } catch {
    return null;
  }
}

const state = {
  session: loadSession(),
  program: null,
  view: null, // the scanner view of the open card (cards/lookup)
  history: [],
  screen: null,
  busy: false,
  facing: "environment",
  enrolled: null,
  recheck: null, // what "Check card" reloads after an uncertain outcome
};

const api = createApi({
  base: config.apiBase,
  getToken: () => (state.session ? state.session.token : ""),
  onUnauthorized: () => signedOut(errorText({ code: "NOT_AUTHENTICATED" })),
  onRetry: ({ attempt, attempts }) => setSending(t("retrying", { attempt, attempts })),
});

const scanner = new CameraScanner({ video: $("camera-video"), onCode: (code) => openCode(code) });

// --- Screens, messages, focus ---------------------------------------------------------------------------

function show(screen) {
  state.screen = screen;
  for (const name of SCREENS) $(`screen-${name}`).hidden = name !== screen;
  $("scan-bar").hidden = !(screen === "find" || screen === "card");
  $("sign-out").hidden = screen === "sign-in";
  if (screen !== "find") stopCamera();
  if (screen !== "card") $("gave-up").hidden = true;
  if (screen === "sign-in") {
    const empty = ["sign-in-username", "sign-in-password", "sign-in-store"].map($).find((input) => !input.value);
    (empty || $("sign-in-username")).focus();
  } else if (screen === "enroll") {
    $("enroll-email").focus();
  } else if (screen === "enrolled") {
    $("enrolled-open").focus();
  } else {
    focusScanner();
  }
}

function say(text, kind = "info") {
  const status = $("status");
  status.textContent = text;
  status.className = `status ${kind}`;
  status.hidden = !text;
}

function clearStatus() {
  say("");
}

function setSending(text) {
  $("sending-text").textContent = text;
}

function setBusy(busy) {
  state.busy = busy;
  $("sending").hidden = !busy;
  if (busy) setSending(t("sending"));
  document.body.classList.toggle("is-busy", busy);
  for (const button of document.querySelectorAll(".actions button, #reward-list button, #enroll-form button[type=submit]")) {
    if (busy) button.disabled = true;
  }
  if (!busy && state.view) renderCard();
  if (!busy) $("enroll-form").querySelector("button[type=submit]").disabled = false;
}

function dialogOpen() {
  return document.querySelector("dialog[open]") !== null;
}

// The scanner input has the focus whenever no dialog is open, so a USB or Bluetooth scanner always types into it.
function focusScanner() {
  if (!$("scan-bar").hidden && !dialogOpen()) $("wedge-input").focus({ preventScroll: true });
}

function isTextField(element) {
  return element && (element.tagName === "INPUT" || element.tagName === "TEXTAREA" || element.tagName === "SELECT");
}

// A scanner that types while a button has the focus (after a click) still reaches the scanner input.
document.addEventListener("keydown", (event) => {
  if (dialogOpen() || $("scan-bar").hidden || isTextField(document.activeElement)) return;
  if (event.key.length !== 1 || event.key === " " || event.ctrlKey || event.metaKey || event.altKey) return;
  event.preventDefault();
  const input = $("wedge-input");
  input.focus({ preventScroll: true });
  input.value += event.key;
});

for (const dialog of document.querySelectorAll("dialog")) dialog.addEventListener("close", () => focusScanner());

// --- Sign in and out --------------------------------------------------------------------------------------

function saveSession(session) {
  state.session = session;
  localStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

function forgetSession() {
  state.session = null;
  state.program = null;
  state.view = null;
  localStorage.removeItem(SESSION_KEY);
}

function signedOut(message) {
  forgetSession();
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close("cancel");
  setBusy(false);
  $("bar-store").textContent = "";
  $("sign-in-password").value = "";
  show("sign-in");
  const error = $("sign-in-error");
  error.textContent = message || "";
  error.hidden = !message;
  clearStatus();
}

$("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const username = $("sign-in-username").value.trim();
  const password = $("sign-in-password").value;
  const storeCode = $("sign-in-store").value.trim().toLowerCase();
  const error = $("sign-in-error");
  error.hidden = true;
  if (!username || !password || !storeCode) {
    error.textContent = t("sign_in_missing");
    error.hidden = false;
    return;
  }
  say(t("signing_in"));
  try {
    const { data } = await api.request("POST", "/auth/token", {
      body: { username, password, store_code: storeCode },
      authenticated: false,
    });
    $("sign-in-password").value = "";
    localStorage.setItem(STORE_CODE_KEY, storeCode);
    saveSession({ token: data.token, store: data.store, merchant: data.merchant, role: data.role, expiresAt: data.expires_at });
    clearStatus();
    await startSession();
  } catch (failure) {
    clearStatus();
    if (failure instanceof ApiError && failure.status === 401) error.textContent = errorText({ code: "SIGN_IN_FAILED" });
    else if (failure instanceof ApiError && failure.status === 403) error.textContent = t("sign_in_no_store");
    else error.textContent = errorText(failure);
    error.hidden = false;
    $("sign-in-password").focus();
  }
});

$("sign-out").addEventListener("click", async () => {
  const token = state.session ? state.session.token : null;
  if (token) {
    try {
      await api.request("DELETE", "/auth/token"); // revokes the token on the server
    } catch {
      // Offline or already revoked: it is forgotten here all the same.
    }
  }
  signedOut(t("signed_out"));
});

async function startSession() {
  $("bar-store").textContent = state.session.store ? state.session.store.name : "";
  show("find");
  try {
    const { data } = await api.get(`${STORE}/program`);
    state.program = data;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    state.program = null;
    say(errorText(error), "error");
  }
}

// --- Language --------------------------------------------------------------------------------------------

$("language").addEventListener("change", (event) => {
  // The server renders the page's words in the language of this cookie: set it on this device, then reload.
  document.cookie = `${config.languageCookie}=${encodeURIComponent(event.target.value)}; path=/; max-age=31536000; SameSite=Lax`;
  window.location.reload();
});

// --- Finding a card ----------------------------------------------------------------------------------------

function invalidInput(message) {
  say(message, "error");
  $("wedge-input").select();
}

// A scanner's or a keyboard's text: a card number (checked here first), the QR data, or an e-mail.
function openCode(raw) {
  const text = (raw || "").trim();
  if (!text) return Promise.resolve();
  const digits = typedCardNumber(text);
  if (digits !== null && !isValidCardNumber(digits)) {
    invalidInput(t("card_number_invalid"));
    return Promise.resolve();
  }
  return openCard({ query: digits || text });
}

async function openCard({ query = null, cardId = null, quiet = false } = {}) {
  if (!quiet) say(t("loading_card"));
  try {
    const answer = cardId
      ? await api.request("POST", `${STORE}/cards/lookup`, { body: { card_id: cardId } })
      : await api.get(`${STORE}/cards/lookup`, { q: query });
    const view = answer.data;
    const history = await api.get(`${STORE}/cards/${view.card.id}/transactions`, { page_size: HISTORY_SIZE });
    const changedCard = !state.view || state.view.card.id !== view.card.id;
    state.view = view;
    state.history = history.data.results;
    if (changedCard) $("success").hidden = true;
    $("wedge-input").value = "";
    if (!quiet) clearStatus();
    renderCard();
    if (state.screen !== "card") show("card");
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return false;
    invalidInput(errorText(error));
    return false;
  }
}

function refreshCard() {
  return state.view ? openCard({ cardId: state.view.card.id, quiet: true }) : Promise.resolve(false);
}

$("wedge-form").addEventListener("submit", (event) => {
  event.preventDefault();
  openCode($("wedge-input").value);
});

$("search-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const search = $("search-input").value.trim();
  const list = $("search-results");
  list.replaceChildren();
  $("search-summary").textContent = "";
  if (!search) return;
  try {
    const { data } = await api.get(`${STORE}/cards`, { search, page_size: SEARCH_SIZE });
    $("search-summary").textContent = data.count ? t("search_results", { count: data.count }) : t("search_empty");
    for (const card of data.results) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "result";
      const name = document.createElement("strong");
      name.textContent = card.customer.full_name || card.customer.email;
      const detail = document.createElement("span");
      detail.textContent = [card.customer.email, card.customer.phone, spacedNumber(card.card_number)].filter(Boolean).join(" · ");
      button.append(name, detail);
      button.addEventListener("click", () => openCard({ cardId: card.id }));
      item.append(button);
      list.append(item);
    }
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) say(errorText(error), "error");
  }
});

// --- Camera -------------------------------------------------------------------------------------------------

function cameraButtons(running) {
  $("scan-start").hidden = running;
  $("scan-stop").hidden = !running;
  $("scan-switch").hidden = !running;
  $("viewfinder").hidden = !running;
}

async function startCamera() {
  $("camera-message").textContent = t("camera_starting");
  cameraButtons(true);
  try {
    await scanner.start(state.facing);
    $("camera-message").textContent = t("camera_on");
  } catch (error) {
    cameraButtons(false);
    const reason = error instanceof CameraError ? error.reason : "failed";
    $("camera-message").textContent = t(`camera_${reason}`);
  }
}

function stopCamera() {
  scanner.stop();
  cameraButtons(false);
  $("camera-message").textContent = "";
}

$("scan-start").addEventListener("click", () => startCamera());
$("scan-stop").addEventListener("click", () => {
  stopCamera();
  focusScanner();
});
$("scan-switch").addEventListener("click", () => {
  state.facing = state.facing === "environment" ? "user" : "environment";
  $("scan-switch").setAttribute("aria-pressed", String(state.facing === "user"));
  startCamera();
});

// --- The card -------------------------------------------------------------------------------------------------

function spacedNumber(number) {
  return number ? number.replace(/(\d{4})(?=\d)/g, "$1 ") : "";
}

function hasStamps(program) {
  return program.loyalty_type === "stamps" || program.loyalty_type === "hybrid";
}

function hasPoints(program) {
  return program.loyalty_type === "points" || program.loyalty_type === "hybrid";
}

function stampState(view) {
  if (view.can_stamp) return t("can_stamp_yes");
  if (!view.card.is_active) return t("can_stamp_inactive");
  if (view.cooldown_ends_at) {
    return t("can_stamp_cooldown", { time: formatTime(view.cooldown_ends_at), minutes: minutesUntil(view.cooldown_ends_at) });
  }
  if (view.stamps_today >= view.max_daily_stamps) {
    return t("can_stamp_daily", { count: view.stamps_today, max: view.max_daily_stamps });
  }
  return t("can_stamp_paused");
}

function lastVoidable() {
  const last = state.history[0];
  return last && (last.type === "STAMP_EARNED" || last.type === "POINTS_EARNED") ? last : null;
}

function historyDelta(row) {
  const parts = [];
  if (row.stamps_delta) parts.push(`${row.stamps_delta > 0 ? "+" : "−"}${Math.abs(row.stamps_delta)} ●`);
  if (row.points_delta) parts.push(`${row.points_delta > 0 ? "+" : "−"}${formatNumber(Math.abs(row.points_delta))} pts`);
  return parts.join(" ");
}

function renderCard() {
  const view = state.view;
  const { card, program, balances } = view;
  const firstName = (card.customer.full_name || "").trim().split(/\s+/)[0];
  $("card-name").textContent = firstName || spacedNumber(card.card_number);
  $("card-number").textContent = spacedNumber(card.card_number);
  $("card-inactive").hidden = card.is_active;

  const stamps = hasStamps(program);
  $("card-stamps").hidden = !stamps;
  $("action-stamp").hidden = !stamps;
  $("action-stamp-redeem").hidden = !stamps;
  if (stamps) {
    $("stamps-count").textContent = t("stamps_of", { count: balances.stamp_count, target: balances.stamps_target });
    const dots = $("stamp-dots");
    dots.replaceChildren();
    for (let index = 0; index < balances.stamps_target; index++) {
      const dot = document.createElement("li");
      dot.className = index < balances.stamp_count ? "dot filled" : "dot";
      dots.append(dot);
    }
    $("stamp-state").textContent = view.can_redeem_stamps
      ? `${stampState(view)} ${t("reward_ready", { reward: program.stamps_reward_description })}`
      : stampState(view);
  }

  const points = hasPoints(program);
  $("card-points").hidden = !points;
  $("action-earn").hidden = !points;
  $("card-rewards").hidden = !points;
  if (points) {
    $("points-balance").textContent = t("points_value", { points: formatNumber(balances.points_balance) });
    const list = $("reward-list");
    list.replaceChildren();
    for (const reward of view.available_rewards) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button big reward";
      button.textContent = t("reward_option", { name: reward.name, points: formatNumber(reward.points_required) });
      button.disabled = state.busy || !card.is_active;
      button.addEventListener("click", () => redeemReward(reward));
      item.append(button);
      list.append(item);
    }
    $("rewards-empty").textContent = view.available_rewards.length ? "" : t("no_rewards");
  }

  $("action-stamp").disabled = state.busy || !view.can_stamp;
  $("action-stamp-redeem").disabled = state.busy || !view.can_redeem_stamps;
  $("action-earn").disabled = state.busy || !card.is_active;
  $("action-void").disabled = state.busy || !lastVoidable();

  const history = $("history");
  history.replaceChildren();
  if (!state.history.length) {
    const item = document.createElement("li");
    item.textContent = t("no_history");
    history.append(item);
  }
  for (const row of state.history) {
    const item = document.createElement("li");
    const when = document.createElement("time");
    when.dateTime = row.created_at;
    when.textContent = formatDateTime(row.created_at);
    const what = document.createElement("span");
    what.textContent = row.reward_name ? `${transactionType(row.type)}: ${row.reward_name}` : transactionType(row.type);
    const delta = document.createElement("span");
    delta.className = "delta";
    delta.textContent = historyDelta(row);
    item.append(when, what, delta);
    history.append(item);
  }
}

function showSuccess(text) {
  const success = $("success");
  success.textContent = text;
  success.hidden = false;
}

// --- Dialogs: the PIN pad, the amount pad, the confirmation ---------------------------------------------------

function dialogResult(dialog) {
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue), { once: true }));
}

let pinDigits = "";

function renderPin() {
  $("pin-display").textContent = "●".repeat(pinDigits.length) || "\u00a0";
  $("pin-ok").disabled = pinDigits.length < PIN_MIN_LENGTH;
}

function pinKey(key) {
  if (key === "back") pinDigits = pinDigits.slice(0, -1);
  else if (key === "clear") pinDigits = "";
  else if (/^[0-9]$/.test(key) && pinDigits.length < PIN_MAX_LENGTH) pinDigits += key;
  renderPin();
}

$("pin-dialog").querySelector(".keypad").addEventListener("click", (event) => {
  const key = event.target.closest("[data-key]");
  if (key) pinKey(key.dataset.key);
});

$("pin-dialog").addEventListener("keydown", (event) => {
  if (/^[0-9]$/.test(event.key)) pinKey(event.key);
  else if (event.key === "Backspace") pinKey("back");
  else if (event.key === "Enter") {
    if (pinDigits.length >= PIN_MIN_LENGTH) $("pin-dialog").close("ok");
  } else return;
  event.preventDefault();
});

// The PIN is asked for each operation and kept only until that operation's answer: never stored.
async function askPin(title, error = "") {
  pinDigits = "";
  renderPin();
  $("pin-title").textContent = title;
  $("pin-error").textContent = error;
  $("pin-error").hidden = !error;
  const dialog = $("pin-dialog");
  dialog.returnValue = "";
  dialog.showModal();
  $("pin-ok").focus();
  const result = await dialogResult(dialog);
  const pin = pinDigits;
  pinDigits = "";
  renderPin();
  return result === "ok" && pin.length >= PIN_MIN_LENGTH ? pin : null;
}

async function confirmAction(title, text) {
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  const dialog = $("confirm-dialog");
  dialog.returnValue = "";
  dialog.showModal();
  $("confirm-ok").focus();
  return (await dialogResult(dialog)) === "ok";
}

let amountText = "";

function renderAmount() {
  $("earn-display").textContent = amountDisplay(amountText, language);
  const cents = amountToCents(amountText);
  const program = state.program;
  let preview = "";
  if (cents && program && program.points_per_euro) {
    preview = t("earn_preview", { points: formatNumber(Math.floor((cents * program.points_per_euro) / 100)) });
  }
  $("earn-preview").textContent = preview;
}

function amountKey(key) {
  amountText = amountAfterKey(amountText, key);
  $("earn-error").hidden = true;
  renderAmount();
}

$("earn-decimal").textContent = decimalSeparator(language);
$("earn-dialog").querySelector(".keypad").addEventListener("click", (event) => {
  const key = event.target.closest("[data-key]");
  if (key) amountKey(key.dataset.key);
});

$("earn-dialog").addEventListener("keydown", (event) => {
  if (event.target === $("earn-reference")) return; // typing the order reference
  if (/^[0-9]$/.test(event.key)) amountKey(event.key);
  else if (event.key === "," || event.key === ".") amountKey("decimal");
  else if (event.key === "Backspace") amountKey("back");
  else if (event.key === "Enter") $("earn-ok").click();
  else return;
  event.preventDefault();
});

$("earn-form").addEventListener("submit", (event) => {
  if (event.submitter && event.submitter.value === "cancel") return;
  if (amountToCents(amountText) === null) {
    event.preventDefault(); // keep the dialog open
    $("earn-error").textContent = t("earn_amount_needed");
    $("earn-error").hidden = false;
  }
});

async function askAmount() {
  amountText = "";
  $("earn-reference").value = "";
  $("earn-error").hidden = true;
  renderAmount();
  const dialog = $("earn-dialog");
  dialog.returnValue = "";
  dialog.showModal();
  $("earn-ok").focus();
  const result = await dialogResult(dialog);
  const cents = amountToCents(amountText);
  if (result !== "ok" || cents === null) return null;
  return { cents, orderReference: $("earn-reference").value.trim() };
}

// --- Operations -----------------------------------------------------------------------------------------------

function showGaveUp(recheck) {
  state.recheck = recheck;
  $("gave-up-text").textContent = t("gave_up");
  $("gave-up").hidden = false;
  $("check-card").focus();
}

$("check-card").addEventListener("click", async () => {
  $("gave-up").hidden = true;
  const recheck = state.recheck || refreshCard;
  state.recheck = null;
  await recheck();
  focusScanner();
});

// One operation on the open card: the PIN when the program asks for it, one Idempotency-Key for all the
// retries of this sending (api.js), then the new state of the card and a success line.
async function runOperation({ title, path, body, success }) {
  if (state.busy) return;
  $("success").hidden = true;
  $("gave-up").hidden = true;
  clearStatus();
  let needsPin = Boolean(state.program && state.program.require_staff_pin);
  let pinError = "";
  for (;;) {
    let pin = null;
    if (needsPin) {
      pin = await askPin(title, pinError);
      if (pin === null) return;
    }
    setBusy(true);
    try {
      const { data } = await api.post(path, pin ? { ...body, staff_pin: pin } : body);
      pin = null;
      await refreshCard();
      setBusy(false);
      showSuccess(success(data));
      focusScanner();
      return;
    } catch (error) {
      pin = null;
      setBusy(false);
      if (error instanceof UncertainOutcome) {
        showGaveUp(refreshCard);
        return;
      }
      if (error instanceof ApiError && error.status === 401) return;
      if (error.code === "STAFF_PIN_INVALID" || error.code === "STAFF_PIN_REQUIRED") {
        needsPin = true;
        pinError = error.code === "STAFF_PIN_INVALID" ? errorText(error) : "";
        continue; // the pad again, and a new key: a new PIN is a new request
      }
      say(errorText(error, { formatAmount: (cents) => formatCents(cents, language) }), "error");
      await refreshCard(); // the card changed elsewhere (cooldown, balance): show what is true now
      focusScanner();
      return;
    }
  }
}

function cardId() {
  return state.view.card.id;
}

$("action-stamp").addEventListener("click", () =>
  runOperation({
    title: t("title_stamp"),
    path: `${STORE}/stamp`,
    body: { card_id: cardId() },
    success: (data) =>
      t(data.reward_earned ? "success_stamp_reward" : "success_stamp", { count: data.stamp_count, target: data.stamps_target }),
  }),
);

$("action-stamp-redeem").addEventListener("click", () =>
  runOperation({
    title: t("title_stamp_redeem"),
    path: `${STORE}/stamp/redeem`,
    body: { card_id: cardId() },
    success: (data) => t("success_stamp_redeem", { reward: data.reward_description }),
  }),
);

$("action-earn").addEventListener("click", async () => {
  const amount = await askAmount();
  if (!amount) return;
  const body = { card_id: cardId(), purchase_amount_cents: amount.cents };
  if (amount.orderReference) body.order_reference = amount.orderReference;
  await runOperation({
    title: t("title_earn", { amount: formatCents(amount.cents, language) }),
    path: `${STORE}/points/earn`,
    body,
    success: (data) => t("success_earn", { points: formatNumber(data.points_earned) }),
  });
});

function redeemReward(reward) {
  return runOperation({
    title: t("title_redeem", { reward: reward.name, points: formatNumber(reward.points_required) }),
    path: `${STORE}/points/redeem`,
    body: { card_id: cardId(), reward_id: reward.id },
    success: (data) => t("success_redeem", { reward: data.reward_name, points: formatNumber(data.points_spent) }),
  });
}

$("action-void").addEventListener("click", async () => {
  const last = lastVoidable();
  if (!last) {
    say(t("void_nothing"), "error");
    return;
  }
  const isStamp = last.type === "STAMP_EARNED";
  const text = isStamp
    ? t("void_stamp", { time: formatTime(last.created_at) })
    : t("void_points", {
        points: formatNumber(last.points_delta),
        time: formatTime(last.created_at),
        amount: last.purchase_amount_cents ? formatCents(last.purchase_amount_cents, language) : "",
      });
  if (!(await confirmAction(t("title_void"), text))) return;
  await runOperation({
    title: t("title_void"),
    path: `${STORE}/${isStamp ? "stamp" : "points"}/void`,
    body: { card_id: cardId(), original_transaction_id: last.id },
    success: (data) => {
      if (isStamp) return t("success_void_stamps", { count: data.stamps_voided });
      const key = data.points_voided < last.points_delta ? "success_void_points_partial" : "success_void_points";
      return t(key, { points: formatNumber(data.points_voided) });
    },
  });
});

$("card-reload").addEventListener("click", () => openCard({ cardId: cardId() }));
$("card-done").addEventListener("click", () => {
  state.view = null;
  $("success").hidden = true;
  clearStatus();
  show("find");
});

// --- Enrollment -----------------------------------------------------------------------------------------------

$("enroll-start").addEventListener("click", () => {
  $("enroll-form").reset();
  $("enroll-language").value = language;
  $("enroll-error").hidden = true;
  clearStatus();
  show("enroll");
});
$("enroll-cancel").addEventListener("click", () => show("find"));

function enrollError(text) {
  $("enroll-error").textContent = text;
  $("enroll-error").hidden = false;
}

$("enroll-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (state.busy) return;
  $("enroll-error").hidden = true;
  const email = $("enroll-email").value.trim();
  if (!email || !$("enroll-email").checkValidity()) {
    enrollError(errorText({ code: "VALIDATION_ERROR" }));
    $("enroll-email").focus();
    return;
  }
  if (!$("enroll-terms").checked) {
    enrollError(t("enroll_terms_needed"));
    $("enroll-terms").focus();
    return;
  }
  const birthdayDay = $("enroll-birthday-day").value;
  const birthdayMonth = $("enroll-birthday-month").value;
  if (Boolean(birthdayDay) !== Boolean(birthdayMonth)) {
    enrollError(t("enroll_birthday_both"));
    $(birthdayDay ? "enroll-birthday-month" : "enroll-birthday-day").focus();
    return;
  }
  const body = {
    email,
    full_name: $("enroll-name").value.trim(),
    phone: $("enroll-phone").value.trim(),
    language: $("enroll-language").value,
    marketing_consent: $("enroll-marketing").checked,
  };
  if (birthdayDay) {
    body.birthday_day = Number(birthdayDay);
    body.birthday_month = Number(birthdayMonth);
  }
  setBusy(true);
  try {
    const { data } = await api.post(`${STORE}/cards/enroll`, body);
    setBusy(false);
    showEnrolled(data);
  } catch (error) {
    setBusy(false);
    if (error instanceof UncertainOutcome) {
      show("find");
      showGaveUp(() => openCard({ query: email }));
      $("gave-up").hidden = false;
      return;
    }
    if (error instanceof ApiError && error.status === 401) return;
    if (error.code === "ALREADY_ENROLLED" && error.details.card_id) {
      await openCard({ cardId: error.details.card_id });
      say(t("already_enrolled_open"));
      return;
    }
    enrollError(errorText(error));
  }
});

async function showEnrolled(card) {
  state.enrolled = card;
  const link = $("enrolled-link");
  link.textContent = card.card_url || "";
  link.href = card.card_url || "#";
  const box = $("enrolled-qr");
  box.replaceChildren();
  if (card.card_url) {
    const { qrSvg } = await import("./qr-image.js");
    box.append(qrSvg(card.card_url, t("enrolled", { name: card.customer.full_name || card.customer.email })));
  }
  say(t("enrolled", { name: card.customer.full_name || card.customer.email }), "success");
  show("enrolled");
}

$("enrolled-open").addEventListener("click", () => openCard({ cardId: state.enrolled.id }));
$("enrolled-done").addEventListener("click", () => {
  clearStatus();
  show("find");
});

// --- Start ------------------------------------------------------------------------------------------------------

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register(config.serviceWorker).catch(() => {
    // Without a service worker the till still works; it just is not kept for offline start.
  });
}

$("sign-in-store").value = localStorage.getItem(STORE_CODE_KEY) || "";
if (state.session) {
  startSession();
} else {
  localStorage.removeItem(SESSION_KEY); // an expired token is of no use
  show("sign-in");
}
document.body.classList.add("is-ready");
