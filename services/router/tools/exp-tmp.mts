import { loadEvalSet } from "/work/wt/router/services/router/src/eval/dataset.ts";
import { embedSets } from "/work/wt/router/services/router/tools/semantic-data.ts";
import { cvScores, learnedScorer, knnScorer, learn } from "/work/wt/router/services/router/src/eval/semantic.ts";
import { scoreWithWeights } from "/work/wt/router/services/router/src/semantic/model.ts";
import { strategyResult } from "/work/wt/router/services/router/src/eval/evaluate.ts";
import { lengthScores } from "/work/wt/router/services/router/src/eval/strategies.ts";
const D = "/work/shared/data/";
const sets = [
  loadEvalSet(D + "router_routellm_gsm8k/dev.jsonl"),
  loadEvalSet(D + "router_routellm_mtbench/dev.jsonl"),
  loadEvalSet(D + "router_zeroeval_gsm8k/dev.jsonl", { strong: "claude-3-5-sonnet-20240620", weak: "claude-3-haiku-20240307" }),
  ...(process.env.MMLU ? [loadEvalSet(D + "router_routellm_mmlu/dev.jsonl")] : []),
];
const { sets: es } = await embedSets(sets);
const conf = JSON.parse(process.argv[2] ?? "{}");
for (const e of es) {
  const m = (s: number[]) => { const r = strategyResult(e.set, "x", s).metrics; return `${r.apgr?.toFixed(3)}/${r.cpt50?.toFixed(3)}`; };
  const line = [e.set.name, e.set.rows.length, "len", m(lengthScores(e.set))];
  const rank = (xs: number[]) => { const o = xs.map((x, i) => [x, i]).sort((a, b) => a[0] - b[0]); const r = new Array(xs.length); o.forEach(([, i], k) => (r[i] = k / xs.length)); return r; };
  for (const seed of [0, 1, 2]) {
    const k = cvScores(e, 5, seed, knnScorer(e, conf.k ?? 20));
    const l = conf.pool ? cvScores(e, 5, seed, (tr, te) => { const w = learn([{ e, idx: tr }, ...es.filter((o) => o !== e && o.set.benchmark !== e.set.benchmark).map((o) => ({ e: o, idx: o.set.rows.map((_, i) => i) }))], conf); return te.map((i) => scoreWithWeights(w, e.vectors[i], e.dense[i])); }) : cvScores(e, 5, seed, learnedScorer(e, conf));
    const rk = rank(k), rl = rank(l), rlen = rank(lengthScores(e.set));
    line.push("knn", m(k), "lr", m(l), "ens", m(rk.map((x, i) => x + rl[i])), "ens3", m(rk.map((x, i) => x + rl[i] + 0.5 * rlen[i])));
  }
  console.log(line.join(" "));
}
