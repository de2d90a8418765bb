/** Text for the stress's progress lines and report. */

/** Progress goes to stderr; the report alone to stdout. */
export const log = (line: string) => process.stderr.write(`${line}\n`);

export const fmt = (n: number, digits = 1) => n.toFixed(digits);

export const percent = (n: number) => `${fmt(n, 0)} %`;

export function table(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join("\n");
}

export function sortedCounts(counts: Map<string, number>): [string, string][] {
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k, v]) => [k, String(v)]);
}
