export { DEFAULT_MODEL, defaultModelConfigSchema, withDefaultModel, targetModel, baselineModel, type DefaultModelConfig } from "./model.ts";
export { recordStage, chargeOverhead, chargeRequest } from "./stage.ts";
export { answer, fail, reject, rejectionReason, type Answer, type Failure, type Finished, type Finishing } from "./finish.ts";
export { promptTokenBound, promptTokensIfNeeded, providerUnknownModel, validateRequest, type Rejection, type ValidationInput } from "./validate.ts";
export { contractProblem, jsonSchemaProblem, MAX_STOP_SEQUENCES, MAX_TOOLS, type ContractProblem } from "./contract.ts";
