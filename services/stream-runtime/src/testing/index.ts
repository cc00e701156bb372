export { MemoryBroker, memorySerde } from "./memory-transport.ts";
export { KafkaTestClient, type KafkaLibrary, type KafkaEndpoints, type ProduceOptions, type Received, type SubscribeOptions } from "./kafka-client.ts";
