-- CreateTable
CREATE TABLE "Run" (
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
    "startedAt" DATETIME,
    "finishedAt" DATETIME,
    "iteration" INTEGER NOT NULL DEFAULT 0,
    "epoch" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT
);

-- CreateTable
CREATE TABLE "Metric" (
    "runId" TEXT NOT NULL,
    "iteration" INTEGER NOT NULL,
    "epoch" INTEGER NOT NULL,
    "batch" INTEGER NOT NULL,
    "lossD" REAL NOT NULL,
    "lossG" REAL NOT NULL,
    "dX" REAL NOT NULL,
    "dGz1" REAL NOT NULL,
    "dGz2" REAL NOT NULL,
    "errDReal" REAL NOT NULL,
    "errDFake" REAL NOT NULL,
    "imagesPerSecond" REAL NOT NULL,
    "timestamp" REAL NOT NULL,

    PRIMARY KEY ("runId", "iteration"),
    CONSTRAINT "Metric_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Checkpoint" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "runId" TEXT NOT NULL,
    "iteration" INTEGER NOT NULL,
    "epoch" INTEGER NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "bytes" BIGINT NOT NULL,
    "path" TEXT NOT NULL,
    CONSTRAINT "Checkpoint_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Sample" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "runId" TEXT NOT NULL,
    "iteration" INTEGER NOT NULL,
    "epoch" INTEGER NOT NULL,
    "kind" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "bytes" BIGINT NOT NULL,
    "path" TEXT NOT NULL,
    "checkpointId" TEXT,
    CONSTRAINT "Sample_runId_fkey" FOREIGN KEY ("runId") REFERENCES "Run" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Sample_checkpointId_fkey" FOREIGN KEY ("checkpointId") REFERENCES "Checkpoint" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "Run_createdAt_id_idx" ON "Run"("createdAt", "id");

-- CreateIndex
CREATE INDEX "Run_status_createdAt_id_idx" ON "Run"("status", "createdAt", "id");

-- CreateIndex
CREATE INDEX "Checkpoint_runId_iteration_idx" ON "Checkpoint"("runId", "iteration");

-- CreateIndex
CREATE INDEX "Sample_runId_iteration_idx" ON "Sample"("runId", "iteration");

-- CreateIndex
CREATE INDEX "Sample_runId_kind_iteration_idx" ON "Sample"("runId", "kind", "iteration");
