import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { EmailDetail } from "@/lib/api/types";
import { useUiStore } from "@/lib/uiStore";
import { useEmail } from "../api/queries";
import { AiPanel } from "./AiPanel";

const ID = "3f1c6a2e-0000-4000-8000-000000000001";

function detail(overrides: Partial<EmailDetail> = {}): EmailDetail {
  return {
    id: ID,
    account_id: "a",
    folder_id: "f",
    thread_id: null,
    subject: "ACME contract renewal",
    sender: { name: "Grace Hopper", address: "grace@example.net" },
    to: [{ name: "", address: "me@example.org" }],
    date: "2026-11-27T10:00:00Z",
    preview: "the framework contract",
    is_read: true,
    is_starred: false,
    has_attachments: false,
    category: "personal",
    needs_review: true,
    priority: 70,
    priority_band: "high",
    tags: ["Clients/ACME"],
    snoozed_until: null,
    send_status: null,
    ai_status: "done",
    cc: [],
    reply_to: [],
    body_text: "Could you please review the draft by Friday?",
    body_html: null,
    has_remote_images: false,
    attachments: [],
    summary: "ACME sent a renewed contract draft with higher storage rates.",
    action_items: [
      {
        text: "Review the draft and send your approval",
        due_date: "2026-12-04",
        owner: null,
        done: false,
      },
    ],
    priority_reasons: [
      { code: "direct_recipient", text: "Sent directly to you", weight: 10 },
      { code: "deadline_soon", text: "Deadline on 2026-12-04", weight: 20 },
      { code: "sender_reputation", text: "A reason the client does not know", weight: null },
    ],
    ...overrides,
  };
}

const SETTINGS = {
  language: "en",
  timezone: "Europe/Berlin",
  ai: {
    enabled: true,
    local_only: true,
    summary_language: "ui",
    redact_pii: true,
    features: {
      classify: { enabled: true, provider: "auto" },
      priority: { enabled: true, provider: "auto" },
      tags: { enabled: true, provider: "auto" },
      summary: { enabled: true, provider: "auto" },
      suggestions: { enabled: true, provider: "auto" },
      ask: { enabled: true, provider: "auto" },
    },
  },
};

const DECISIONS = {
  items: [
    {
      id: "d1",
      email_id: ID,
      feature: "classify",
      provider: "local",
      model: "mailmind-classify-v1",
      prompt_version: "1",
      input_hash: "x",
      output: { category: "personal" },
      confidence: 0.62,
      reasons: ["header:list-unsubscribe", "content:personal"],
      remote: false,
      latency_ms: 12,
      sent_payload: null,
      created_at: "2026-11-27T10:00:05Z",
    },
    {
      id: "d2",
      email_id: ID,
      feature: "suggestions",
      provider: "local",
      model: "mailmind-suggestions-v1",
      prompt_version: "1",
      input_hash: "y",
      output: {
        suggestions: [
          {
            id: "s1",
            text: "Thanks, I will review it by Friday.",
            tone: "business",
            language: "en",
          },
        ],
      },
      confidence: 0.7,
      reasons: [{ intent: "question", tone: "business" }],
      remote: false,
      latency_ms: 3,
      sent_payload: null,
      created_at: "2026-11-27T10:00:06Z",
    },
  ],
};

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

function Harness() {
  const email = useEmail(ID);
  return email.data ? <AiPanel email={email.data} /> : null;
}

describe("AiPanel", () => {
  let server: EmailDetail;
  let patch: (body: Record<string, unknown>) => Promise<Response>;
  const patches: Record<string, unknown>[] = [];

  beforeEach(() => {
    server = detail();
    patches.length = 0;
    // As the server answers: a priority the user sets replaces the computed reasons.
    patch = (body) => {
      server = { ...server, ...body, needs_review: false };
      if (typeof body.priority === "number") {
        server.priority_band = body.priority >= 70 ? "high" : "medium";
        server.priority_reasons = [{ code: "user_override", text: "Set by you", weight: null }];
      }
      return Promise.resolve(json(200, server));
    };
    vi.stubGlobal(
      "fetch",
      vi.fn(async (input: RequestInfo | URL) => {
        const request = input instanceof Request ? input : new Request(String(input));
        const path = new URL(request.url, "http://localhost").pathname;
        if (path === "/api/settings") return json(200, SETTINGS);
        if (path === `/api/emails/${ID}/ai-decisions`) return json(200, DECISIONS);
        if (path === `/api/emails/${ID}` && request.method === "PATCH") {
          const body = (await request.json()) as Record<string, unknown>;
          patches.push(body);
          return patch(body);
        }
        if (path === `/api/emails/${ID}`) return json(200, server);
        return json(404, { error: { code: "RES001", message: "Not found", details: {} } });
      }),
    );
  });

  afterEach(() => {
    vi.unstubAllGlobals();
    useUiStore.setState({ compose: null });
  });

  function renderPanel() {
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    render(
      <QueryClientProvider client={client}>
        <Harness />
      </QueryClientProvider>,
    );
    return screen.findByRole("region", { name: "AI insight" });
  }

  it("shows the summary, action items and the priority with readable reasons", async () => {
    const panel = await renderPanel();
    expect(within(panel).getByText(server.summary ?? "")).toBeInTheDocument();
    expect(within(panel).getByText("made on this server")).toBeInTheDocument();
    expect(within(panel).getByText("Review the draft and send your approval")).toBeInTheDocument();
    expect(within(panel).getByText(/due Dec 4, 2026/)).toBeInTheDocument();
    expect(within(panel).getByText("Priority 70 of 100 · High")).toBeInTheDocument();

    const reasons = within(panel).getByRole("list", { name: "Why this priority" });
    const items = within(reasons)
      .getAllByRole("listitem")
      .map((li) => li.textContent);
    expect(items).toEqual([
      "+10Sent directly to you",
      "+20Deadline on 2026-12-04",
      "A reason the client does not know",
    ]);
    expect(reasons).not.toHaveTextContent("direct_recipient");
    expect(within(panel).getByLabelText("Category")).toHaveValue("personal");
    expect(within(panel).getByText("Please check")).toBeInTheDocument();
    expect(within(panel).getByText("Clients/ACME")).toBeInTheDocument();
  });

  it("explains the decisions under Why?", async () => {
    const panel = await renderPanel();
    await userEvent.click(within(panel).getByRole("button", { name: "Why?" }));
    const why = await within(panel).findByRole("region", { name: "How the AI decided" });
    expect(within(why).getByText("It has an unsubscribe link")).toBeInTheDocument();
    expect(within(why).getByText("The content reads like Personal mail")).toBeInTheDocument();
    expect(within(why).getByText("62%")).toBeInTheDocument();
    expect(within(why).getByText("this server (mailmind-classify-v1)")).toBeInTheDocument();
  });

  it("a category correction shows at once, is sent to the API and stays", async () => {
    let answer: (response: Response) => void = () => undefined;
    patch = (body) =>
      new Promise<Response>((resolve) => {
        answer = resolve;
        server = { ...server, ...body, needs_review: false };
      });
    const panel = await renderPanel();
    const select = within(panel).getByLabelText("Category");
    await userEvent.selectOptions(select, "work");

    // Optimistic: the new value shows while the request is still open.
    expect(select).toHaveValue("work");
    await waitFor(() => expect(patches).toEqual([{ category: "work" }]));
    answer(json(200, server));
    await waitFor(() => expect(within(panel).queryByText("Please check")).toBeNull());
    expect(select).toHaveValue("work");
  });

  it("a failed correction goes back to the old category and says why", async () => {
    patch = () =>
      Promise.resolve(json(409, { error: { code: "RES003", message: "Conflict", details: {} } }));
    const panel = await renderPanel();
    const select = within(panel).getByLabelText("Category");
    await userEvent.selectOptions(select, "spam");
    expect(await within(panel).findByRole("alert")).toHaveTextContent(
      "This conflicts with a change made meanwhile.",
    );
    expect(select).toHaveValue("personal");
  });

  it("raising the priority sends the new score and marks it as set by the user", async () => {
    server = detail({ priority: 50, priority_band: "medium" });
    const panel = await renderPanel();
    await userEvent.click(within(panel).getByRole("button", { name: "Raise priority" }));
    await waitFor(() => expect(patches).toEqual([{ priority: 85 }]));
    expect(await within(panel).findByText("Set by you")).toBeInTheDocument();
  });

  it("a suggested reply opens the reply composer with its text", async () => {
    const panel = await renderPanel();
    await userEvent.click(
      await within(panel).findByRole("button", {
        name: "Reply with: Thanks, I will review it by Friday.",
      }),
    );
    expect(useUiStore.getState().compose).toEqual({
      kind: "reply",
      emailId: ID,
      all: false,
      body: "Thanks, I will review it by Friday.",
    });
  });

  it("is hidden when AI is switched off", async () => {
    SETTINGS.ai.enabled = false;
    try {
      const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
      render(
        <QueryClientProvider client={client}>
          <Harness />
        </QueryClientProvider>,
      );
      await waitFor(() => expect(client.getQueryData(["settings"])).toBeDefined());
      expect(screen.queryByRole("region", { name: "AI insight" })).toBeNull();
    } finally {
      SETTINGS.ai.enabled = true;
    }
  });
});
