import type { WebSocket } from "ws";

interface Message {
  id?: string;
  type: string;
  payload?: unknown;
}

/**
 * Writes graphql-ws's messages, each shared `next` payload serialized once: a live
 * iteration sent to a thousand subscribers of one operation shape is one JSON text,
 * with each subscriber's id spliced in front, not a thousand JSON.stringify calls.
 *
 * graphql-ws writes every message as `socket.send(stringifyMessage(message, replacer))`,
 * nothing between the two. `replacer`, called first for the whole message, writes the
 * message's text itself and answers undefined, so that stringifyMessage returns undefined
 * and JSON.stringify goes no further; the socket's send (see `install`) then sends the
 * text just written. A socket that is no longer open sends nothing; the next message
 * overwrites the text it left. The frames are the bytes JSON.stringify would write.
 */
export class SharedFrames {
  /** Payloads shared by many messages, and their JSON once written. */
  private readonly payloads = new WeakMap<object, string | undefined>();
  private written?: string;

  /** Marks `payload` as one many `next` messages carry: it is serialized once. */
  share(payload: object): void {
    if (!this.payloads.has(payload)) this.payloads.set(payload, undefined);
  }

  /** graphql-ws's jsonMessageReplacer. */
  readonly replacer = (key: string, value: unknown): unknown => {
    if (key !== "") return value;
    this.written = this.write(value as Message);
    return undefined;
  };

  /** Makes `socket` send the text `replacer` wrote when graphql-ws hands it the undefined that stands for it. */
  install(socket: WebSocket): void {
    const send = socket.send.bind(socket) as (data: unknown, ...rest: unknown[]) => void;
    socket.send = ((data: unknown, ...rest: unknown[]) => send(data === undefined ? this.take() : data, ...rest)) as WebSocket["send"];
  }

  private write(message: Message): string {
    const { payload } = message;
    if (message.type !== "next" || typeof payload !== "object" || payload === null || !this.payloads.has(payload)) return JSON.stringify(message);
    let json = this.payloads.get(payload);
    if (json === undefined) {
      json = JSON.stringify(payload);
      this.payloads.set(payload, json);
    }
    // The key order graphql-ws builds the message in, so the frame is the one it would write.
    return `{"id":${JSON.stringify(message.id)},"type":"next","payload":${json}}`;
  }

  private take(): string {
    const written = this.written;
    this.written = undefined;
    if (written === undefined) throw new Error("a message to send that SharedFrames did not write (graphql-ws no longer sends what it stringifies at once?)");
    return written;
  }
}
