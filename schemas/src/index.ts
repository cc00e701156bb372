export * from "./types.ts";
export * from "./topics.ts";
export { avroSchemas, avroHistory, avroType } from "./avro.ts";
export { renderMessages, renderContext, renderContextParts } from "./prompt.ts";
export { requestOptions, usesTools, hasImages, wantsJson, type RequestOptions } from "./options.ts";
