/** An error answer of the API (`{"error": {code, message, details}}`) or a failed request. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(
    status: number,
    code: string,
    message: string,
    details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** Client errors are final: retrying the same request cannot help. */
  get isClientError(): boolean {
    return this.status >= 400 && this.status < 500;
  }
}

/** The code a network failure or timeout is reported under (no answer from the server). */
export const NETWORK_ERROR = "NETWORK";

interface ErrorEnvelope {
  error?: { code?: unknown; message?: unknown; details?: unknown };
}

/** Builds an ApiError from an error body as openapi-fetch returns it. */
export function toApiError(status: number, body: unknown): ApiError {
  const detail = (body as ErrorEnvelope | null | undefined)?.error;
  const code = typeof detail?.code === "string" ? detail.code : status >= 500 ? "SRV001" : "VAL002";
  const message = typeof detail?.message === "string" ? detail.message : `HTTP ${status}`;
  const details =
    detail?.details && typeof detail.details === "object"
      ? (detail.details as Record<string, unknown>)
      : {};
  return new ApiError(status, code, message, details);
}

export async function errorFromResponse(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.clone().json();
  } catch {
    body = null;
  }
  return toApiError(response.status, body);
}
