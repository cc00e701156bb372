// Request hashing is shared with the distiller: it lives in @costwise/route-state.
export { fnv1a32, percentBucket } from "@costwise/route-state";
