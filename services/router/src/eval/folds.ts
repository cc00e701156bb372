import { fnv1a32 } from "../hash.ts";

/**
 * k folds by group: every row of a group (an MT-bench question's two turns, a repeated MMLU
 * question) lands in the same fold, so no fold is scored by a model that saw its group.
 * Groups are ordered by a seeded hash and dealt round-robin, which keeps fold sizes even and
 * the assignment stable.
 */
export function groupFolds(groupIds: readonly string[], k: number, seed = 0): number[] {
  if (k < 2) throw new RangeError("need at least 2 folds");
  const groups = [...new Set(groupIds)].sort((a, b) => fnv1a32(a, seed) - fnv1a32(b, seed) || (a < b ? -1 : 1));
  if (groups.length < k) throw new RangeError(`only ${groups.length} groups for ${k} folds`);
  const foldOf = new Map(groups.map((g, i) => [g, i % k]));
  return groupIds.map((g) => foldOf.get(g)!);
}
