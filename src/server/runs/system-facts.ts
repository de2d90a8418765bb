import type { Logger } from "pino";
import { autoTakes } from "../../engine/backends/auto.js";
import type { BackendStatus } from "../../engine/backends/index.js";
import type { DatasetKind } from "../../engine/config.js";
import { datasetsWithoutPath } from "../../engine/data/index.js";
import { runCli } from "../training/cli-process.js";

/** What this machine offers runs: its backends and the datasets that need no path, as the engine knows them. */
export class SystemFacts {
  private backendReport?: Promise<BackendStatus[]>;

  constructor(private readonly log: Logger) {}

  /** Which backends work here: probed once, by `dcgan backends` in its own process (see runCli). */
  backends(): Promise<BackendStatus[]> {
    if (!this.backendReport) {
      this.backendReport = runCli(["backends", "--json"], this.log).then((stdout) => JSON.parse(stdout) as BackendStatus[]);
      // A failed probe is tried again at the next request.
      this.backendReport.catch(() => (this.backendReport = undefined));
    }
    return this.backendReport;
  }

  /** The backend a run with backend AUTO trains on here (the engine's own rule, autoTakes). */
  async autoBackend(): Promise<{ name: string; detail: string }> {
    const chosen = (await this.backends()).find(autoTakes);
    return chosen ? { name: chosen.name, detail: chosen.detail } : { name: "none", detail: "no backend works here" };
  }

  /** Datasets usable without a path on this machine. */
  datasets(): Promise<DatasetKind[]> {
    return datasetsWithoutPath();
  }
}
