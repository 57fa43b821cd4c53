import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { resetSessionForTests, setAccessToken } from "@/lib/auth/session";
import type { EmailSummary } from "@/lib/api/types";
import { RelatedMessages } from "./RelatedMessages";

function summary(id: string, subject: string): EmailSummary {
  return {
    id,
    account_id: "a",
    folder_id: "f",
    thread_id: null,
    subject,
    sender: { name: "Grace Hopper", address: "grace@example.net" },
    to: [],
    date: "2026-11-20T10:00:00Z",
    preview: "",
    is_read: true,
    is_starred: false,
    has_attachments: false,
    category: null,
    needs_review: false,
    priority: null,
    priority_band: null,
    tags: [],
    snoozed_until: null,
    send_status: null,
    ai_status: "done",
  };
}

describe("RelatedMessages", () => {
  let items: { email: EmailSummary; score: number }[];
  const paths: string[] = [];

  beforeEach(() => {
    resetSessionForTests();
    setAccessToken("token", 900);
    paths.length = 0;
    vi.stubGlobal(
      "fetch",
      vi.fn((input: Request) => {
        paths.push(new URL(input.url).pathname + new URL(input.url).search);
        return Promise.resolve(Response.json({ items }));
      }),
    );
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    resetSessionForTests();
  });

  function renderRelated() {
    const onOpen = vi.fn();
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    const view = render(
      <QueryClientProvider client={client}>
        <RelatedMessages
          emailId="e1"
          hrefFor={(id) => `/mail/inbox/message/${id}`}
          onOpen={onOpen}
        />
      </QueryClientProvider>,
    );
    return { onOpen, ...view };
  }

  it("lists the related messages, which open on click", async () => {
    items = [{ email: summary("e2", "Offsite venue"), score: 0.8 }];
    const { onOpen } = renderRelated();
    const link = await screen.findByRole("link", { name: /Offsite venue/ });
    expect(link).toHaveAttribute("href", "/mail/inbox/message/e2");
    expect(paths).toEqual(["/api/emails/e1/related?limit=5"]);
    await userEvent.setup().click(link);
    expect(onOpen).toHaveBeenCalledWith("e2");
  });

  it("shows nothing when no message is related", async () => {
    items = [];
    const { container } = renderRelated();
    await vi.waitFor(() => expect(paths).toHaveLength(1));
    await vi.waitFor(() => expect(container).toBeEmptyDOMElement());
  });
});
