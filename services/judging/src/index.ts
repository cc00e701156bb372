export {
  judgeAnswers, exactAgreement, structuredAgreement, embeddingAgreement, pairwisePreference, parsePreference, pairwiseMessages,
  JUDGE_METHODS, PAIRWISE_SYSTEM, PAIRWISE_PROMPT_VERSION,
  type ChatPort, type TextEmbedder, type JudgeMethod, type Judgement, type JudgeOptions, type Preference, type PairwiseOptions, type PairwiseResult,
} from "./judge.ts";
