import { Router } from "express";
import { resolve } from "node:path";
import type { Store } from "../store/store.js";

/**
 * Samples and checkpoints, looked up by id in the database: no path from a request
 * ever reaches the file system.
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
  return router;
}
