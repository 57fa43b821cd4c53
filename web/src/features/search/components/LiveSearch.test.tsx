import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, fireEvent, render, screen } from "@testing-library/react";
import { MemoryRouter, useLocation, useNavigate, useSearchParams } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { resetSessionForTests, setAccessToken } from "@/lib/auth/session";
import { useSearch } from "../api/queries";
import { HeaderSearch } from "./HeaderSearch";
import { LIVE_SEARCH_DELAY_MS } from "./SearchBox";

/** What the results view shows, as far as these tests need it. */
function Results() {
  const navigate = useNavigate();
  const { pathname, search: query } = useLocation();
  const [params] = useSearchParams();
  const search = useSearch(params.get("q") ?? "", "hybrid", pathname === "/mail/search");
  const subjects = (search.data?.pages ?? []).flatMap((page) =>
    page.items.map((hit) => hit.email.subject),
  );
  return (
    <>
      <output data-testid="where">
        {decodeURIComponent((pathname + query).replace(/\+/g, " "))}
      </output>
      <output data-testid="hits">{subjects.join(" | ")}</output>
      <output data-testid="error">{search.error?.message ?? ""}</output>
      <button type="button" onClick={() => void navigate(-1)}>
        Back
      </button>
    </>
  );
}

interface Sent {
  q: string;
  signal: AbortSignal;
}

/** A search endpoint whose answers the test holds back or turns into a rate limit. */
function fakeServer() {
  const sent: Sent[] = [];
  const held = new Map<string, () => void>();
  const hold = new Set<string>();
  let limited = 0;
  const answer = (q: string) =>
    Response.json({
      items: [{ email: { id: q, subject: `About ${q}` }, score: 1, matched: "keyword" }],
      next_cursor: null,
      mode_used: "keyword",
    });
  const fetch = vi.fn((request: Request) => {
    const q = new URL(request.url).searchParams.get("q") ?? "";
    sent.push({ q, signal: request.signal });
    if (limited > 0) {
      const body = {
        error: {
          code: "RATE001",
          message: "API rate limit exceeded",
          details: { limit: "search", retryAfter: limited },
        },
      };
      limited = 0;
      return Promise.resolve(Response.json(body, { status: 429 }));
    }
    if (!hold.has(q)) return Promise.resolve(answer(q));
    // Answers even when the request was given up, as a late server would.
    return new Promise<Response>((resolve) => held.set(q, () => resolve(answer(q))));
  });
  return {
    fetch,
    queries: () => sent.map((request) => request.q),
    signalOf: (q: string) => sent.find((request) => request.q === q)?.signal,
    hold: (q: string) => hold.add(q),
    release: (q: string) => held.get(q)?.(),
    limitNext: (seconds: number) => (limited = seconds),
  };
}

const WAIT_STEP_MS = 10;

/**
 * Lets `ms` of fake time pass in small steps: React renders what a timer changed only when its
 * `act` ends, and the effects of that render may start the next timer.
 */
async function wait(ms: number) {
  for (let passed = 0; passed < ms; passed += WAIT_STEP_MS) {
    await act(() => vi.advanceTimersByTimeAsync(Math.min(WAIT_STEP_MS, ms - passed)));
  }
}

describe("live search in the header", () => {
  let server: ReturnType<typeof fakeServer>;

  beforeEach(() => {
    vi.useFakeTimers();
    resetSessionForTests();
    setAccessToken("token", 900);
    server = fakeServer();
    vi.stubGlobal("fetch", server.fetch);
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.useRealTimers();
    resetSessionForTests();
  });

  function renderApp(at = "/mail/inbox") {
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    render(
      <QueryClientProvider client={client}>
        <MemoryRouter initialEntries={[at]}>
          <HeaderSearch />
          <Results />
        </MemoryRouter>
      </QueryClientProvider>,
    );
    const box = screen.getByRole("searchbox", { name: "Search mail" });
    act(() => box.focus());
    return {
      box,
      /** Key by key, as fast as a test can type (user-event waits on timers, which are fake). */
      type: (text: string) => {
        for (const key of text) {
          fireEvent.change(box, { target: { value: (box as HTMLInputElement).value + key } });
        }
      },
      clear: () => fireEvent.change(box, { target: { value: "" } }),
      enter: () => fireEvent.submit(box.closest("form")!),
      escape: () => fireEvent.keyDown(box, { key: "Escape" }),
      where: () => screen.getByTestId("where").textContent,
      hits: () => screen.getByTestId("hits").textContent,
      error: () => screen.getByTestId("error").textContent,
      wait,
      /** Lets an answer that has arrived reach the screen. */
      settle: () => wait(50),
    };
  }

  it("searches once, 300 ms after the last keystroke, without Enter", async () => {
    const { type, box, where, hits, wait } = renderApp();
    type("from:ada");
    await wait(LIVE_SEARCH_DELAY_MS - 100);
    type(" harb");
    await wait(LIVE_SEARCH_DELAY_MS - 1);
    expect(server.fetch).not.toHaveBeenCalled();
    expect(where()).toBe("/mail/inbox");

    await wait(1);
    expect(where()).toBe("/mail/search?q=from:ada harb&mode=hybrid");
    await wait(10 * LIVE_SEARCH_DELAY_MS);
    expect(server.queries()).toEqual(["from:ada harb"]);
    expect(hits()).toBe("About from:ada harb");
    expect(box).toHaveValue("from:ada harb");
    expect(box).toHaveFocus();
  });

  it("keeps what is typed after a search started, such as a space before the next word", async () => {
    const { type, box, where, wait } = renderApp();
    type("harbour ");
    await wait(LIVE_SEARCH_DELAY_MS);
    expect(where()).toBe("/mail/search?q=harbour&mode=hybrid");
    expect(box).toHaveValue("harbour ");
    type("festival");
    await wait(LIVE_SEARCH_DELAY_MS);
    expect(where()).toBe("/mail/search?q=harbour festival&mode=hybrid");
    expect(server.queries()).toEqual(["harbour", "harbour festival"]);
  });

  it("does not search for one character", async () => {
    const { type, where, wait } = renderApp();
    type("h");
    await wait(10 * LIVE_SEARCH_DELAY_MS);
    expect(server.fetch).not.toHaveBeenCalled();
    expect(where()).toBe("/mail/inbox");
  });

  it("replaces the results in the history while typing, so Back leaves them", async () => {
    const { type, box, where, wait } = renderApp();
    type("ha");
    await wait(LIVE_SEARCH_DELAY_MS);
    type("rbour");
    await wait(LIVE_SEARCH_DELAY_MS);
    expect(where()).toBe("/mail/search?q=harbour&mode=hybrid");
    expect(server.queries()).toEqual(["ha", "harbour"]);

    fireEvent.click(screen.getByRole("button", { name: "Back" }));
    expect(where()).toBe("/mail/inbox");
    expect(box).toHaveValue("");
  });

  it("adds a history entry on Enter only for a query the results do not show yet", async () => {
    const { type, enter, where, wait } = renderApp();
    type("harbour");
    await wait(LIVE_SEARCH_DELAY_MS);
    enter();
    type(" festival");
    enter();
    expect(where()).toBe("/mail/search?q=harbour festival&mode=hybrid");
    await wait(10 * LIVE_SEARCH_DELAY_MS);
    expect(server.queries()).toEqual(["harbour", "harbour festival"]);

    fireEvent.click(screen.getByRole("button", { name: "Back" }));
    expect(where()).toBe("/mail/search?q=harbour&mode=hybrid");
    fireEvent.click(screen.getByRole("button", { name: "Back" }));
    expect(where()).toBe("/mail/inbox");
  });

  it("keeps the hits on screen while the next query runs, and a slower older answer never shows", async () => {
    const { type, clear, hits, wait, settle } = renderApp("/mail/search?q=invoice&mode=hybrid");
    await settle();
    expect(hits()).toBe("About invoice");

    server.hold("harb");
    clear();
    type("harb");
    await wait(LIVE_SEARCH_DELAY_MS);
    expect(server.queries()).toEqual(["invoice", "harb"]);
    expect(hits()).toBe("About invoice"); // still, while "harb" is on its way

    type("our");
    await wait(LIVE_SEARCH_DELAY_MS);
    await settle();
    expect(hits()).toBe("About harbour");
    expect(server.signalOf("harb")?.aborted).toBe(true);

    server.release("harb");
    await wait(1000);
    expect(hits()).toBe("About harbour");
    expect(server.queries()).toEqual(["invoice", "harb", "harbour"]);
  });

  it("sends nothing while the search limit runs and searches what was typed afterwards", async () => {
    const { type, box, where, error, wait, settle } = renderApp();
    server.limitNext(30);
    type("harb");
    await wait(LIVE_SEARCH_DELAY_MS);
    await settle();
    expect(error()).toBe("API rate limit exceeded");

    type("our");
    expect(screen.getByText(/^Too many searches in the last minute\./)).toHaveAttribute(
      "role",
      "status",
    );
    expect(box).toHaveAccessibleDescription(/Too many searches/);
    await wait(20_000);
    expect(server.queries()).toEqual(["harb"]);
    expect(where()).toBe("/mail/search?q=harb&mode=hybrid");

    await wait(10_000 + LIVE_SEARCH_DELAY_MS);
    await settle();
    expect(server.queries()).toEqual(["harb", "harbour"]);
    expect(where()).toBe("/mail/search?q=harbour&mode=hybrid");
    expect(screen.queryByText(/^Too many searches/)).toBeNull();
  });

  it("does not send a search asked for with Enter during the limit either", async () => {
    const { type, enter, where, error, wait } = renderApp();
    server.limitNext(30);
    type("harb");
    await wait(LIVE_SEARCH_DELAY_MS);
    await wait(5_000);

    type("our");
    enter();
    await wait(LIVE_SEARCH_DELAY_MS);
    expect(where()).toBe("/mail/search?q=harbour&mode=hybrid");
    expect(error()).toBe("API rate limit exceeded");
    expect(server.queries()).toEqual(["harb"]);
  });

  it("drops a search still waiting when the box is left with Escape", async () => {
    const { type, escape, box, where, wait } = renderApp();
    type("harbour");
    escape();
    expect(box).not.toHaveFocus();
    await wait(10 * LIVE_SEARCH_DELAY_MS);
    expect(server.fetch).not.toHaveBeenCalled();
    expect(where()).toBe("/mail/inbox");
    expect(box).toHaveValue("harbour");
  });
});
