-- AlterTable: forkRun's parent and fork point. SQLite adds a column with a foreign key in place when its default is NULL.
ALTER TABLE "Run" ADD COLUMN "parentRunId" TEXT REFERENCES "Run" ("id") ON DELETE SET NULL ON UPDATE CASCADE;
ALTER TABLE "Run" ADD COLUMN "forkIteration" INTEGER;
