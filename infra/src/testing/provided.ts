// What the int project's global setup hands to test workers through vitest's provide/inject.
declare module "vitest" {
  export interface ProvidedContext {
    costwiseStackEnv: Record<string, string>;
  }
}

export {};
