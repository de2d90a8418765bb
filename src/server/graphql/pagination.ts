import { InputError } from "../input-error.js";
import { defaultPageSize, type ServiceLimits } from "../settings.js";
import { checkIds } from "./text-bounds.js";

/** A listing's `first` and `after`, checked: `first` defaults to the server's page size and is at most MAX_PAGE_SIZE. */
export function pageArguments(limits: Pick<ServiceLimits, "maxPageSize">, requested?: number | null, after?: string | null): { first: number; after?: string } {
  const first = requested ?? defaultPageSize(limits);
  checkIds({ after });
  if (first < 1 || first > limits.maxPageSize) throw new InputError("first", `must be from 1 to ${limits.maxPageSize} (MAX_PAGE_SIZE)`);
  return { first, after: after ?? undefined };
}
