import { Router } from "express";
import { once } from "node:events";
import { resolve } from "node:path";
import { metricsCsvHeader, metricsCsvRow } from "../../engine/metrics.js";
import { type HeavyReads, isServerBusy, RETRY_AFTER_S } from "../graphql/heavy-reads.js";
import type { Store } from "../store/store.js";

/** Rows read per statement when exporting a run's metrics: memory stays flat for any run. */
const CSV_PAGE = 5000;

/** The rows after `after` as CSV, with the last one's iteration; null past the end. */
async function csvPage(store: Store, runId: string, after: number, through: number): Promise<{ csv: string; last: number } | null> {
  const rows = (await store.metricsAfter(runId, after, CSV_PAGE)).filter((row) => row.iteration <= through);
  return rows.length === 0 ? null : { csv: rows.map(metricsCsvRow).join(""), last: rows.at(-1)!.iteration };
}

/**
 * Samples, checkpoints and metrics as CSV, looked up by id in the database: no path
 * from a request ever reaches the file system.
 */
export function filesRouter(store: Store, dataDir: string, heavyReads: HeavyReads): Router {
  const router = Router();
  router.get("/files/samples/:file", async (req, res) => {
    const id = /^(.+)\.png$/.exec(req.params.file)?.[1];
    const sample = id ? await store.getSample(id) : null;
    if (!sample) return void res.status(404).json({ error: "no such sample" });
    res.type("png").sendFile(resolve(dataDir, sample.path), { maxAge: "1y", immutable: true });
  });
  router.get("/files/checkpoints/:id", async (req, res) => {
    const checkpoint = await store.getCheckpoint(req.params.id);
    if (!checkpoint) return void res.status(404).json({ error: "no such checkpoint" });
    res.download(resolve(dataDir, checkpoint.path), `run-${checkpoint.runId}-iter-${checkpoint.iteration}.dcgan`);
  });
  // The CLI's metrics.csv format, streamed page by page. Each page is read and formatted
  // in its turn among the heavy reads; waiting for a slow client to drain it is not.
  router.get("/files/metrics/:file", async (req, res) => {
    const id = /^(.+)\.csv$/.exec(req.params.file)?.[1];
    const run = id ? await store.getRun(id) : null;
    if (!run) return void res.status(404).json({ error: "no such run" });
    let page: Awaited<ReturnType<typeof csvPage>>;
    // The rows stored when the export begins: of a run that is training, later pages
    // would otherwise follow it live, each in its turn, until it ends.
    let through = 0;
    try {
      page = await heavyReads.run(async () => {
        through = await store.lastMetricIteration(run.id);
        return csvPage(store, run.id, 0, through);
      });
    } catch (err) {
      if (!isServerBusy(err)) throw err;
      return void res.status(503).set("retry-after", String(RETRY_AFTER_S)).json({ errors: [err.toJSON()] });
    }
    res.type("text/csv").attachment(`run-${run.id}-metrics.csv`);
    res.write(metricsCsvHeader());
    while (page && !res.destroyed) {
      if (!res.write(page.csv)) await Promise.race([once(res, "drain"), once(res, "close")]);
      const { last } = page;
      page = await heavyReads.continue(() => csvPage(store, run.id, last, through));
    }
    res.end();
  });
  return router;
}
