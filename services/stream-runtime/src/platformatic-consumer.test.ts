import { describe, expect, it } from "vitest";
import { MultipleErrors, NetworkError, ResponseError } from "@platformatic/kafka";
import { outOfRangePartitions } from "./platformatic-consumer.ts";

// The library's errors as its fetch gives them: one ProtocolError per failed partition, its path in the parsed response.
const FETCH = 1;
const response = {
  responses: [
    { topicId: "id-a", partitions: [{ partitionIndex: 0 }, { partitionIndex: 3 }] },
    { topicId: "id-b", partitions: [{ partitionIndex: 2 }] },
  ],
};

describe("outOfRangePartitions", () => {
  it("names every partition a fetch was answered OFFSET_OUT_OF_RANGE for, also inside the library's retry errors", () => {
    const err = new ResponseError(FETCH, 17, { "/responses/0/partitions/1": [1, null], "/responses/1/partitions/0": [1, null], "/responses/0/partitions/0": [6, null] }, response);
    expect(outOfRangePartitions(err)).toEqual([{ topicId: "id-a", partition: 3 }, { topicId: "id-b", partition: 2 }]);
    const retried = new MultipleErrors("fetch failed 2 times.", [new NetworkError("connection closed"), err]);
    expect(outOfRangePartitions(retried)).toEqual([{ topicId: "id-a", partition: 3 }, { topicId: "id-b", partition: 2 }]);
  });

  it("finds none in any other failure", () => {
    expect(outOfRangePartitions(new ResponseError(FETCH, 17, { "/responses/0/partitions/0": [6, null] }, response))).toEqual([]);
    expect(outOfRangePartitions(new NetworkError("connection closed"))).toEqual([]);
    expect(outOfRangePartitions("not an error")).toEqual([]);
  });
});
