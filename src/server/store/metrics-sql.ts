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

export interface MetricsBounds {
  first: number | null;
  last: number | null;
  /** Rows in the range, counted up to `countCap` only. */
  count: number;
}

/** A range's first and last iterations and its (capped) row count, in one statement: three index seeks. */
export async function metricsBounds(prisma: PrismaClient, runId: string, from: number, to: number, countCap: number): Promise<MetricsBounds> {
  const inRange = Prisma.sql`"runId" = ${runId} AND "iteration" BETWEEN ${from} AND ${to}`;
  const [bounds] = await prisma.$queryRaw<{ first: number | bigint | null; last: number | bigint | null; count: number | bigint }[]>`
    SELECT (SELECT "iteration" FROM "Metric" WHERE ${inRange} ORDER BY "iteration" LIMIT 1) AS first,
           (SELECT "iteration" FROM "Metric" WHERE ${inRange} ORDER BY "iteration" DESC LIMIT 1) AS last,
           (SELECT COUNT(*) FROM (SELECT 1 FROM "Metric" WHERE ${inRange} LIMIT ${countCap})) AS count`;
  const asNumber = (v: number | bigint | null | undefined) => (v === null || v === undefined ? null : Number(v));
  return { first: asNumber(bounds?.first), last: asNumber(bounds?.last), count: asNumber(bounds?.count) ?? 0 };
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
