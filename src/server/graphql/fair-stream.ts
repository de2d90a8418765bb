import { setImmediate as nextTurn } from "node:timers/promises";

/** Events a stream may deliver before it lets the event loop turn. */
const EVENTS_PER_TURN = 32;

/**
 * `source`, letting the event loop turn every few events. A subscriber catching up (a
 * replay, a full buffer) is otherwise served in one go: its socket writes complete
 * synchronously, so nothing else (new connections, queries, other subscribers) would
 * run until it caught up.
 */
export async function* fairStream<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  let delivered = 0;
  for await (const event of source) {
    yield event;
    if (++delivered % EVENTS_PER_TURN === 0) await nextTurn();
  }
}
