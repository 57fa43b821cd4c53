/**
 * A Server-Sent Events reader (the WHATWG event-stream format) over a fetch response body:
 * used where EventSource cannot go (POST bodies, an Authorization header).
 */

export interface SseEvent {
  event: string;
  data: string;
  id: string;
}

/**
 * A push parser: feed it text as it arrives, in chunks of any size, and it calls `onEvent`
 * for every complete event. `end()` finishes the stream; an event not ended by a blank line
 * is dropped then, as the format requires.
 */
export function createSseParser(onEvent: (event: SseEvent) => void) {
  let buffer = "";
  let type = "";
  let data: string[] = [];
  let lastId = "";

  function line(text: string) {
    if (text === "") {
      if (data.length > 0) onEvent({ event: type || "message", data: data.join("\n"), id: lastId });
      type = "";
      data = [];
      return;
    }
    if (text.startsWith(":")) return;
    const colon = text.indexOf(":");
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") type = value;
    else if (field === "data") data.push(value);
    else if (field === "id" && !value.includes("\0")) lastId = value;
  }

  function drain(final: boolean) {
    for (;;) {
      const match = /\r\n|\r|\n/.exec(buffer);
      if (!match) break;
      // A CR at the very end may be the first half of a CRLF split across chunks.
      if (!final && match[0] === "\r" && match.index === buffer.length - 1) break;
      line(buffer.slice(0, match.index));
      buffer = buffer.slice(match.index + match[0].length);
    }
  }

  return {
    push(chunk: string) {
      buffer += chunk;
      drain(false);
    },
    end() {
      drain(true);
      buffer = "";
      type = "";
      data = [];
    },
  };
}

export interface ReadOptions {
  /** Told about every chunk received (for an idle timeout). */
  onChunk?: () => void;
  /** Stops reading; the read then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Reads a response body as an event stream until it ends, calling `onEvent` per event.
 * Without a readable body the whole text is parsed at once.
 */
export async function readEventStream(
  response: Response,
  onEvent: (event: SseEvent) => void,
  { onChunk, signal }: ReadOptions = {},
): Promise<void> {
  const parser = createSseParser(onEvent);
  const body = response.body;
  if (!body) {
    parser.push(await response.text());
    parser.end();
    return;
  }
  const reader = body.getReader();
  const decoder = new TextDecoder();
  // Not every fetch ends a body it already handed over when its signal aborts.
  const stop = () => void reader.cancel().catch(() => undefined);
  signal?.addEventListener("abort", stop);
  try {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const { done, value } = await reader.read();
      if (signal?.aborted) throw signal.reason;
      if (done) break;
      onChunk?.();
      parser.push(decoder.decode(value, { stream: true }));
    }
    parser.push(decoder.decode());
    parser.end();
  } finally {
    signal?.removeEventListener("abort", stop);
    reader.releaseLock();
  }
}
