import { ApiError } from "@/lib/api/errors";

/** Seconds until a rate-limited request may be tried again (`details.retryAfter`), or null. */
export function retryAfterSeconds(error: unknown): number | null {
  if (!(error instanceof ApiError) || !error.code.startsWith("RATE")) return null;
  const value = Number(error.details.retryAfter);
  return Number.isFinite(value) && value > 0 ? Math.ceil(value) : null;
}
