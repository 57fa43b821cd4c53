import { QueryClient } from "@tanstack/react-query";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { queryKeys } from "@/lib/api/mailCache";
import type { EmailSummary } from "@/lib/api/types";
import { resetSessionForTests, setAccessToken } from "@/lib/auth/session";
import { prefetchMessage } from "./queries";

const row = { id: "e1", thread_id: "t1" } as EmailSummary;

describe("prefetchMessage", () => {
  const paths: string[] = [];

  beforeEach(() => {
    resetSessionForTests();
    setAccessToken("token", 900);
    paths.length = 0;
    vi.stubGlobal(
      "fetch",
      vi.fn((input: Request) => {
        paths.push(new URL(input.url).pathname);
        return Promise.resolve(Response.json({ id: "t1", subject: "Offsite", messages: [] }));
      }),
    );
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    resetSessionForTests();
  });

  it("loads the conversation the row opens, once while it is fresh", async () => {
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    prefetchMessage(client, row, true);
    await vi.waitFor(() => expect(client.getQueryData(queryKeys.thread("t1"))).toBeDefined());
    prefetchMessage(client, row, true);
    await Promise.resolve();
    expect(paths).toEqual(["/api/threads/t1"]);
  });

  it("loads the message alone where rows open messages (search results)", async () => {
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    prefetchMessage(client, row, false);
    await vi.waitFor(() => expect(paths).toEqual(["/api/emails/e1"]));
  });

  it("keeps a failure to itself", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(() => Promise.resolve(new Response("", { status: 500 }))),
    );
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    prefetchMessage(client, row, true);
    await vi.waitFor(() =>
      expect(client.getQueryState(queryKeys.thread("t1"))?.status).toBe("error"),
    );
  });
});
