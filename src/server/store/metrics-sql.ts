// The metrics queries Prisma's query builder cannot express efficiently: bulk insert
// and downsampling. The engine's METRIC_COLUMNS are the Metric columns besides runId.
// The insert is each dialect's own; the reads are one text for SQLite and PostgreSQL.
import { METRIC_COLUMNS, type IterationMetrics } from "../../engine/metrics.js";
import type { Dialect } from "./dialect.js";
import type { WindowBests, WindowMeans } from "./types.js";
import { Prisma, type PrismaClient } from "./generated/client.js";

const COLUMNS = Prisma.raw(METRIC_COLUMNS.map((c) => `"${c}"`).join(", "));
const QUALIFIED_COLUMNS = Prisma.raw(METRIC_COLUMNS.map((c) => `m."${c}"`).join(", "));
const FROM_JSON_ARRAY = Prisma.raw(METRIC_COLUMNS.map((_, i) => `value ->> ${i}`).join(", "));
/** Every column but the key's, from the row that lost the conflict to the new one. */
const SET_FROM_NEW_ROW = Prisma.raw(
  METRIC_COLUMNS.filter((c) => c !== "iteration")
    .map((c) => `"${c}" = EXCLUDED."${c}"`)
    .join(", "),
);

/**
 * One INSERT of the whole batch, passed as a single JSON parameter: createMany binds
 * parameters row by row under a per-statement cap and took 2 s per 5,000 rows; this
 * takes tens of ms. Rows replace stored rows of the same iteration: a resumed run
 * replays the iterations after its checkpoint, and the new rows win.
 */
export async function insertMetrics(prisma: PrismaClient, dialect: Dialect, runId: string, rows: IterationMetrics[]): Promise<void> {
  if (dialect === "postgresql") return insertMetricsPostgres(prisma, runId, rows);
  const json = JSON.stringify(rows.map((r) => METRIC_COLUMNS.map((c) => r[c])));
  await prisma.$executeRaw`
    INSERT OR REPLACE INTO "Metric" ("runId", ${COLUMNS})
    SELECT ${runId}, ${FROM_JSON_ARRAY} FROM json_each(${json})`;
}

/**
 * PostgreSQL's: json_populate_recordset types each field as its Metric column. ON
 * CONFLICT cannot update a row twice in one statement, so of an iteration sent twice in
 * a batch only the last is sent, as SQLite's OR REPLACE would keep it.
 */
async function insertMetricsPostgres(prisma: PrismaClient, runId: string, rows: IterationMetrics[]): Promise<void> {
  const lastOfEach = [...new Map(rows.map((r) => [r.iteration, r])).values()];
  // The replacer array keeps the columns' fields only.
  const json = JSON.stringify(lastOfEach, [...METRIC_COLUMNS]);
  await prisma.$executeRaw`
    INSERT INTO "Metric" ("runId", ${COLUMNS})
    SELECT ${runId}, ${COLUMNS} FROM json_populate_recordset(NULL::"Metric", ${json}::json)
    ON CONFLICT ("runId", "iteration") DO UPDATE SET ${SET_FROM_NEW_ROW}`;
}

export interface MetricsBounds {
  first: number | null;
  last: number | null;
  /** Rows in the range, counted up to `countCap` only. */
  count: number;
}

/**
 * A range's first and last iterations and its (capped) row count, in one statement: three
 * index seeks. `to` must fit the column (32 bits): PostgreSQL types the bound as it.
 */
export async function metricsBounds(prisma: PrismaClient, runId: string, from: number, to: number, countCap: number): Promise<MetricsBounds> {
  const inRange = Prisma.sql`"runId" = ${runId} AND "iteration" BETWEEN ${from} AND ${to}`;
  const [bounds] = await prisma.$queryRaw<{ first: number | bigint | null; last: number | bigint | null; count: number | bigint }[]>`
    SELECT (SELECT "iteration" FROM "Metric" WHERE ${inRange} ORDER BY "iteration" LIMIT 1) AS first,
           (SELECT "iteration" FROM "Metric" WHERE ${inRange} ORDER BY "iteration" DESC LIMIT 1) AS last,
           (SELECT COUNT(*) FROM (SELECT 1 FROM "Metric" WHERE ${inRange} LIMIT ${countCap}) AS capped) AS count`;
  const asNumber = (v: number | bigint | null | undefined) => (v === null || v === undefined ? null : Number(v));
  return { first: asNumber(bounds?.first), last: asNumber(bounds?.last), count: asNumber(bounds?.count) ?? 0 };
}

/**
 * maxPoints targets first + floor(k * (last - first) / (maxPoints - 1)), k = 0..maxPoints-1,
 * each taken to the first stored iteration at or after it (targets that fall in a gap
 * of the iterations may share a row). One primary-key seek per point: the cost does not
 * grow with the rows in the range. The product is 64-bit, as PostgreSQL's integer is not.
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
                AND s."iteration" >= ${first} + CAST(CAST(k.n AS BIGINT) * ${last - first} / ${maxPoints - 1} AS INTEGER)
              ORDER BY s."iteration" LIMIT 1)
      FROM k)
    ORDER BY m."iteration"`;
}

/** Means over the last `window` stored iterations of a run; null when it has none. */
export async function lastWindowMeans(prisma: PrismaClient, runId: string, window: number): Promise<WindowMeans | null> {
  const [means] = await prisma.$queryRaw<(Record<keyof WindowMeans, number | null> & { count: number | bigint })[]>`
    SELECT COUNT(*) AS count, AVG("lossD") AS "lossD", AVG("lossG") AS "lossG", AVG("dX") AS "dX", AVG("dGz1") AS "dGz1", AVG("dGz2") AS "dGz2"
    FROM "Metric"
    WHERE "runId" = ${runId} AND "iteration" > (SELECT MAX("iteration") FROM "Metric" WHERE "runId" = ${runId}) - CAST(${window} AS INTEGER)`;
  if (!means || Number(means.count) === 0) return null;
  return { lossD: means.lossD!, lossG: means.lossG!, dX: means.dX!, dGz1: means.dGz1!, dGz2: means.dGz2! };
}

/**
 * The lowest Loss_D and Loss_G means of a run's whole windows after window `afterWindow`
 * (window k holds iterations k*window+1 .. (k+1)*window; -1: from the first), and the
 * last whole window's k; nulls when there is none. A whole window never changes (a
 * replayed iteration is stored again with the same values), so a caller may keep the
 * answer and ask only for the windows after it next time: one range scan of the new rows.
 */
export async function wholeWindowBests(prisma: PrismaClient, runId: string, window: number, afterWindow: number): Promise<WindowBests> {
  const w = Prisma.sql`CAST(${window} AS INTEGER)`;
  const [bests] = await prisma.$queryRaw<{ bestLossD: number | null; bestLossG: number | null; lastWhole: number | bigint | null }[]>`
    SELECT MIN(d) AS "bestLossD", MIN(g) AS "bestLossG", MAX(k) AS "lastWhole" FROM (
      SELECT ("iteration" - 1) / ${w} AS k, AVG("lossD") AS d, AVG("lossG") AS g FROM "Metric"
      WHERE "runId" = ${runId} AND "iteration" > ${(afterWindow + 1) * window}
      GROUP BY 1 HAVING COUNT(*) = ${w}) AS windows`;
  const lastWhole = bests?.lastWhole;
  return { bestLossD: bests?.bestLossD ?? null, bestLossG: bests?.bestLossG ?? null, lastWhole: lastWhole === null || lastWhole === undefined ? null : Number(lastWhole) };
}
