/**
 * The typed API client: openapi-fetch over the generated `schema.d.ts`, with the bearer token,
 * a 10 s timeout, and one refresh-and-retry when the access token expired (AUTH002).
 */
import createClient from "openapi-fetch";
import { ApiError, NETWORK_ERROR, errorFromResponse, toApiError } from "./errors";
import type { components, paths } from "./schema";
import { clearSession, getAccessToken, refresh } from "@/lib/auth/session";

export type Schemas = components["schemas"];

export const REQUEST_TIMEOUT_MS = 10_000;

/** Codes after which the session is gone and the user must sign in again. */
const SESSION_ENDED = new Set(["AUTH009", "AUTH010"]);

function withAuth(request: Request, token: string | null): Request {
  const next = new Request(request);
  if (token) next.headers.set("Authorization", `Bearer ${token}`);
  return next;
}

async function send(request: Request): Promise<Response> {
  const signal = AbortSignal.any([AbortSignal.timeout(REQUEST_TIMEOUT_MS), request.signal]);
  try {
    return await fetch(new Request(request, { signal }));
  } catch (error) {
    if (request.signal.aborted) throw error;
    throw new ApiError(0, NETWORK_ERROR, "The server could not be reached");
  }
}

/** `fetch` for openapi-fetch: adds the token, refreshes once on AUTH002 and retries. */
export async function authFetch(input: Request): Promise<Response> {
  const retry = input.clone();
  const response = await send(withAuth(input, getAccessToken()));
  if (response.status !== 401 && response.status !== 400) return response;
  const error = await errorFromResponse(response);
  if (error.code === "AUTH002") {
    let token: string;
    try {
      token = await refresh();
    } catch {
      return response;
    }
    return send(withAuth(retry, token));
  }
  if (SESSION_ENDED.has(error.code) && !input.url.includes("/api/auth/")) clearSession();
  return response;
}

export const api = createClient<paths>({
  // Absolute, so that Request objects are valid outside a browser document too.
  baseUrl: typeof window === "undefined" ? "" : window.location.origin,
  fetch: authFetch,
  credentials: "same-origin",
});

/** Returns the data of an openapi-fetch answer or throws its error as an ApiError. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || !result.response.ok) {
    throw toApiError(result.response.status, result.error);
  }
  return result.data as T;
}
