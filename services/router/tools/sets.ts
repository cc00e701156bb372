import { InvalidArgumentError } from "commander";
import { loadEvalSet, namedPair, type EvalSet } from "../src/eval/dataset.ts";

export interface SetOptions {
  readonly data: readonly string[];
  readonly pairs?: readonly string[] | undefined;
  readonly strong?: string | undefined;
  readonly weak?: string | undefined;
  readonly dropContaminated?: boolean | undefined;
}

/**
 * Router files as evaluation sets. Files that name their pair (the RouteLLM sets) use it; files
 * that name none (router_zeroeval_gsm8k: 42 models) need --strong/--weak or --pairs strong=weak,
 * one set per pair.
 */
export function loadSets(o: SetOptions): EvalSet[] {
  const pairs = (o.pairs ?? []).map((p) => {
    const [strong, weak] = p.split("=");
    if (!strong || !weak) throw new InvalidArgumentError(`--pairs expects strong=weak, got ${p}`);
    return { strong, weak };
  });
  if (o.strong && o.weak) pairs.push({ strong: o.strong, weak: o.weak });
  const dropContaminated = o.dropContaminated ?? false;
  const sets: EvalSet[] = [];
  for (const file of o.data) {
    if (namedPair(file) || pairs.length === 0) sets.push(loadEvalSet(file, { dropContaminated })); // throws for a file without a pair, naming its models
    else for (const p of pairs) {
      const s = loadEvalSet(file, { ...p, dropContaminated });
      sets.push({ ...s, name: `${s.name} (${p.strong} vs ${p.weak})` });
    }
  }
  return sets;
}
