-- AlterTable: checkpoint retention (keepCheckpoints). 0 is no such rule, so existing runs keep every checkpoint.
ALTER TABLE "Run" ADD COLUMN "keepLast" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "Run" ADD COLUMN "keepEvery" INTEGER NOT NULL DEFAULT 0;
