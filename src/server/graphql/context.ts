import type { Generator } from "../runs/generator.js";
import type { RunService } from "../runs/run-service.js";
import type { SystemFacts } from "../runs/system-facts.js";
import type { ServiceLimits } from "../settings.js";
import type { Store } from "../store/store.js";

/** What every resolver gets, over HTTP and WebSocket alike. */
export interface Context {
  runs: RunService;
  generator: Generator;
  system: SystemFacts;
  store: Store;
  limits: ServiceLimits;
}
