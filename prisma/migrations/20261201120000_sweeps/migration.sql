-- CreateTable: startSweep's sweeps.
CREATE TABLE "Sweep" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "grid" TEXT NOT NULL,
    "seeds" TEXT NOT NULL
);

-- AlterTable: a run's sweep. SQLite adds a column with a foreign key in place when its default is NULL.
ALTER TABLE "Run" ADD COLUMN "sweepId" TEXT REFERENCES "Sweep" ("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- CreateIndex
CREATE INDEX "Run_sweepId_idx" ON "Run"("sweepId");

-- CreateIndex
CREATE INDEX "Sweep_createdAt_id_idx" ON "Sweep"("createdAt", "id");
