-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Run" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'QUEUED',
    "config" TEXT NOT NULL,
    "backend" TEXT,
    "backendDetail" TEXT,
    "dataset" TEXT,
    "totalIterations" INTEGER,
    "batchesPerEpoch" INTEGER,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "queuedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" DATETIME,
    "finishedAt" DATETIME,
    "iteration" INTEGER NOT NULL DEFAULT 0,
    "epoch" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT
);
-- Runs queued before this migration keep their order: by creation, as it was.
INSERT INTO "new_Run" ("backend", "backendDetail", "batchesPerEpoch", "config", "createdAt", "queuedAt", "dataset", "epoch", "error", "finishedAt", "id", "iteration", "name", "startedAt", "status", "totalIterations") SELECT "backend", "backendDetail", "batchesPerEpoch", "config", "createdAt", "createdAt", "dataset", "epoch", "error", "finishedAt", "id", "iteration", "name", "startedAt", "status", "totalIterations" FROM "Run";
DROP TABLE "Run";
ALTER TABLE "new_Run" RENAME TO "Run";
CREATE INDEX "Run_createdAt_id_idx" ON "Run"("createdAt", "id");
CREATE INDEX "Run_status_createdAt_id_idx" ON "Run"("status", "createdAt", "id");
CREATE INDEX "Run_status_queuedAt_id_idx" ON "Run"("status", "queuedAt", "id");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
