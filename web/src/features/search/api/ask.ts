/**
 * `POST /api/ai/ask`, streamed: the answer arrives as `answer` events ({delta}), then
 * `citations` (the list) and `done` ({mode}). A server or proxy that answers with plain JSON
 * gives the whole answer at once instead.
 */
import { ApiError, NETWORK_ERROR, errorFromResponse } from "@/lib/api/errors";
import { getAccessToken, refresh } from "@/lib/auth/session";
import type { AnswerMode, AskAnswer, AskRequest, Citation } from "../types";
import { readEventStream, type SseEvent } from "./sse";

/** Until the answer's headers arrive, as for every other request. */
export const CONNECT_TIMEOUT_MS = 10_000;
/** Between two chunks of the stream: a remote model may think for a while before writing. */
export const IDLE_TIMEOUT_MS = 60_000;

export interface AskHandlers {
  onDelta?: (text: string) => void;
  onCitations?: (citations: Citation[]) => void;
}

class Deadline {
  private timer: ReturnType<typeof setTimeout> | undefined;
  expired = false;

  constructor(private readonly controller: AbortController) {}

  set(ms: number) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.expired = true;
      this.controller.abort();
    }, ms);
  }

  clear() {
    clearTimeout(this.timer);
  }
}

/** Folds the events of an ask stream into the answer, reporting each piece as it comes. */
export function askStreamCollector(handlers: AskHandlers = {}) {
  let answer = "";
  let citations: Citation[] = [];
  let mode: AnswerMode | null = null;
  return {
    onEvent: (event: SseEvent) => {
      if (event.event === "answer") {
        const delta = (JSON.parse(event.data) as { delta?: unknown }).delta;
        if (typeof delta === "string" && delta) {
          answer += delta;
          handlers.onDelta?.(delta);
        }
      } else if (event.event === "citations") {
        citations = JSON.parse(event.data) as Citation[];
        handlers.onCitations?.(citations);
      } else if (event.event === "done") {
        const value = (JSON.parse(event.data) as { mode?: unknown }).mode;
        mode = value === "generative" ? "generative" : "extractive";
      }
    },
    /** The answer, once `done` was seen; a stream cut short before it is an error. */
    result: (): AskAnswer => {
      if (mode === null) {
        throw new ApiError(0, NETWORK_ERROR, "The answer stream ended early");
      }
      return { answer, citations, mode };
    },
  };
}

async function post(body: AskRequest, signal: AbortSignal, token: string | null) {
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    Accept: "text/event-stream, application/json",
  };
  if (token) headers.Authorization = `Bearer ${token}`;
  return fetch(new URL("/api/ai/ask", window.location.origin), {
    method: "POST",
    headers,
    body: JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
    signal,
  });
}

/**
 * Asks, streaming the answer into `handlers`, and resolves to the whole answer. Aborting
 * `signal` cancels the request (the promise rejects with the abort). A slow server ends as
 * SRV003, no connection as NETWORK, an error answer as its ApiError.
 */
export async function askQuestion(
  body: AskRequest,
  signal: AbortSignal,
  handlers: AskHandlers = {},
): Promise<AskAnswer> {
  const controller = new AbortController();
  const forward = () => controller.abort(signal.reason);
  if (signal.aborted) forward();
  signal.addEventListener("abort", forward);
  const deadline = new Deadline(controller);
  const failure = (error: unknown): unknown => {
    if (deadline.expired) return new ApiError(0, "SRV003", "The server took too long to answer");
    if (signal.aborted || error instanceof ApiError) return error;
    return new ApiError(0, NETWORK_ERROR, "The server could not be reached");
  };
  try {
    deadline.set(CONNECT_TIMEOUT_MS);
    let response = await post(body, controller.signal, getAccessToken());
    if (response.status === 401 || response.status === 400) {
      const error = await errorFromResponse(response);
      if (error.code !== "AUTH002") throw error;
      response = await post(body, controller.signal, await refresh());
    }
    if (!response.ok) throw await errorFromResponse(response);
    deadline.set(IDLE_TIMEOUT_MS);
    const type = response.headers.get("content-type") ?? "";
    if (!type.includes("text/event-stream")) {
      const whole = (await response.json()) as AskAnswer;
      if (whole.answer) handlers.onDelta?.(whole.answer);
      handlers.onCitations?.(whole.citations);
      return whole;
    }
    const collector = askStreamCollector(handlers);
    await readEventStream(response, collector.onEvent, {
      onChunk: () => deadline.set(IDLE_TIMEOUT_MS),
      signal: controller.signal,
    });
    return collector.result();
  } catch (error) {
    throw failure(error);
  } finally {
    deadline.clear();
    signal.removeEventListener("abort", forward);
  }
}
