// The staff's language: strings rendered by Django into the page (one JSON block), times and numbers by Intl.

const strings = JSON.parse(document.getElementById("till-strings").textContent);
export const config = JSON.parse(document.getElementById("till-config").textContent);
export const language = config.language;

// "%(name)s" placeholders, as in the gettext catalogs.
export function format(template, values = {}) {
  return template.replace(/%\((\w+)\)s/g, (match, name) => (name in values ? String(values[name]) : match));
}

export function t(key, values) {
  const template = strings.messages[key];
  return template === undefined ? key : format(template, values);
}

export function transactionType(type) {
  return strings.transaction_types[type] || type;
}

export function formatTime(isoText) {
  const date = new Date(isoText);
  return new Intl.DateTimeFormat(language, { hour: "2-digit", minute: "2-digit" }).format(date);
}

export function formatDateTime(isoText) {
  const date = new Date(isoText);
  const sameDay = new Date().toDateString() === date.toDateString();
  const options = sameDay ? { hour: "2-digit", minute: "2-digit" } : { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
  return new Intl.DateTimeFormat(language, options).format(date);
}

export function formatNumber(value) {
  return new Intl.NumberFormat(language).format(value);
}

export function minutesUntil(isoText) {
  return Math.max(1, Math.ceil((new Date(isoText).getTime() - Date.now()) / 60000));
}

// The message for an API error, in the staff's language, with what its details say. Never a raw code.
export function errorText(error, { formatAmount = (cents) => String(cents) } = {}) {
  const code = error && error.code ? error.code : "UNKNOWN";
  const details = (error && error.details) || {};
  const template = strings.errors[code] || strings.errors.UNKNOWN;
  switch (code) {
    case "STAMP_COOLDOWN": {
      const until = details.next_stamp_available_at;
      const minutes = details.retry_after_seconds ? Math.ceil(details.retry_after_seconds / 60) : until ? minutesUntil(until) : 1;
      return format(template, { minutes, time: until ? formatTime(until) : "" });
    }
    case "DAILY_STAMP_LIMIT":
      return format(template, { count: details.stamps_today ?? "", max: details.max_daily_stamps ?? "" });
    case "STAFF_PIN_INVALID":
      return Number.isInteger(details.attempts_left)
        ? `${template} ${t("pin_attempts_left", { count: details.attempts_left })}`
        : template;
    case "STAFF_PIN_LOCKED":
      return format(template, { time: details.locked_until ? formatTime(details.locked_until) : "" });
    case "THROTTLED":
      return format(template, { seconds: details.retry_after_seconds ?? error.retryAfterSeconds ?? 60 });
    case "BELOW_MINIMUM_PURCHASE":
      return format(template, { amount: details.minimum_purchase_cents ? formatAmount(details.minimum_purchase_cents) : "" });
    default:
      return template;
  }
}
