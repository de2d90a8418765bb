import type { RunEvents } from "../events/run-events.js";
import type { Store } from "../store/store.js";
import { FINISHED_STATUSES, type RunPatch, type RunRecord, type RunStatus } from "../store/types.js";

/**
 * A run's stored state, and everyone told when it changes: whoever changes a run (the
 * API, the process training it, a worker taking over a stalled run) goes through here.
 */
export class RunStates {
  constructor(
    private readonly store: Store,
    private readonly events: RunEvents,
  ) {}

  /** Stores the change and publishes the run; a finished run's progress streams end, after its status is stored. */
  async set(id: string, patch: RunPatch): Promise<RunRecord> {
    return this.announce(await this.store.updateRun(id, patch));
  }

  /**
   * Stores the change only if the run is in one of the `from` statuses at that moment
   * (one conditional update, so two processes cannot both make it); null when it was not.
   */
  async transition(id: string, from: RunStatus[], patch: RunPatch): Promise<RunRecord | null> {
    const run = await this.store.updateRunIf(id, from, patch);
    return run && this.announce(run);
  }

  /** Publishes the run as stored now (after a sample or checkpoint is recorded). */
  async publish(id: string): Promise<void> {
    const run = await this.store.getRun(id);
    if (run) await this.events.publishRun(run);
  }

  private async announce(run: RunRecord): Promise<RunRecord> {
    await this.events.publishRun(run);
    // Progress streams end with the run, not with its process: a resumed run may already
    // have new subscribers while the old process exits.
    if (FINISHED_STATUSES.includes(run.status)) await this.events.endProgress(run.id);
    return run;
  }
}
