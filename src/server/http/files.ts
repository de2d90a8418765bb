import { Router } from "express";
import { once } from "node:events";
import { resolve } from "node:path";
import { metricsCsvHeader, metricsCsvRow } from "../../engine/metrics.js";
import type { Store } from "../store/store.js";

/** Rows read per statement when exporting a run's metrics: memory stays flat for any run. */
const CSV_PAGE = 5000;

/**
 * Samples, checkpoints and metrics as CSV, looked up by id in the database: no path
 * from a request ever reaches the file system.
 */
export function filesRouter(store: Store, dataDir: string): Router {
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
  // The CLI's metrics.csv format, streamed page by page.
  router.get("/files/metrics/:file", async (req, res) => {
    const id = /^(.+)\.csv$/.exec(req.params.file)?.[1];
    const run = id ? await store.getRun(id) : null;
    if (!run) return void res.status(404).json({ error: "no such run" });
    res.type("text/csv").attachment(`run-${run.id}-metrics.csv`);
    res.write(metricsCsvHeader());
    for (let after = 0; ; ) {
      const page = await store.metricsAfter(run.id, after, CSV_PAGE);
      if (page.length === 0 || res.destroyed) break;
      if (!res.write(page.map(metricsCsvRow).join(""))) await Promise.race([once(res, "drain"), once(res, "close")]);
      after = page.at(-1)!.iteration;
    }
    res.end();
  });
  return router;
}
