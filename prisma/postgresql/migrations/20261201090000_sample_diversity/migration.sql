-- AlterTable
ALTER TABLE "Sample" ADD COLUMN "diversity" DOUBLE PRECISION;
