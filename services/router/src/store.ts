// The route store (shadow samples, agreement windows, fallback states) is shared with the
// distiller's CLI: it lives in @costwise/route-state.
export { redisRouteStore, memoryRouteStore, FallbackView, routeId, type RouteStore, type RouteKey, type RedisStoreOptions } from "@costwise/route-state";
