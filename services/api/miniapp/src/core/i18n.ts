// Translations and formatting. Every user-visible string comes from the catalogues
// (src/i18n/<lang>/*.json, merged at build time); a test fails when a key is missing in one
// language. Amounts, dates and plurals are formatted with Intl for the current language:
// "1 000,00 ₽" / "1,000.00 RUB", "3 должника" / "3 debtors".
import catalogues from "virtual:catalogues";
import sentences from "virtual:server-sentences";

export const LANGUAGES = ["ru", "en"] as const;
export type Lang = (typeof LANGUAGES)[number];

let current: Lang = "en";

export function lang(): Lang {
  return current;
}

export function setLang(l: Lang): void {
  current = l;
  document.documentElement.lang = l;
}

/** Our language for a Telegram `language_code` or a stored language ("ru-RU" -> "ru"), or null. */
export function supported(code: string | null | undefined): Lang | null {
  if (!code) return null;
  const base = code.trim().toLowerCase().replace("_", "-").split("-")[0];
  return (LANGUAGES as readonly string[]).includes(base) ? (base as Lang) : null;
}

type Params = Record<string, string | number>;

function fill(text: string, params?: Params): string {
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

/** The text of `key` in the current language (the key itself if it is missing: visible, and the
 * catalogue test fails on it). */
export function t(key: string, params?: Params): string {
  const value = catalogues[current]?.[key] ?? catalogues.en?.[key];
  if (typeof value === "string") return fill(value, params);
  if (value && typeof value === "object" && params && typeof params.n === "number") {
    return plural(key, params.n, params);
  }
  return key;
}

/** A counted phrase: plural("dashboard.debtors_count", 3) -> "3 должника" / "3 debtors". */
export function plural(key: string, n: number, params?: Params): string {
  const forms = catalogues[current]?.[key] ?? catalogues.en?.[key];
  if (!forms || typeof forms !== "object") return key;
  const category = new Intl.PluralRules(current).select(n);
  const text = forms[category] ?? forms.other ?? "";
  return fill(text, { ...params, n: number(n) });
}

// ---------------------------------------------------------------- the server's sentences

// The API writes its sentences in English: an error's `detail`, a job's `error`, a bank line's
// `note`, an expense's unallocated `reason`. Each is a key of the server's catalogue
// (kopilka/i18n/catalogues), filled in where it has placeholders ("Period 7 not found" is
// "Period {period_id} not found"); serverText says it in the current language with that catalogue,
// by the same rule as the bot (kopilka.i18n.translate). A sentence it does not know stays English.
const PARTS = "; ";
// the placeholders whose values are sentences too; every other value (a name, a number, a date)
// stays as it is
const SENTENCE_PARAMS = new Set(["rule", "reason", "note", "meters"]);
const PLACEHOLDER = /\{(\w+)\}/g;
let templates: [RegExp, string][] | null = null;

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function serverTemplates(): [RegExp, string][] {
  if (templates) return templates;
  const found: [RegExp, string][] = [];
  // every language has the same keys (the English sentences); English itself is not shipped
  for (const key of Object.keys(Object.values(sentences)[0] ?? {})) {
    if (!key.includes("{")) continue;
    const seen = new Set<string>();
    let pattern = "";
    let at = 0;
    for (const m of key.matchAll(PLACEHOLDER)) {
      const name = m[1];
      // a sentence may hold several parts; a name, a number or a date is one part
      const value = SENTENCE_PARAMS.has(name) ? "[\\s\\S]+?" : "(?:(?!; )[\\s\\S])+?";
      pattern += escapeRe(key.slice(at, m.index)) + (seen.has(name) ? `\\k<${name}>` : `(?<${name}>${value})`);
      seen.add(name);
      at = (m.index ?? 0) + m[0].length;
    }
    found.push([new RegExp(`^${pattern}${escapeRe(key.slice(at))}$`), key]);
  }
  found.sort((a, b) => b[1].length - a[1].length);
  templates = found;
  return found;
}

function sentence(text: string, words: Record<string, string>): string | null {
  if (typeof words[text] === "string") return words[text];
  for (const [re, key] of serverTemplates()) {
    const m = re.exec(text);
    if (!m) continue;
    const params: Params = {};
    for (const [name, value] of Object.entries(m.groups ?? {})) {
      params[name] = SENTENCE_PARAMS.has(name) ? translated(value, words) : value;
    }
    return fill(words[key] ?? key, params);
  }
  return null;
}

function translated(text: string, words: Record<string, string>): string {
  const whole = sentence(text, words);
  if (whole !== null) return whole;
  if (!text.includes(PARTS)) return text;
  return text
    .split(PARTS)
    .map((part) => sentence(part, words) ?? part)
    .join(PARTS);
}

/** A sentence of the server, in the current language ("Period 7 not found" -> "Период 7 не найден"). */
export function serverText(text: string | null | undefined): string {
  if (!text) return "";
  const words = sentences[current];
  if (!words || current === "en") return text;
  return translated(text, words);
}

export function number(n: number): string {
  return new Intl.NumberFormat(current).format(n);
}

// ---------------------------------------------------------------- money (exact: decimal strings)

const EXPONENTS: Record<string, number> = {};

export function exponent(currency: string): number {
  if (!(currency in EXPONENTS)) {
    EXPONENTS[currency] =
      new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions()
        .maximumFractionDigits ?? 2;
  }
  return EXPONENTS[currency];
}

/** "1234.5" -> 123450n minor units (no floating point). */
export function toMinor(amount: string, currency: string): bigint {
  const exp = exponent(currency);
  const text = String(amount).trim();
  const negative = text.startsWith("-");
  const [whole, fraction = ""] = text.replace(/^[-+]/, "").split(".");
  const digits = (whole || "0") + fraction.padEnd(exp, "0").slice(0, exp);
  const v = BigInt(digits);
  return negative ? -v : v;
}

export function fromMinor(minor: bigint, currency: string): string {
  const exp = exponent(currency);
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(exp + 1, "0");
  const whole = digits.slice(0, digits.length - exp);
  const fraction = exp ? "." + digits.slice(digits.length - exp) : "";
  return (negative ? "-" : "") + whole + fraction;
}

/** An amount for a person: "1 000,00 ₽" (ru), "1,000.00 RUB" (en). The API's decimal string is
 * handed to Intl as a string, so no digit is lost to floating point. */
export function money(amount: string, currency: string): string {
  const exp = exponent(currency);
  const value = String(amount) as unknown as number; // Intl formats decimal strings exactly
  if (current === "ru") {
    return new Intl.NumberFormat("ru", {
      style: "currency",
      currency,
      currencyDisplay: "narrowSymbol",
      minimumFractionDigits: exp,
      maximumFractionDigits: exp,
    }).format(value);
  }
  const digits = new Intl.NumberFormat("en", {
    minimumFractionDigits: exp,
    maximumFractionDigits: exp,
  }).format(value);
  return digits + " " + currency;
}

/** "2025-11-05" -> "5 ноября 2025 г." / "5 November 2025" (a calendar day: no time zone shift). */
export function day(iso: string | null | undefined): string {
  if (!iso) return "";
  const [y, m, d] = iso.slice(0, 10).split("-").map(Number);
  return new Intl.DateTimeFormat(current, {
    day: "numeric",
    month: "long",
    year: "numeric",
    timeZone: "UTC",
  }).format(new Date(Date.UTC(y, m - 1, d)));
}

/** A range of days, as short as the language says it: "1–30 ноября 2026 г." / "November 1 – 30, 2026". */
export function dayRange(from: string, to: string): string {
  const at = (iso: string) => {
    const [y, m, d] = iso.slice(0, 10).split("-").map(Number);
    return new Date(Date.UTC(y, m - 1, d));
  };
  const f = new Intl.DateTimeFormat(current, { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
  return f.formatRange(at(from), at(to));
}

/** A moment (ISO with time zone) in the user's own time zone. */
export function moment(iso: string | null | undefined): string {
  if (!iso) return "";
  return new Intl.DateTimeFormat(current, { dateStyle: "medium", timeStyle: "short" }).format(
    new Date(iso),
  );
}

/** A user's decimal input ("1 000,50", "1000.5") as the API's decimal string, or null. */
export function parseAmount(text: string): string | null {
  const v = text.replace(/[\s\u00a0\u2009\u202f]/g, "").replace(",", ".");
  if (!/^\d+(\.\d+)?$/.test(v)) return null;
  return v;
}
