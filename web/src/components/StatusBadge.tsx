import type { RunStatus } from "../types";

export function StatusBadge({ status }: { status: RunStatus }) {
  return <span class={`status status-${status.toLowerCase()}`} data-status={status}>{status.toLowerCase()}</span>;
}
