export { MemoryBroker, memorySerde } from "./memory-transport.ts";
