import type { RunEvents } from "../events/run-events.js";
import type { Generator } from "../runs/generator.js";
import type { RunService } from "../runs/run-service.js";
import type { SystemFacts } from "../runs/system-facts.js";
import type { ServiceLimits } from "../settings.js";
import type { Store } from "../store/store.js";
import type { SweepService } from "../sweeps/sweep-service.js";
import type { WorkersList } from "../workers/workers-list.js";

/** What every resolver gets, over HTTP and WebSocket alike. */
export interface Context {
  runs: RunService;
  sweeps: SweepService;
  /** Live iterations and run updates, wherever the runs train. */
  events: RunEvents;
  generator: Generator;
  system: SystemFacts;
  store: Store;
  /** The trainers: this server, or the `dcgan worker`s. */
  workers: WorkersList;
  limits: ServiceLimits;
}
