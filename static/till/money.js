// Amounts typed on the keypad, kept as text and turned into integer cents without floating point,
// and the card number check digit, so a mistyped number never leaves the till.

export const CARD_NUMBER_LENGTH = 12;
const MAX_WHOLE_DIGITS = 6; // 999,999.99 €: more than any purchase at a counter

// The keypad's text after one key: digits, one decimal separator, at most two decimals.
export function amountAfterKey(text, key) {
  if (key === "back") return text.slice(0, -1);
  if (key === "clear") return "";
  if (key === "decimal") {
    if (text.includes(".")) return text;
    return (text === "" ? "0" : text) + ".";
  }
  if (!/^[0-9]$/.test(key)) return text;
  const [whole, fraction] = text.split(".");
  if (fraction !== undefined) return fraction.length >= 2 ? text : text + key;
  if (whole === "0") return key; // no leading zeros
  if (whole.length >= MAX_WHOLE_DIGITS) return text;
  return text + key;
}

// "12.5" → 1250, "0.05" → 5, "" → null: string arithmetic, exact for every amount.
export function amountToCents(text) {
  if (!/^[0-9]+(\.[0-9]{0,2})?$/.test(text)) return null;
  const [whole, fraction = ""] = text.split(".");
  const cents = Number(whole) * 100 + Number((fraction + "00").slice(0, 2));
  return cents > 0 ? cents : null;
}

export function formatCents(cents, language) {
  return new Intl.NumberFormat(language, { style: "currency", currency: "EUR" }).format(cents / 100);
}

// What the keypad shows while typing: the text with the language's decimal separator.
export function amountDisplay(text, language) {
  const separator = decimalSeparator(language);
  const shown = text === "" ? "0" : text.replace(".", separator);
  return `${shown} €`;
}

export function decimalSeparator(language) {
  const part = new Intl.NumberFormat(language).formatToParts(1.5).find((item) => item.type === "decimal");
  return part ? part.value : ".";
}

export function luhnCheckDigit(digits) {
  let total = 0;
  [...digits].reverse().forEach((char, index) => {
    let value = Number(char);
    if (index % 2 === 0) {
      value *= 2;
      if (value > 9) value -= 9;
    }
    total += value;
  });
  return String((10 - (total % 10)) % 10);
}

export function isValidCardNumber(value) {
  return (
    value.length === CARD_NUMBER_LENGTH && /^[0-9]+$/.test(value) && luhnCheckDigit(value.slice(0, -1)) === value.slice(-1)
  );
}

// Spaces and dashes as printed on a card ("4829 1573 6204") are dropped; anything else is not a number.
export function typedCardNumber(text) {
  const compact = text.replace(/[\s-]/g, "");
  return /^[0-9]+$/.test(compact) ? compact : null;
}
