import type { RouteInput } from "../input.ts";
import type { CompiledRule } from "../policy.ts";

export interface RulesResult {
  /** baseScore plus every matching rule's `add`, clamped to 0..1. */
  readonly score: number;
  /** The tier named by the first matching forcing rule, if any. */
  readonly forcedTier: string | null;
  readonly matched: readonly string[];
}

export function ruleMatches(rule: CompiledRule, input: RouteInput): boolean {
  const text = rule.in === "last" ? input.lastUser : input.userText;
  if (rule.minChars !== null && input.lastUser.length < rule.minChars) return false;
  if (rule.maxChars !== null && input.lastUser.length > rule.maxChars) return false;
  if (rule.minTurns !== null && input.userTurns < rule.minTurns) return false;
  if (rule.hasContext !== null && (input.contextChunks > 0) !== rule.hasContext) return false;
  if (rule.hasTools !== null && (input.usesTools ?? false) !== rule.hasTools) return false;
  if (rule.jsonOutput !== null && (input.jsonOutput ?? false) !== rule.jsonOutput) return false;
  if (rule.tags) for (const [k, v] of Object.entries(rule.tags)) if (input.tags[k] !== v) return false;
  if (rule.keywords && !rule.keywords.test(text)) return false;
  if (rule.matcher && !rule.matcher.test(text)) return false;
  return true;
}

/** Rules add up to a difficulty score; a forcing rule (first in file order) picks the tier outright. */
export function scoreRules(rules: readonly CompiledRule[], baseScore: number, input: RouteInput): RulesResult {
  let score = baseScore;
  let forcedTier: string | null = null;
  const matched: string[] = [];
  for (const rule of rules) {
    if (!ruleMatches(rule, input)) continue;
    matched.push(rule.name);
    if (rule.tier !== null) forcedTier ??= rule.tier;
    else score += rule.add;
  }
  return { score: Math.min(1, Math.max(0, score)), forcedTier, matched };
}
