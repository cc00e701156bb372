import { describe, expect, it } from "vitest";
import { compareSalient, SALIENT_KINDS, salientDetails, type SalientKind, memoisedSalientDetails } from "./guard.ts";

const all = [...SALIENT_KINDS];
const verdict = (query: string, cached: string, kinds: readonly SalientKind[] = all) => compareSalient(salientDetails(query), salientDetails(cached), kinds);

describe("salient-detail guard", () => {
  it.each<[string, string, string]>([
    // [query, cached query, why they must not share an answer]
    ["refund order 123", "refund order 456", "order numbers"],
    ["Please refund order #123", "refund order #456 please", "order numbers written with #"],
    ["what's the status of order AB-1234", "what's the status of order AB-9876", "alphanumeric order ids"],
    ["close account 12-345-678", "close account 12-345-679", "dashed account numbers"],
    ["refund my order", "refund order 123", "a detail on the cached side only (its answer may quote it)"],
    ["refund order 123", "refund my order", "a detail on the new side only"],
    ["I was charged $45.50 twice", "I was charged $12.00 twice", "amounts"],
    ["send 100 EUR to my sister", "send 100 USD to my sister", "currencies of equal amounts"],
    ["can I pay in euros?", "can I pay in dollars?", "bare currencies"],
    ["I was charged 2 euros", "I was charged 20 euros", "amounts written in words"],
    ["cancel my booking on March 3rd", "cancel my booking on March 4th", "dates"],
    ["wake me up at 7 am", "wake me up at 8 am", "times"],
    ["what did I spend yesterday", "what did I spend tomorrow", "relative dates"],
    ["reset the password for anna@example.com", "reset the password for bob@example.com", "emails"],
    ["is https://example.com/a safe", "is https://example.com/b safe", "urls"],
    ["transfer money to John Smith", "transfer money to Mary Jones", "people"],
    ["do you operate in Germany", "do you operate in France", "places"],
    ["I want to cancel my subscription", "I don't want to cancel my subscription", "negation"],
    ["my card was not charged", "my card was charged", "negation with not"],
    ["I need two new cards", "I need three new cards", "counts in words"],
    ["add milk to my shopping list", "remove milk from my shopping list", "opposite actions"],
    ["turn on the kitchen lights", "turn off the kitchen lights", "on and off"],
    ["what's on my shopping list", "put milk on my shopping list", "asking about a thing and changing it"],
  ])("refuses %j for cached %j (%s)", (query, cached) => {
    const v = verdict(query, cached);
    expect(v.ok).toBe(false);
  });

  it.each<[string, string]>([
    ["refund order 123", "please refund my order 123"],
    ["Refund order #123", "refund order 123"],
    ["Where is my card?", "When will my card arrive?"],
    ["I was charged $5 twice", "why was I charged 5 dollars 2 times"],
    ["can I top up in euros", "is topping up in EUR possible"],
    ["I haven't received my card", "my card has not arrived"],
    ["what did I spend yesterday", "show yesterday's spending"],
    ["I need my card now", "I need my card"],
    ["cancel my order please", "I'd like to cancel my order"],
  ])("lets %j share %j's answer", (query, cached) => {
    expect(verdict(query, cached)).toEqual({ ok: true });
  });

  it("names the details that differ, both ways", () => {
    expect(verdict("refund order 123", "refund order 456")).toEqual({ ok: false, reason: "query has number:123; cached query has number:456" });
    expect(verdict("I want to cancel", "I don't want to cancel")).toEqual({ ok: false, reason: "negation differs (cached query is negated)" });
  });

  it("checks only the kinds the use case lists, and nothing with an empty list", () => {
    expect(verdict("I want to cancel", "I don't want to cancel", ["number"]).ok).toBe(true);
    expect(verdict("refund order 123", "refund order 456", ["negation", "entity"]).ok).toBe(true);
    expect(verdict("refund order 123", "refund order 456", []).ok).toBe(true);
    expect(verdict("refund order 123", "refund order 456", ["number"]).ok).toBe(false);
  });

  it("extracts each kind of detail once, in a stable order", () => {
    expect(salientDetails("Send $1,000 to bob@example.com on March 3rd for order AB-12, see https://x.io/t.")).toEqual({
      items: ["amount:usd:1000", "date:2000-3-3", "email:bob@example.com", "id:ab-12", "url:https://x.io/t"],
      negated: false,
    });
    expect(salientDetails("nothing to see")).toEqual({ items: [], negated: true });
  });
});

describe("memoised salient details", () => {
  it("gives what salientDetails gives, computed once per text, frozen so that no caller can change another's", () => {
    const details = memoisedSalientDetails(2);
    const q = "Refund order AB-1234 for John Smith, not the $20 one from 3 March";
    const first = details(q);
    expect(first).toEqual(salientDetails(q));
    expect(details(q)).toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first.items)).toBe(true);
    // Bounded: the oldest text is computed again once two others have been asked about.
    details("Where is my card?");
    details("Cancel my transfer to Alice");
    expect(details(q)).not.toBe(first);
    expect(details(q)).toEqual(first);
    const long = `Order 42 ${"x".repeat(2_100)}`;
    expect(details(long)).not.toBe(details(long));
  });
});
