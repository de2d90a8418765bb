// The two metrics queries Prisma's query builder cannot express efficiently: bulk insert
// and downsampling. The engine's METRIC_COLUMNS are the Metric columns besides runId.
import { METRIC_COLUMNS, type IterationMetrics } from "../../engine/metrics.js";
import { Prisma, type PrismaClient } from "./generated/client.js";

const COLUMNS = Prisma.raw(METRIC_COLUMNS.map((c) => `"${c}"`).join(", "));
const QUALIFIED_COLUMNS = Prisma.raw(METRIC_COLUMNS.map((c) => `m."${c}"`).join(", "));
const FROM_JSON_ARRAY = Prisma.raw(METRIC_COLUMNS.map((_, i) => `value ->> ${i}`).join(", "));

/**
 * One INSERT of the whole batch, passed as a single JSON parameter: createMany binds
 * parameters row by row under a per-statement cap and took 2 s per 5,000 rows; this
 * takes tens of ms. OR REPLACE: a resumed run replays the iterations after its
 * checkpoint, and the new rows win.
 */
export async function insertMetrics(prisma: PrismaClient, runId: string, rows: IterationMetrics[]): Promise<void> {
  const json = JSON.stringify(rows.map((r) => METRIC_COLUMNS.map((c) => r[c])));
  await prisma.$executeRaw`
    INSERT OR REPLACE INTO "Metric" ("runId", ${COLUMNS})
    SELECT ${runId}, ${FROM_JSON_ARRAY} FROM json_each(${json})`;
}

/**
 * maxPoints targets first + floor(k * (last - first) / (maxPoints - 1)), k = 0..maxPoints-1,
 * each taken to the first stored iteration at or after it (targets that fall in a gap
 * of the iterations may share a row). One primary-key seek per point: the cost does not
 * grow with the rows in the range.
 */
export function evenlySpacedMetrics(
  prisma: PrismaClient,
  runId: string,
  first: number,
  last: number,
  maxPoints: number,
): Promise<IterationMetrics[]> {
  return prisma.$queryRaw<IterationMetrics[]>`
    WITH RECURSIVE k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n + 1 < ${maxPoints})
    SELECT ${QUALIFIED_COLUMNS} FROM "Metric" m
    WHERE m."runId" = ${runId} AND m."iteration" IN (
      SELECT (SELECT s."iteration" FROM "Metric" s
              WHERE s."runId" = ${runId}
                AND s."iteration" >= ${first} + CAST(k.n * ${last - first} / ${maxPoints - 1} AS INTEGER)
              ORDER BY s."iteration" LIMIT 1)
      FROM k)
    ORDER BY m."iteration"`;
}
