import { afterEach, describe, expect, it } from "vitest";
import { allTopics, topicByName, topicNamespace, topics, valueSubject } from "./topics.ts";

const saved = process.env.COSTWISE_TOPIC_NAMESPACE;
afterEach(() => {
  if (saved === undefined) delete process.env.COSTWISE_TOPIC_NAMESPACE;
  else process.env.COSTWISE_TOPIC_NAMESPACE = saved;
});

describe("topic namespace", () => {
  it("prefixes every topic name and subject when set, read at the time a name is used", () => {
    delete process.env.COSTWISE_TOPIC_NAMESPACE;
    expect(topics.requests.name).toBe("llm.requests");
    process.env.COSTWISE_TOPIC_NAMESPACE = "run-7.";
    expect(topics.requests.name).toBe("run-7.llm.requests");
    expect(valueSubject(topics.responses)).toBe("run-7.llm.responses-value");
    expect(allTopics.every((t) => t.name.startsWith("run-7.llm."))).toBe(true);
    expect(topicByName("run-7.llm.dlq")).toBe(topics.deadLetters);
    expect(topicByName("llm.dlq")).toBeUndefined();
  });

  it("refuses a namespace Kafka could not name a topic with", () => {
    expect(() => topicNamespace({ COSTWISE_TOPIC_NAMESPACE: "a b" })).toThrow(RangeError);
    expect(topicNamespace({})).toBe("");
  });
});
