import type { RunService } from "../runs/run-service.js";
import type { ServiceLimits } from "../settings.js";
import type { Store } from "../store/store.js";

/** What every resolver gets, over HTTP and WebSocket alike. */
export interface Context {
  runs: RunService;
  store: Store;
  limits: ServiceLimits;
}
