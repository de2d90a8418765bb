import type { Logger } from "pino";
import { TRAIN_DEFAULTS } from "../../engine/config.js";
import { collectInputErrors, InputError, InputErrors } from "../input-error.js";
import { RESUMABLE, type NewRunInput, type RunService } from "../runs/run-service.js";
import type { Store } from "../store/store.js";
import { FINISHED_STATUSES, type NewRun, type RunRecord, type SweepRecord } from "../store/types.js";
import { SweepTables, type SweepTableRow } from "./sweep-table.js";
import { gridAxes, gridErrors, gridPoints, pointConfig, pointName, type SweepAxisField, type SweepGrid, type SweepPoint } from "./grid.js";

export interface StartSweep {
  name?: string;
  /** What every run has, unless the grid or the seeds say otherwise. */
  base: NewRunInput;
  grid: SweepGrid;
  /** Each combination runs once per seed; default: the base's seed. */
  seeds?: readonly number[];
}

export interface SweepServiceOptions {
  store: Store;
  runs: RunService;
  /** Every run of a sweep is queued at once: no more than MAX_QUEUED_RUNS can be. */
  maxQueuedRuns: number;
  logger: Logger;
}

/**
 * Sweeps: one run per combination of a grid's values and seeds, queued together and
 * grouped. Each is an ordinary run (RunService): it trains, stops, survives a restart
 * or a lost worker, and resumes as any run does; a sweep's status is its runs'.
 */
export class SweepService {
  private readonly tables: SweepTables;

  constructor(private readonly options: SweepServiceOptions) {
    this.tables = new SweepTables(options.store);
  }

  /** The sweep's table (sweep-table.ts), from its runs as just read. */
  table(sweep: SweepRecord, runs: RunRecord[], window: number): Promise<SweepTableRow[]> {
    return this.tables.rows(sweep, runs, window);
  }

  async start({ name, base, grid, seeds }: StartSweep): Promise<SweepRecord> {
    const { runs, store, maxQueuedRuns } = this.options;
    const axes = gridAxes(grid);
    const sweepSeeds = seeds ?? [base.seed ?? TRAIN_DEFAULTS.seed];
    const found = gridErrors(axes, sweepSeeds, maxQueuedRuns, "MAX_QUEUED_RUNS");
    const sweepName = name ?? `sweep ${axes.map((a) => a.field).join("×") || "seeds"}`;
    // Every combination is validated (memory, dataset) before any is stored, and refused
    // with the lists' errors in one answer; a grid of too many runs is not enumerated.
    const points = found.some((e) => e.field === "grid") ? [] : gridPoints(axes, sweepSeeds);
    const prepared: NewRun[] = [];
    for (const point of points) {
      const run = await collectInputErrors(found, () => runs.prepare({ ...pointConfig(base, point), name: pointName(sweepName, point) }).catch((err: unknown) => {
        throw sweepFieldErrors(err, point);
      }));
      if (run) prepared.push(run);
    }
    InputErrors.throwIfAny(uniqueErrors(found));
    let sweep: SweepRecord | undefined;
    await runs.admitNew("startSweep", prepared, async (each) => {
      const created = await store.createSweep({ name: sweepName, grid: axes, seeds: [...sweepSeeds] }, each);
      sweep = created.sweep;
      return created.runs;
    });
    this.options.logger.info({ sweepId: sweep!.id, runs: prepared.length, grid: axes, seeds: sweepSeeds }, "sweep queued");
    return sweep!;
  }

  /** Stops every run of the sweep that is QUEUED or RUNNING. */
  async stop(id: string): Promise<SweepRecord> {
    const sweep = await this.get(id);
    for (const run of await this.options.store.sweepRuns(id)) {
      if (run.status === "QUEUED" || run.status === "RUNNING") await ignoreChanged(() => this.options.runs.stop(run.id));
    }
    return sweep;
  }

  /**
   * Resumes every run of the sweep that is STOPPED, FAILED or INTERRUPTED, each from its
   * latest checkpoint, or from the beginning when it has none.
   */
  async resume(id: string): Promise<SweepRecord> {
    const sweep = await this.get(id);
    const resumable = (await this.options.store.sweepRuns(id)).filter((r) => RESUMABLE.includes(r.status));
    if (resumable.length === 0) throw new InputError("id", `sweep ${id} has no STOPPED, FAILED or INTERRUPTED run to resume`);
    await this.options.runs.resumeAll("resumeSweep", resumable);
    return sweep;
  }

  /** Deletes the sweep and its runs, once none of them trains. */
  async delete(id: string): Promise<void> {
    await this.get(id);
    const runs = await this.options.store.sweepRuns(id);
    const active = runs.filter((r) => !FINISHED_STATUSES.includes(r.status));
    if (active.length > 0) throw new InputError("id", `sweep ${id} has ${active.length} runs QUEUED or training: stop it before deleting it`);
    for (const run of runs) await this.options.runs.delete(run.id);
    await this.options.store.deleteSweep(id);
    this.options.logger.info({ sweepId: id, runs: runs.length }, "sweep deleted");
  }

  private async get(id: string): Promise<SweepRecord> {
    const sweep = await this.options.store.getSweep(id);
    if (!sweep) throw new InputError("id", `no sweep ${id}`);
    return sweep;
  }
}

/** A sweep's status, from its runs': the most pressing of theirs. */
export function sweepStatus(runs: Pick<RunRecord, "status">[]): RunRecord["status"] {
  const has = (status: RunRecord["status"]) => runs.some((r) => r.status === status);
  return (["RUNNING", "STOPPING", "QUEUED", "FAILED", "INTERRUPTED", "STOPPED"] as const).find(has) ?? "COMPLETED";
}

/**
 * A combination's refusals under the names the client sent them by: a field the grid set
 * as `grid.<field>` with the value, any other as `base.<field>`.
 */
function sweepFieldErrors(err: unknown, point: SweepPoint): unknown {
  const errors = err instanceof InputErrors ? err.errors : err instanceof InputError ? [err] : undefined;
  if (!errors) return err;
  return new InputErrors(
    errors.map((e) => {
      const detail = e.message.slice(e.field.length + 2);
      if (e.field === "seed") return new InputError("seeds", `${point.seed}: ${detail}`);
      const value = point.values[e.field as SweepAxisField];
      return value === undefined ? new InputError(`base.${e.field}`, detail) : new InputError(`grid.${e.field}`, `${value}: ${detail}`);
    }),
  );
}

/** The same refusal from many combinations, once. */
function uniqueErrors(errors: InputError[]): InputError[] {
  return [...new Map(errors.map((e) => [e.message, e])).values()];
}

/** A run that changed status meanwhile (finished, or stopped by someone else), refused under `id`, is left as it is. */
async function ignoreChanged(change: () => Promise<unknown>): Promise<void> {
  await change().catch((err: unknown) => {
    if (!(err instanceof InputError && err.field === "id")) throw err;
  });
}
