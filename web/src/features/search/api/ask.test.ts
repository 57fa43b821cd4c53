import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "@/lib/api/errors";
import { resetSessionForTests, setAccessToken } from "@/lib/auth/session";
import type { Citation } from "../types";
import { askQuestion } from "./ask";

const CITATION: Citation = {
  email_id: "11111111-1111-1111-1111-111111111111",
  subject: "Boat trip",
  sender: { name: "Ada", address: "ada@example.net" },
  date: "2026-11-20T10:00:00Z",
  snippet: "The boat leaves at nine.",
};

/** A response body the test writes into while the client reads it. */
function pipe() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  const encoder = new TextEncoder();
  return {
    body,
    write: (text: string) => controller.enqueue(encoder.encode(text)),
    close: () => controller.close(),
  };
}

const event = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("askQuestion", () => {
  let requests: Request[];
  let answer: (request: Request) => Response;

  beforeEach(() => {
    resetSessionForTests();
    setAccessToken("token-1", 900);
    requests = [];
    vi.stubGlobal(
      "fetch",
      vi.fn((input: RequestInfo | URL, init?: RequestInit) => {
        const request = input instanceof Request ? input : new Request(input, init);
        requests.push(request);
        return Promise.resolve(answer(request));
      }),
    );
  });

  afterEach(() => {
    vi.unstubAllGlobals();
    resetSessionForTests();
  });

  it("hands over each piece of the answer as it arrives, then the citations and mode", async () => {
    const stream = pipe();
    answer = () => new Response(stream.body, { headers: { "Content-Type": "text/event-stream" } });
    const deltas: string[] = [];
    const cited: Citation[][] = [];
    const done = askQuestion(
      { question: "When does the boat leave?" },
      new AbortController().signal,
      {
        onDelta: (delta) => deltas.push(delta),
        onCitations: (citations) => cited.push(citations),
      },
    );

    stream.write(": answering\n\n");
    stream.write(event("answer", { delta: "At nine" }));
    await flush();
    await flush();
    expect(deltas).toEqual(["At nine"]);

    stream.write(event("answer", { delta: " [1]." }));
    stream.write(event("citations", [CITATION]));
    stream.write(event("done", { mode: "generative" }));
    stream.close();
    const result = await done;

    expect(deltas).toEqual(["At nine", " [1]."]);
    expect(cited).toEqual([[CITATION]]);
    expect(result).toEqual({ answer: "At nine [1].", citations: [CITATION], mode: "generative" });
    const request = requests[0]!;
    expect(request.method).toBe("POST");
    expect(request.headers.get("Accept")).toContain("text/event-stream");
    expect(request.headers.get("Authorization")).toBe("Bearer token-1");
    expect(await request.json()).toEqual({ question: "When does the boat leave?" });
  });

  it("takes a whole JSON answer when the server does not stream", async () => {
    answer = () =>
      Response.json({ answer: "From your mail: …", citations: [CITATION], mode: "extractive" });
    const deltas: string[] = [];
    const result = await askQuestion({ question: "boat" }, new AbortController().signal, {
      onDelta: (delta) => deltas.push(delta),
    });
    expect(deltas).toEqual(["From your mail: …"]);
    expect(result.citations).toEqual([CITATION]);
    expect(result.mode).toBe("extractive");
  });

  it("fails when the stream ends before it is done", async () => {
    answer = () =>
      new Response(event("answer", { delta: "Half" }), {
        headers: { "Content-Type": "text/event-stream" },
      });
    await expect(
      askQuestion({ question: "x" }, new AbortController().signal),
    ).rejects.toMatchObject({ code: "NETWORK" });
  });

  it("reports an error answer with its code and retry time", async () => {
    answer = () =>
      Response.json(
        { error: { code: "RATE001", message: "Slow down", details: { retryAfter: 12 } } },
        { status: 429 },
      );
    const error = await askQuestion({ question: "x" }, new AbortController().signal).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: "RATE001", details: { retryAfter: 12 } });
  });

  it("refreshes an expired token once and asks again", async () => {
    answer = (request) => {
      if (request.url.endsWith("/api/auth/refresh")) {
        return Response.json({ access_token: "token-2", expires_in: 900 });
      }
      if (request.headers.get("Authorization") === "Bearer token-1") {
        return Response.json({ error: { code: "AUTH002", message: "expired" } }, { status: 401 });
      }
      return Response.json({ answer: "Yes [1]", citations: [CITATION], mode: "extractive" });
    };
    const result = await askQuestion({ question: "x" }, new AbortController().signal);
    expect(result.answer).toBe("Yes [1]");
    const asks = requests.filter((r) => r.url.endsWith("/api/ai/ask"));
    expect(asks.map((r) => r.headers.get("Authorization"))).toEqual([
      "Bearer token-1",
      "Bearer token-2",
    ]);
  });

  it("stops reading when cancelled", async () => {
    const stream = pipe();
    answer = () => new Response(stream.body, { headers: { "Content-Type": "text/event-stream" } });
    const controller = new AbortController();
    const deltas: string[] = [];
    const done = askQuestion({ question: "x" }, controller.signal, {
      onDelta: (delta) => deltas.push(delta),
    });
    stream.write(event("answer", { delta: "One." }));
    await flush();
    await flush();
    controller.abort();
    const error = await done.catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "AbortError" });
    await flush();
    expect(deltas).toEqual(["One."]);
  });
});
