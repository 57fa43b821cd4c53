/**
 * The signed-in session: the access token lives in memory only; the refresh token is the
 * HttpOnly `mm_refresh` cookie (Path=/api/auth), rotated on every `POST /api/auth/refresh`.
 *
 * Refreshes are single-flight within a tab and serialised across tabs (Web Locks), because
 * presenting an already rotated refresh token ends the whole session (AUTH009).
 */
import { ApiError, NETWORK_ERROR, errorFromResponse } from "@/lib/api/errors";

export type SessionStatus = "unknown" | "authenticated" | "anonymous";

interface State {
  status: SessionStatus;
  token: string | null;
  expiresAt: number;
}

type Listener = () => void;

/** Refresh this long before the access token expires. */
const REFRESH_MARGIN_MS = 60_000;
const REFRESH_URL = "/api/auth/refresh";

let state: State = { status: "unknown", token: null, expiresAt: 0 };
const listeners = new Set<Listener>();
let inflight: Promise<string> | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;

function emit(next: State): void {
  state = next;
  for (const listener of listeners) listener();
}

function schedule(expiresInSeconds: number): void {
  clearTimeout(timer);
  const delay = Math.max(expiresInSeconds * 1000 - REFRESH_MARGIN_MS, 5_000);
  timer = setTimeout(() => {
    refresh().catch(() => undefined);
  }, delay);
}

async function withLock<T>(run: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
  if (!locks) return run();
  return locks.request("mailmind-refresh", run);
}

async function requestRefresh(): Promise<{ access_token: string; expires_in: number }> {
  let response: Response;
  try {
    response = await fetch(new URL(REFRESH_URL, window.location.origin), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: "{}",
      signal: AbortSignal.timeout(10_000),
    });
  } catch {
    throw new ApiError(0, NETWORK_ERROR, "The server could not be reached");
  }
  if (!response.ok) throw await errorFromResponse(response);
  return (await response.json()) as { access_token: string; expires_in: number };
}

/** Signs in with an access token from login or refresh. */
export function setAccessToken(token: string, expiresInSeconds: number): void {
  emit({ status: "authenticated", token, expiresAt: Date.now() + expiresInSeconds * 1000 });
  schedule(expiresInSeconds);
}

/** Forgets the session locally (after logout, or when the server ended it). */
export function clearSession(): void {
  clearTimeout(timer);
  emit({ status: "anonymous", token: null, expiresAt: 0 });
}

/**
 * Gets a fresh access token through the refresh cookie. Concurrent callers share one request.
 * AUTH009/AUTH010 (no or dead session) sign the user out; a network failure keeps the state.
 */
export function refresh(): Promise<string> {
  inflight ??= withLock(requestRefresh)
    .then((answer) => {
      setAccessToken(answer.access_token, answer.expires_in);
      return answer.access_token;
    })
    .catch((error: unknown) => {
      if (error instanceof ApiError && error.code !== NETWORK_ERROR && error.status < 500) {
        clearSession();
      } else if (state.status === "unknown") {
        clearSession();
      }
      throw error;
    })
    .finally(() => {
      inflight = null;
    });
  return inflight;
}

export function getAccessToken(): string | null {
  return state.token;
}

export function getSessionState(): State {
  return state;
}

export function subscribeSession(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** For tests: back to the state of a fresh page. */
export function resetSessionForTests(): void {
  clearTimeout(timer);
  inflight = null;
  state = { status: "unknown", token: null, expiresAt: 0 };
  listeners.clear();
}
