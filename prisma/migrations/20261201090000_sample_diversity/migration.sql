-- AlterTable
ALTER TABLE "Sample" ADD COLUMN "diversity" REAL;
