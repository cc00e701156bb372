import { describe, expect, it } from "vitest";
import type { RedactionPolicy } from "./policy.ts";
import { createRedactor, luhnValid } from "./redact.ts";

const all: RedactionPolicy = { email: true, phone: true, phoneCountry: "US", card: true, iban: true, custom: [] };

describe("PII redaction", () => {
  it("replaces e-mail addresses, phone numbers, card numbers and IBANs with placeholders and counts them", () => {
    const r = createRedactor(all)(
      "I'm jane.doe+bank@example.co.uk, call +44 20 7946 0958 or (415) 555-2671. Card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00.",
    );
    expect(r.text).toBe("I'm [EMAIL], call [PHONE] or [PHONE]. Card [CARD], IBAN [IBAN].");
    expect(r.counts).toEqual({ email: 1, phone: 2, card: 1, iban: 1 });
  });

  it("keeps numbers that are not PII: failed checksums, dates, amounts, order ids", () => {
    const text = "Order 4111 1111 1111 1112 (not Luhn), IBAN GB82WEST12345698765431 (bad check), on 2026-11-26, total $1,234.56, ticket 12345.";
    expect(createRedactor(all)(text)).toEqual({ text, counts: {} });
  });

  it("does not read an e-mail address's digits as a phone number", () => {
    expect(createRedactor(all)("write to 4155552671@example.com").text).toBe("write to [EMAIL]");
  });

  it("applies custom rules first, with their own placeholder, and honours switched-off rules", () => {
    const redact = createRedactor({ ...all, email: false, custom: [{ name: "account", regex: /\bacct[ #:-]*\d{6,12}\b/giu, replacement: "[ACCOUNT]" }] });
    const r = redact("ACCT 00123456 belongs to jane@example.com");
    expect(r.text).toBe("[ACCOUNT] belongs to jane@example.com");
    expect(r.counts).toEqual({ account: 1 });
  });

  it("finds national-format numbers in the configured region only", () => {
    expect(createRedactor(all)("call 020 7946 0958").text).toBe("call 020 7946 0958");
    expect(createRedactor({ ...all, phoneCountry: "GB" })("call 020 7946 0958").text).toBe("call [PHONE]");
  });

  it("checks card numbers with Luhn", () => {
    expect(luhnValid("4111111111111111")).toBe(true);
    expect(luhnValid("5500005555555559")).toBe(true);
    expect(luhnValid("4111111111111112")).toBe(false);
    expect(luhnValid("")).toBe(false);
  });
});
