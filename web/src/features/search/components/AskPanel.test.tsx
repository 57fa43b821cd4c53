import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { resetSessionForTests, setAccessToken } from "@/lib/auth/session";
import type { Citation } from "../types";
import { AskPanel } from "./AskPanel";

const CITATION: Citation = {
  email_id: "22222222-2222-2222-2222-222222222222",
  subject: "Boat trip",
  sender: { name: "Ada Lovelace", address: "ada@example.net" },
  date: "2026-11-20T10:00:00Z",
  snippet: "The ferry leaves at nine.",
};

const event = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

/** The answer's body, written by the test while the panel reads it. */
function stream() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  return {
    response: () => new Response(body, { headers: { "Content-Type": "text/event-stream" } }),
    write: (text: string) => controller.enqueue(new TextEncoder().encode(text)),
    close: () => controller.close(),
  };
}

describe("AskPanel", () => {
  let reply: () => Response;

  beforeEach(() => {
    resetSessionForTests();
    setAccessToken("token", 900);
    vi.stubGlobal(
      "fetch",
      vi.fn(() => Promise.resolve(reply())),
    );
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    resetSessionForTests();
  });

  function renderPanel() {
    const onOpen = vi.fn();
    render(<AskPanel openId={null} hrefFor={(id) => `/mail/ask/message/${id}`} onOpen={onOpen} />);
    return { onOpen, user: userEvent.setup() };
  }

  it("shows the answer as it streams, then its sources, which open the cited message", async () => {
    const answer = stream();
    reply = answer.response;
    const { user, onOpen } = renderPanel();
    const field = screen.getByLabelText("Your question");
    expect(field).toHaveFocus();
    await user.type(field, "When does the ferry leave?{Enter}");
    const region = screen.getByRole("region", { name: "Answer" });
    expect(region).toHaveAttribute("aria-busy", "true");
    expect(screen.getByRole("button", { name: "Stop" })).toBeInTheDocument();

    answer.write(event("answer", { delta: "From your mail:\n\nThe ferry leaves at nine." }));
    expect(await within(region).findByText(/The ferry leaves at nine\./)).toBeInTheDocument();
    expect(within(region).queryByRole("list")).toBeNull();

    answer.write(event("answer", { delta: " [1]" }));
    answer.write(event("citations", [CITATION]));
    answer.write(event("done", { mode: "extractive" }));
    answer.close();

    expect(
      await within(region).findByText("Local, extractive: passages quoted from your mail"),
    ).toBeInTheDocument();
    expect(region).toHaveAttribute("aria-busy", "false");
    const source = within(within(region).getByRole("list")).getByRole("link");
    expect(source).toHaveTextContent("Boat trip");
    expect(source).toHaveTextContent("Ada Lovelace");
    expect(source).toHaveAttribute("href", `/mail/ask/message/${CITATION.email_id}`);
    await user.click(source);
    expect(onOpen).toHaveBeenCalledWith(CITATION.email_id);

    await user.click(within(region).getByRole("link", { name: "Source 1: Boat trip" }));
    expect(onOpen).toHaveBeenCalledTimes(2);
  });

  it("says so when nothing in the mail answers, with no sources", async () => {
    reply = () =>
      new Response(
        event("answer", { delta: "I found nothing in your mail about that." }) +
          event("citations", []) +
          event("done", { mode: "extractive" }),
        { headers: { "Content-Type": "text/event-stream" } },
      );
    const { user } = renderPanel();
    await user.type(screen.getByLabelText("Your question"), "Wifi password?{Enter}");
    expect(await screen.findByText(/Nothing in your mail answers that\./)).toBeInTheDocument();
    expect(screen.queryByRole("list")).toBeNull();
    expect(screen.queryByText(/Local, extractive/)).toBeNull();
  });

  it("limits the question to the mail the filters name, also when asked again", async () => {
    reply = () => Response.json({ error: { code: "SRV001", message: "Boom" } }, { status: 500 });
    const { user } = renderPanel();
    await user.click(screen.getByText("Only mail…"));
    await user.type(screen.getByLabelText("From"), " ada@example.net ");
    await user.type(screen.getByLabelText("On or after"), "2026-11-01");
    await user.selectOptions(screen.getByLabelText("Category"), "work");
    expect(screen.getByText("(3 limits set)")).toBeInTheDocument();
    await user.type(screen.getByLabelText("Your question"), "When is the offsite?{Enter}");
    const sent = (call: number) => {
      const [, init] = vi.mocked(fetch).mock.calls[call] as [URL, RequestInit];
      return JSON.parse(init.body as string) as unknown;
    };
    const expected = {
      question: "When is the offsite?",
      filters: { from: "ada@example.net", date_from: "2026-11-01", category: "work" },
    };
    await vi.waitFor(() => expect(sent(0)).toEqual(expected));
    await user.click(await screen.findByRole("button", { name: "Try again" }));
    await vi.waitFor(() => expect(sent(1)).toEqual(expected));
  });

  it("stops an answer in flight", async () => {
    const answer = stream();
    reply = answer.response;
    const { user } = renderPanel();
    await user.type(screen.getByLabelText("Your question"), "Ferry?{Enter}");
    answer.write(event("answer", { delta: "The ferry" }));
    expect(await screen.findByText("The ferry")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Stop" }));
    expect(await screen.findByText(/Stopped\./)).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Ask" })).toBeInTheDocument();
  });

  it("tells how long to wait after too many requests", async () => {
    reply = () =>
      Response.json(
        {
          error: {
            code: "RATE001",
            message: "Too many",
            details: { limit: "api", retryAfter: 12 },
          },
        },
        { status: 429 },
      );
    const { user } = renderPanel();
    await user.type(screen.getByLabelText("Your question"), "Ferry?{Enter}");
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "Too many requests in a short time. You can try again in 12 seconds.",
    );
    expect(screen.getByRole("button", { name: "Try again in 12 s" })).toBeDisabled();
  });
});
