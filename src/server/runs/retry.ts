/** After a failed write (the database or Redis restarting, say), try again after this long, doubling up to the cap... */
const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 5000;
/** ...for this long; then give up (the caller reports it), so that a store gone for good cannot hold a run's end forever. */
export const RETRY_FOR_MS = 120_000;

/**
 * Runs `attempt` until it succeeds, waiting longer after each failure, for up to
 * RETRY_FOR_MS; then throws the last error. `attempt` must be safe to repeat.
 */
export async function retrying<T>(attempt: () => Promise<T>, onError: (err: unknown) => void): Promise<T> {
  const since = Date.now();
  for (let delay = FIRST_DELAY_MS; ; delay = Math.min(delay * 2, MAX_DELAY_MS)) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() - since > RETRY_FOR_MS) throw err;
      onError(err);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
