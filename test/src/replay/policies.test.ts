import { catalog } from "@costwise/pricing";
import { describe, expect, it } from "vitest";
import { loadPolicies as loadCachePolicies, policyFor as cachePolicyFor } from "../../../services/cache/src/policy.ts";
import { loadPolicyFile as loadCompressionPolicy } from "../../../services/compression/src/policy.ts";
import { loadPolicy as loadRouterPolicy } from "../../../services/router/src/policy.ts";
import { REPLAY_POLICIES } from "./run.ts";
import { USE_CASES } from "./workload.ts";

// The replay hands these files to the real services; parse them with the services' own loaders
// so a format change shows here rather than as a service that will not start.
describe("replay policy files", () => {
  it("are accepted by the cache, router and compression services", () => {
    const cache = loadCachePolicies(REPLAY_POLICIES.cache);
    expect(cachePolicyFor(cache, USE_CASES.cache.useCase)).toMatchObject({ mode: "semantic" });
    const router = loadRouterPolicy(REPLAY_POLICIES.router, { catalog });
    expect([...router.useCases.keys()].sort()).toEqual([USE_CASES.general.useCase, USE_CASES.math.useCase].sort());
    expect(loadCompressionPolicy(REPLAY_POLICIES.compression)).toBeTruthy();
  });
});
