-- AlterTable
ALTER TABLE "Run" ADD COLUMN     "forkIteration" INTEGER,
ADD COLUMN     "parentRunId" TEXT;

-- AddForeignKey
ALTER TABLE "Run" ADD CONSTRAINT "Run_parentRunId_fkey" FOREIGN KEY ("parentRunId") REFERENCES "Run"("id") ON DELETE SET NULL ON UPDATE CASCADE;
