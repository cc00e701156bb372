import { electronicFormatIBAN, isValidIBAN } from "ibantools";
import { parsePhoneNumberFromString, type CountryCode } from "libphonenumber-js/max";
import type { RedactionPolicy } from "./policy.ts";

/*
 * PII redaction of captured prompts and answers, before anything leaves the distiller. Order
 * matters: custom rules first (a team's own identifiers win), then e-mail addresses (their
 * digits must not be read as phone numbers), IBANs, card numbers and phone numbers last. Each
 * span becomes a fixed placeholder, so fine-tuning data keeps the shape of the text. Phone numbers
 * are the valid ones by libphonenumber's metadata: international (+…) anywhere, national format
 * in the policy's phoneCountry.
 */

export const PLACEHOLDERS = { email: "[EMAIL]", phone: "[PHONE]", card: "[CARD]", iban: "[IBAN]" } as const;

export interface Redacted {
  readonly text: string;
  /** Spans replaced per rule (email, phone, card, iban, custom rule names); rules that matched nothing are absent. */
  readonly counts: Readonly<Record<string, number>>;
}

// Practical e-mail shape (RFC 5322's full grammar admits strings no one sends): local@domain.tld.
const EMAIL = /[\p{L}\p{N}.!#$%&'*+/=?^_`{|}~-]+@[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?)*\.\p{L}{2,}/gu;
// Two letters, two check digits, then 11-30 alphanumerics, optionally in groups of four.
const IBAN_CANDIDATE = /\b[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]){11,30}\b/g;
// Phone-number-looking spans (an optional +, digits with spaces, dots, dashes, brackets), checked
// one by one with libphonenumber: scanning only these is ~50x faster than its full-text matcher.
const PHONE_CANDIDATE = /(?<![\w+])(?:\+|\(\s*)?\d[\d ().-]{5,22}\d(?!\w)/g;
// 13-19 digits, optionally separated by single spaces or dashes, not inside a longer number.
const CARD_CANDIDATE = /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g;

/** The Luhn (mod 10) check every payment card number passes. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (d < 0 || d > 9) return false;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return digits.length > 0 && sum % 10 === 0;
}

function replaceAll(text: string, regex: RegExp, keep: (match: string) => boolean, replacement: string): { text: string; n: number } {
  let n = 0;
  const out = text.replace(regex, (m) => {
    if (!keep(m)) return m;
    n++;
    return replacement;
  });
  return { text: out, n };
}

export type Redactor = (text: string) => Redacted;

/** A redactor for one use case's rules. Pure: the same text always gives the same result. */
export function createRedactor(policy: RedactionPolicy): Redactor {
  const country = (policy.phoneCountry ?? undefined) as CountryCode | undefined;
  return (input) => {
    const counts: Record<string, number> = {};
    const add = (rule: string, n: number) => {
      if (n > 0) counts[rule] = (counts[rule] ?? 0) + n;
    };
    let text = input;
    for (const rule of policy.custom) {
      const r = replaceAll(text, rule.regex, () => true, rule.replacement);
      text = r.text;
      add(rule.name, r.n);
    }
    if (policy.email) {
      const r = replaceAll(text, EMAIL, () => true, PLACEHOLDERS.email);
      text = r.text;
      add("email", r.n);
    }
    if (policy.iban) {
      const r = replaceAll(text, IBAN_CANDIDATE, (m) => isValidIBAN(electronicFormatIBAN(m) ?? ""), PLACEHOLDERS.iban);
      text = r.text;
      add("iban", r.n);
    }
    if (policy.card) {
      const r = replaceAll(text, CARD_CANDIDATE, (m) => luhnValid(m.replace(/[ -]/g, "")), PLACEHOLDERS.card);
      text = r.text;
      add("card", r.n);
    }
    if (policy.phone) {
      const r = replaceAll(text, PHONE_CANDIDATE, (m) => parsePhoneNumberFromString(m, country)?.isValid() === true, PLACEHOLDERS.phone);
      text = r.text;
      add("phone", r.n);
    }
    return { text, counts };
  };
}

/** Add the counts of several redactions. */
export function sumCounts(parts: readonly Readonly<Record<string, number>>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of parts) for (const [k, v] of Object.entries(p)) out[k] = (out[k] ?? 0) + v;
  return out;
}
