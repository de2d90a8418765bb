export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "–";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
}

export function formatTime(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : "–";
}

/** Time left at the current speed: remaining iterations times seconds per iteration. */
export function eta(iteration: number, total: number | null, batchSize: number, imagesPerSecond: number | undefined): string {
  if (!total || !imagesPerSecond) return "–";
  return formatDuration(((total - iteration) * batchSize) / imagesPerSecond);
}

/** An API enum value as the page writes it everywhere: FASHION_MNIST is "fashion-mnist", AUTO "auto". */
export function enumLabel(value: string): string {
  return value.toLowerCase().replaceAll("_", "-");
}
