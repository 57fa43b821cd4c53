import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { api, unwrap } from "./client";
import { ApiError } from "./errors";
import { getSessionState, resetSessionForTests, setAccessToken } from "@/lib/auth/session";

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

const expired = () =>
  json(401, { error: { code: "AUTH002", message: "Token expired", details: {}, timestamp: "" } });

describe("api client", () => {
  const calls: { url: string; auth: string | null; method: string }[] = [];
  let handler: (request: Request) => Response;

  beforeEach(() => {
    resetSessionForTests();
    calls.length = 0;
    vi.stubGlobal(
      "fetch",
      vi.fn((input: RequestInfo | URL, init?: RequestInit) => {
        const request = input instanceof Request ? input : new Request(String(input), init);
        const url = new URL(request.url, "http://localhost").pathname;
        calls.push({ url, auth: request.headers.get("Authorization"), method: request.method });
        return Promise.resolve(handler(request));
      }),
    );
  });

  afterEach(() => {
    vi.unstubAllGlobals();
    resetSessionForTests();
  });

  it("refreshes once on AUTH002 and retries with the new token", async () => {
    setAccessToken("old-token", 900);
    handler = (request) => {
      const url = new URL(request.url, "http://localhost").pathname;
      if (url === "/api/auth/refresh")
        return json(200, { access_token: "new-token", expires_in: 900 });
      if (request.headers.get("Authorization") === "Bearer old-token") return expired();
      return json(200, { id: "u1", email: "a@example.com" });
    };

    const me = unwrap(await api.GET("/api/auth/me"));

    expect(me.email).toBe("a@example.com");
    expect(calls.map((c) => [c.url, c.auth])).toEqual([
      ["/api/auth/me", "Bearer old-token"],
      ["/api/auth/refresh", null],
      ["/api/auth/me", "Bearer new-token"],
    ]);
    expect(getSessionState().token).toBe("new-token");
  });

  it("shares one refresh between concurrent requests (a rotated token must not be reused)", async () => {
    setAccessToken("old-token", 900);
    handler = (request) => {
      const url = new URL(request.url, "http://localhost").pathname;
      if (url === "/api/auth/refresh")
        return json(200, { access_token: "new-token", expires_in: 900 });
      if (request.headers.get("Authorization") === "Bearer old-token") return expired();
      return json(200, { items: [], next_cursor: null });
    };

    await Promise.all([api.GET("/api/accounts"), api.GET("/api/accounts"), api.GET("/api/tags")]);

    expect(calls.filter((c) => c.url === "/api/auth/refresh")).toHaveLength(1);
    expect(calls.filter((c) => c.auth === "Bearer new-token")).toHaveLength(3);
  });

  it("signs out when the refresh is refused (AUTH010) and reports the first error", async () => {
    setAccessToken("old-token", 900);
    handler = (request) => {
      const url = new URL(request.url, "http://localhost").pathname;
      if (url === "/api/auth/refresh") {
        return json(401, { error: { code: "AUTH010", message: "Session expired", details: {} } });
      }
      return expired();
    };

    const result = await api.GET("/api/auth/me");

    expect(() => unwrap(result)).toThrow(ApiError);
    expect(getSessionState().status).toBe("anonymous");
    expect(calls.filter((c) => c.url === "/api/auth/me")).toHaveLength(1);
  });

  it("does not refresh on other errors and keeps their code", async () => {
    setAccessToken("token", 900);
    handler = () => json(404, { error: { code: "RES001", message: "Not found", details: {} } });

    const result = await api.GET("/api/emails/{email_id}", { params: { path: { email_id: "x" } } });

    let error: unknown;
    try {
      unwrap(result);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe("RES001");
    expect(calls).toHaveLength(1);
  });
});
