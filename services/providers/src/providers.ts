import Anthropic from "@anthropic-ai/sdk";
import { findModel, requireModel, type ModelPrice, type Provider } from "@costwise/pricing";
import { ConfigError } from "@costwise/stream-runtime";
import OpenAI from "openai";
import pLimit, { type LimitFunction } from "p-limit";
import { buildAnthropicParams, parseAnthropicMessage } from "./anthropic-chat.ts";
import type { ProvidersConfig } from "./config.ts";
import { InvalidRequestError, mapSdkError, ProviderError, ProvidersClosedError, type MapContext } from "./errors.ts";
import { buildOpenAIChatParams, parseOpenAIChat, parseOpenAIEmbeddings, type ParsedChat } from "./openai-chat.ts";
import { PrefixSightings, planPromptCache } from "./prompt-cache.ts";
import { attemptWithRetries, type Attempted, type RetrySettings } from "./retry.ts";
import type { ChatRequest, ChatResult, EmbedRequest, EmbedResult, Providers, ProvidersDeps } from "./types.ts";

/** Sent instead of a key to the emulator, which accepts any; never a real credential. */
export const EMULATOR_API_KEY = "costwise-emulator";

const OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1";
const ANTHROPIC_DEFAULT_BASE_URL = "https://api.anthropic.com";

export interface Endpoints {
  openai: { baseURL: string; apiKey: string; usingEmulator: boolean };
  anthropic: { baseURL: string; apiKey: string; usingEmulator: boolean };
}

/**
 * A provider with a key talks to its real API; one without talks to the emulator. An explicit
 * *_BASE_URL wins either way. Defaults are spelled out so the SDKs never read the environment
 * behind the parsed config's back.
 */
export function resolveEndpoints(config: ProvidersConfig): Endpoints {
  const emulator = config.EMULATOR_URL.replace(/\/+$/, "");
  const oKey = config.OPENAI_API_KEY;
  const aKey = config.ANTHROPIC_API_KEY;
  return {
    openai: {
      baseURL: config.OPENAI_BASE_URL ?? (oKey ? OPENAI_DEFAULT_BASE_URL : `${emulator}/v1`),
      apiKey: oKey ?? EMULATOR_API_KEY,
      usingEmulator: !oKey,
    },
    anthropic: {
      baseURL: config.ANTHROPIC_BASE_URL ?? (aKey ? ANTHROPIC_DEFAULT_BASE_URL : emulator),
      apiKey: aKey ?? EMULATOR_API_KEY,
      usingEmulator: !aKey,
    },
  };
}

/** Validates FALLBACK_MODELS against the catalog; keyed by the canonical (lower-case) model id. */
export function resolveFallbacks(fallbacks: Readonly<Record<string, string>>, catalog: ProvidersDeps["catalog"]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [from, to] of Object.entries(fallbacks)) {
    const fromPrice = findModel(catalog, from);
    const toPrice = findModel(catalog, to);
    if (!fromPrice || !toPrice) {
      throw new ConfigError(`FALLBACK_MODELS: unknown model "${!fromPrice ? from : to}"`);
    }
    if (fromPrice.kind !== "chat" || toPrice.kind !== "chat") {
      throw new ConfigError(`FALLBACK_MODELS: "${from}=${to}" must name chat models`);
    }
    if (fromPrice.id === toPrice.id) throw new ConfigError(`FALLBACK_MODELS: "${from}" falls back to itself`);
    out.set(fromPrice.id.toLowerCase(), to);
  }
  return out;
}

/**
 * Callers pass long-lived signals (a service's shutdown signal); the SDKs and retry sleeps attach
 * listeners to whatever signal they get. A per-call signal that follows the caller's keeps those
 * listeners from piling up on the long-lived one.
 */
function perCallSignal<T extends { signal?: AbortSignal }>(req: T): T {
  return req.signal ? { ...req, signal: AbortSignal.any([req.signal]) } : req;
}

/** The signal's reason when the caller aborted, so an abort never looks like a provider failure. */
function abortedOr(signal: AbortSignal | undefined, err: unknown): unknown {
  return signal?.aborted ? signal.reason : err;
}

export function createProviders(config: ProvidersConfig, deps: ProvidersDeps): Providers {
  const { catalog, logger } = deps;
  const fallbacks = resolveFallbacks(config.FALLBACK_MODELS, catalog);
  const endpoints = resolveEndpoints(config);
  const secrets = [config.OPENAI_API_KEY, config.ANTHROPIC_API_KEY].filter((k): k is string => !!k);
  const settings: RetrySettings = {
    maxAttempts: config.PROVIDER_MAX_ATTEMPTS,
    initialMs: config.PROVIDER_RETRY_INITIAL_MS,
    maxMs: config.PROVIDER_RETRY_MAX_MS,
  };

  // maxRetries 0: this layer owns retries, so attempts, backoff and fallback are counted in one place.
  const openai = new OpenAI({
    apiKey: endpoints.openai.apiKey,
    baseURL: endpoints.openai.baseURL,
    maxRetries: 0,
    timeout: config.PROVIDER_TIMEOUT_MS,
  });
  const anthropic = new Anthropic({
    apiKey: endpoints.anthropic.apiKey,
    // Otherwise the SDK would add ANTHROPIC_AUTH_TOKEN from the environment as a bearer header.
    authToken: null,
    baseURL: endpoints.anthropic.baseURL,
    maxRetries: 0,
    timeout: config.PROVIDER_TIMEOUT_MS,
  });

  const limits: Record<Provider, LimitFunction> = {
    openai: pLimit(config.OPENAI_CONCURRENCY),
    anthropic: pLimit(config.ANTHROPIC_CONCURRENCY),
  };
  const inFlight = new Set<Promise<unknown>>();
  let closed = false;
  const sightings = new PrefixSightings();
  const now = deps.now ?? Date.now;

  function track<T>(run: () => Promise<T>): Promise<T> {
    if (closed) return Promise.reject(new ProvidersClosedError());
    const p = run();
    inFlight.add(p);
    const done = () => inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  function mapContext(provider: Provider, model: string): MapContext {
    return { provider, model, usingEmulator: endpoints[provider].usingEmulator, secrets };
  }

  /** One model, with retries; each attempt holds a concurrency slot only while its request is open. */
  function attemptModel<T>(
    provider: Provider,
    model: string,
    requestId: string | undefined,
    signal: AbortSignal | undefined,
    call: () => Promise<T>,
  ): Promise<Attempted<T>> {
    const ctx = mapContext(provider, model);
    return attemptWithRetries(
      () =>
        limits[provider](async () => {
          signal?.throwIfAborted();
          try {
            return await call();
          } catch (err) {
            throw mapSdkError(err, ctx);
          }
        }),
      settings,
      {
        signal,
        onRetry: (err, attempt, delayMs) =>
          logger.info(
            { provider, model, requestId, attempt, delayMs, error: err.name, status: err.status },
            "provider call failed, retrying",
          ),
      },
    );
  }

  function chatOnce(req: ChatRequest, price: ModelPrice): Promise<Attempted<ParsedChat>> {
    const { model, signal } = req;
    if (price.provider === "openai") {
      const params = buildOpenAIChatParams(req, price);
      return attemptModel("openai", model, req.requestId, signal, async () =>
        parseOpenAIChat(await openai.chat.completions.create(params, { signal }), model),
      );
    }
    // Planned once per model: retries resend the same markers, and count as one sighting.
    const mode = req.promptCache ?? config.PROMPT_CACHE;
    const { params } = planPromptCache(buildAnthropicParams(req, price), price, { mode, sightings, now: now() });
    return attemptModel("anthropic", model, req.requestId, signal, async () =>
      parseAnthropicMessage(await anthropic.messages.create(params, { signal }), model),
    );
  }

  function requireChatModel(model: string): ModelPrice {
    const price = requireModel(catalog, model);
    if (price.kind !== "chat") {
      throw new InvalidRequestError(`"${model}" is an ${price.kind} model, not a chat model`, { provider: price.provider, model });
    }
    return price;
  }

  async function chat(callerReq: ChatRequest): Promise<ChatResult> {
    const req = perCallSignal(callerReq);
    const started = performance.now();
    const price = requireChatModel(req.model);
    const finish = (parsed: ParsedChat, model: string, p: ModelPrice, attempts: number, fellBackFrom: string | null): ChatResult => ({
      ...parsed,
      model,
      provider: p.provider,
      latencyMs: Math.round(performance.now() - started),
      attempts,
      fellBackFrom,
    });

    const primary = await chatOnce(req, price);
    if (primary.ok) return finish(primary.value, req.model, price, primary.attempts, null);

    const fallbackModel = fallbacks.get(price.id.toLowerCase());
    if (!(primary.error instanceof ProviderError) || fallbackModel === undefined || req.signal?.aborted) {
      throw abortedOr(req.signal, primary.error);
    }
    logger.warn(
      {
        provider: price.provider,
        model: req.model,
        fallbackModel,
        requestId: req.requestId,
        attempts: primary.attempts,
        error: primary.error.name,
        status: primary.error.status,
      },
      "model kept failing, falling back",
    );
    const fallbackPrice = requireChatModel(fallbackModel);
    const secondary = await chatOnce({ ...req, model: fallbackModel }, fallbackPrice);
    const attempts = primary.attempts + secondary.attempts;
    if (secondary.ok) return finish(secondary.value, fallbackModel, fallbackPrice, attempts, req.model);
    throw abortedOr(req.signal, secondary.error);
  }

  async function embed(callerReq: EmbedRequest): Promise<EmbedResult> {
    const req = perCallSignal(callerReq);
    const started = performance.now();
    const price = requireModel(catalog, req.model);
    if (price.kind !== "embedding" || price.provider !== "openai") {
      throw new InvalidRequestError(`"${req.model}" is not an OpenAI embedding model (Anthropic has no embeddings API)`, {
        provider: price.provider,
        model: req.model,
      });
    }
    const usage = { inputTokens: 0, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 0 };
    // The API rejects an empty input list; nothing to embed costs nothing.
    if (req.input.length === 0) return { vectors: [], model: req.model, provider: "openai", usage, latencyMs: 0 };
    const params: OpenAI.Embeddings.EmbeddingCreateParams = { model: req.model, input: [...req.input] };
    if (req.dimensions !== undefined) params.dimensions = req.dimensions;
    // No fallback here: another embedding model's vectors live in a different space.
    const outcome = await attemptModel("openai", req.model, undefined, req.signal, async () =>
      parseOpenAIEmbeddings(await openai.embeddings.create(params, { signal: req.signal }), req.model, req.input.length),
    );
    if (!outcome.ok) throw abortedOr(req.signal, outcome.error);
    return {
      ...outcome.value,
      model: req.model,
      provider: "openai",
      latencyMs: Math.round(performance.now() - started),
    };
  }

  return {
    chat: (req) => track(() => chat(req)),
    embed: (req) => track(() => embed(req)),
    openai,
    anthropic,
    async close() {
      closed = true;
      await Promise.allSettled([...inFlight]);
    },
  };
}
