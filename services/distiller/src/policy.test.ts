import { describe, expect, it } from "vitest";
import { catalog } from "@costwise/pricing";
import { DEFAULT_DISTILL_POLICY_FILE, loadDistillPolicy, parseDistillPolicy } from "./policy.ts";

const parse = (yaml: string) => parseDistillPolicy(yaml, "p.yaml", catalog);

describe("distillation policy", () => {
  it("loads the shipped policy with defaults merged per use case", () => {
    const p = loadDistillPolicy(DEFAULT_DISTILL_POLICY_FILE, catalog);
    const support = p.useCases.get("support-chat")!;
    expect(support.capture).toMatchObject({ enabled: true, sampleRate: 0.2, redaction: { email: true, phone: true, card: true, iban: true, phoneCountry: "US" } });
    expect(support.capture.redaction.custom.map((r) => r.name)).toEqual(["account"]);
    expect(support.candidate?.id).toBe("gpt-4o-mini");
    expect(support.readiness).toEqual({ minSamples: 300, minAgreementLower: 0.85 });
    expect(p.useCases.get("kb-answers")).toMatchObject({ candidate: null, fineTuneBase: { id: "gpt-4o-mini" }, shadow: { scorer: "embedding" } });
  });

  it("maps a fine-tuned candidate to its base model at OpenAI's fine-tuned inference prices", () => {
    const p = parse(`version: 1\nuseCases:\n  chat:\n    candidate: "ft:gpt-4o-mini-2024-07-18:acme:support:B3x9"\n`);
    const uc = p.useCases.get("chat")!;
    expect(uc.candidate).toMatchObject({ id: "ft:gpt-4o-mini-2024-07-18:acme:support:B3x9", provider: "openai", inputPerMTok: "0.30", outputPerMTok: "1.20" });
    expect(uc.fineTuneBase?.id).toBe("gpt-4o-mini");
  });

  it("names every problem with its path", () => {
    const bad = `version: 1
useCases:
  a:
    candidate: gpt-9
    enabled: true
  b:
    candidate: "ft:claude-haiku-4-5:acme::x"
    capture: { redaction: { custom: [{ name: acct, pattern: "(" }] } }
    shadow: { scorer: llm }
`;
    expect(() => parse(bad)).toThrowError(
      /useCases\.a\.candidate: model "gpt-9" is not a chat model[\s\S]*useCases\.b\.capture\.redaction\.custom\[0\]\.pattern: invalid regular expression[\s\S]*useCases\.b\.candidate: fine-tuned id[\s\S]*useCases\.b\.shadow\.judgeModel: the "llm" scorer needs a judgeModel/,
    );
    expect(() => parse("version: 1\nuseCases:\n  a:\n    enabled: true\n")).toThrowError(/useCases\.a\.enabled: a use case can only be enabled for the switch with a candidate model/);
    expect(() => parse("version: 1\nuseCases:\n  a:\n    shadow: { sampleRate: 2 }\n")).toThrowError(/useCases\.a\.shadow\.sampleRate/);
    // A Wilson lower bound never reaches 1, so such a bar could never be met.
    expect(() => parse("version: 1\nuseCases:\n  a:\n    readiness: { minAgreementLower: 1 }\n")).toThrowError(/useCases\.a\.readiness\.minAgreementLower/);
    expect(() => parse("version: 1\nuseCases: [")).toThrowError(/not valid YAML/);
  });
});
