import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Account } from "@/lib/api/types";
import { useUiStore } from "@/lib/uiStore";
import { AUTOSAVE_DELAY_MS } from "../hooks/useAutosave";
import { Composer } from "./Composer";

const ACCOUNT = { id: "acc-1", kind: "imap", email: "me@example.org" } as Account;
const DRAFT_ID = "d-1";

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

function draftRead(body: Record<string, unknown>) {
  return {
    id: DRAFT_ID,
    account_id: ACCOUNT.id,
    folder_id: "drafts",
    to: [],
    cc: [],
    bcc: [],
    subject: body.subject ?? "",
    body_text: body.body_text ?? "",
    body_html: null,
    attachments: [],
    in_reply_to_id: null,
    send_status: "draft",
    send_at: null,
    send_error: null,
    updated_at: "2026-11-27T15:00:00Z",
  };
}

describe("Composer drafts", { timeout: 15_000 }, () => {
  const calls: { method: string; path: string; body: Record<string, unknown> | null }[] = [];

  beforeEach(() => {
    calls.length = 0;
    vi.useFakeTimers({ shouldAdvanceTime: true });
    vi.stubGlobal(
      "fetch",
      vi.fn(async (input: RequestInfo | URL) => {
        const request = input instanceof Request ? input : new Request(String(input));
        const path = new URL(request.url, "http://localhost").pathname;
        const text = await request.text();
        const body = text ? (JSON.parse(text) as Record<string, unknown>) : null;
        calls.push({ method: request.method, path, body });
        if (path === "/api/drafts" && request.method === "POST") {
          return json(201, draftRead(body ?? {}));
        }
        if (path === `/api/drafts/${DRAFT_ID}` && request.method === "PUT") {
          return json(200, draftRead(body ?? {}));
        }
        if (path === `/api/drafts/${DRAFT_ID}/send`) {
          return json(202, { email_id: DRAFT_ID, send_status: "scheduled" });
        }
        return json(404, { error: { code: "RES001", message: "Not found", details: {} } });
      }),
    );
  });

  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  function renderComposer() {
    useUiStore.setState({ compose: { kind: "new" } });
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    render(
      <QueryClientProvider client={client}>
        <Composer mode={{ kind: "new" }} accounts={[ACCOUNT]} />
      </QueryClientProvider>,
    );
    return userEvent.setup({ delay: null });
  }

  const drafts = () => calls.filter((c) => c.path.startsWith("/api/drafts"));

  it("saves nothing until something is written", async () => {
    renderComposer();
    await act(() => vi.advanceTimersByTimeAsync(5 * AUTOSAVE_DELAY_MS));
    expect(drafts()).toEqual([]);
  });

  it("creates the draft two seconds after typing stops, then replaces it", async () => {
    const user = renderComposer();
    await user.type(screen.getByLabelText("Subject"), "Offsite");
    await user.type(screen.getByLabelText("Message"), "See you");
    expect(drafts()).toEqual([]);

    await act(() => vi.advanceTimersByTimeAsync(AUTOSAVE_DELAY_MS));
    await waitFor(() => expect(drafts()).toHaveLength(1));
    expect(drafts()[0]).toMatchObject({
      method: "POST",
      body: { account_id: ACCOUNT.id, subject: "Offsite", body_text: "See you" },
    });
    expect(await screen.findByText(/Draft saved at/)).toBeInTheDocument();

    await user.type(screen.getByLabelText("Message"), " there");
    await act(() => vi.advanceTimersByTimeAsync(AUTOSAVE_DELAY_MS));
    await waitFor(() => expect(drafts()).toHaveLength(2));
    expect(drafts()[1]).toMatchObject({
      method: "PUT",
      path: `/api/drafts/${DRAFT_ID}`,
      body: { body_text: "See you there" },
    });
  });

  it("Ctrl+S saves at once", async () => {
    const user = renderComposer();
    await user.type(screen.getByLabelText("Message"), "Quick note");
    await user.keyboard("{Control>}s{/Control}");
    await waitFor(() => expect(drafts()).toHaveLength(1));
    await act(() => vi.advanceTimersByTimeAsync(5 * AUTOSAVE_DELAY_MS));
    expect(drafts()).toHaveLength(1);
  });

  it("schedules the draft itself for the chosen time", async () => {
    const user = renderComposer();
    await user.type(screen.getByLabelText("To"), "grace@example.net");
    await user.type(screen.getByLabelText("Message"), "Later");
    await user.click(screen.getByLabelText("Send later"));
    const when = screen.getByLabelText("Send at");
    const at = new Date(Date.now() + 86_400_000);
    at.setSeconds(0, 0);
    const pad = (n: number) => String(n).padStart(2, "0");
    const value =
      `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}` +
      `T${pad(at.getHours())}:${pad(at.getMinutes())}`;
    await user.clear(when);
    await user.type(when, value);
    await user.click(screen.getByRole("button", { name: "Schedule" }));

    await waitFor(() =>
      expect(calls.some((c) => c.path === `/api/drafts/${DRAFT_ID}/send`)).toBe(true),
    );
    const sent = calls.find((c) => c.path === `/api/drafts/${DRAFT_ID}/send`);
    expect(sent?.body).toEqual({ send_at: at.toISOString() });
    expect(useUiStore.getState().compose).toBeNull();
  });
});
