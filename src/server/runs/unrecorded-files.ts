import { readdir, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import type { Logger } from "pino";
import { readCheckpointProgress } from "../../engine/checkpoint.js";
import { CHECKPOINT_EXTENSION, parseSampleFileName } from "../../engine/run-files.js";
import type { Store } from "../store/store.js";
import { type RunRecord, trainerSampleKind } from "../store/types.js";

/**
 * Records the checkpoints and samples of a run that are on disk but not in the database:
 * a server killed between a file's rename and its row leaves them. Files are written
 * under a temporary name and renamed when complete, so every file with its final name
 * is whole. `runDir` holds the run's checkpoints/ and samples/; paths are stored
 * relative to `dataDir`.
 */
export async function recordUnrecordedFiles(options: { store: Store; dataDir: string; runDir: string; run: RunRecord; log: Logger }): Promise<void> {
  const { store, dataDir, runDir, run, log } = options;
  const known = new Set([...(await store.listCheckpoints(run.id)), ...(await store.listSamples(run.id))].map((f) => f.path));
  const unrecorded = async (folder: string) =>
    (await readdir(join(runDir, folder)).catch(() => [] as string[]))
      .map((name) => ({ name, file: join(runDir, folder, name), path: relative(dataDir, join(runDir, folder, name)) }))
      .filter(({ path }) => !known.has(path));
  let recorded = 0;

  for (const { name, file, path } of await unrecorded("checkpoints")) {
    if (!name.endsWith(CHECKPOINT_EXTENSION)) continue;
    try {
      const { iteration, epoch } = await readCheckpointProgress(file);
      await store.addCheckpoint({ runId: run.id, iteration, epoch, bytes: (await stat(file)).size, path });
      recorded++;
    } catch (err) {
      log.warn({ runId: run.id, file, err }, "an unrecorded checkpoint file could not be read; left as it is");
    }
  }

  for (const { name, file, path } of await unrecorded("samples")) {
    const sample = parseSampleFileName(name);
    if (!sample) continue;
    const { kind, iteration } = sample;
    // A sample's epoch is that of the iteration it follows, as the trainer numbers it.
    const epoch = iteration > 0 && run.batchesPerEpoch ? Math.floor((iteration - 1) / run.batchesPerEpoch) : 0;
    const bytes = (await stat(file)).size;
    await store.addSample({ runId: run.id, iteration, epoch, kind: trainerSampleKind(kind), bytes, path });
    recorded++;
  }
  if (recorded > 0) log.info({ runId: run.id, recorded }, "recorded checkpoints and samples that the previous server wrote but did not record");
}
