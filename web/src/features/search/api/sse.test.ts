import { describe, expect, it } from "vitest";
import { createSseParser, readEventStream, type SseEvent } from "./sse";

function parseChunks(chunks: string[]): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = createSseParser((event) => events.push(event));
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return events;
}

const STREAM =
  ': answering\n\nevent: answer\ndata: {"delta":"Hello"}\n\n' +
  'event: answer\ndata: {"delta":" world."}\n\nevent: done\ndata: {"mode":"extractive"}\n\n';

describe("createSseParser", () => {
  it("reads named events and skips comments", () => {
    expect(parseChunks([STREAM]).map((e) => [e.event, e.data])).toEqual([
      ["answer", '{"delta":"Hello"}'],
      ["answer", '{"delta":" world."}'],
      ["done", '{"mode":"extractive"}'],
    ]);
  });

  it("gives the same events however the text is cut into chunks", () => {
    const whole = parseChunks([STREAM]);
    for (let size = 1; size <= 7; size += 1) {
      const chunks = [];
      for (let i = 0; i < STREAM.length; i += size) chunks.push(STREAM.slice(i, i + size));
      expect(parseChunks(chunks)).toEqual(whole);
    }
  });

  it("accepts CRLF and CR line ends, also with CRLF split across chunks", () => {
    const events = parseChunks(["event: a\r", "\ndata: 1\r\n\r", "\nevent: b\rdata: 2\r\r"]);
    expect(events.map((e) => [e.event, e.data])).toEqual([
      ["a", "1"],
      ["b", "2"],
    ]);
  });

  it("joins data lines with newlines and defaults the event name to message", () => {
    const [event] = parseChunks(["data: first\ndata:second\ndata\nid: 7\n\n"]);
    expect(event).toEqual({ event: "message", data: "first\nsecond\n", id: "7" });
  });

  it("drops an event the stream did not finish, and events without data", () => {
    expect(parseChunks(["event: ping\n\nevent: answer\ndata: cut"])).toEqual([]);
  });
});

describe("readEventStream", () => {
  it("reads a streamed body, across multi-byte characters split between chunks", async () => {
    const bytes = new TextEncoder().encode('event: answer\ndata: {"delta":"Grüße 👋"}\n\n');
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        // Every byte its own chunk: the umlaut and the emoji arrive in pieces.
        for (const byte of bytes) controller.enqueue(new Uint8Array([byte]));
        controller.close();
      },
    });
    const events: SseEvent[] = [];
    let chunks = 0;
    await readEventStream(new Response(body), (event) => events.push(event), {
      onChunk: () => (chunks += 1),
    });
    expect(events).toEqual([{ event: "answer", data: '{"delta":"Grüße 👋"}', id: "" }]);
    expect(chunks).toBe(bytes.length);
  });
});
