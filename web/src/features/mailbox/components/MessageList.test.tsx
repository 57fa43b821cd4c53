import { fireEvent, render, screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { EmailSummary } from "@/lib/api/types";
import { MessageList } from "./MessageList";

function email(i: number): EmailSummary {
  return {
    id: `id-${i}`,
    account_id: "a",
    folder_id: "f",
    thread_id: `t-${i}`,
    subject: `Subject ${i}`,
    sender: { name: `Sender ${i}`, address: `s${i}@example.com` },
    to: [],
    date: "2026-11-20T10:00:00Z",
    preview: `Preview ${i}`,
    is_read: i % 2 === 0,
    is_starred: i === 1,
    has_attachments: i === 2,
    category: i === 0 ? "work" : null,
    needs_review: false,
    priority: i === 0 ? 82 : null,
    priority_band: i === 0 ? "high" : null,
    tags: i === 0 ? ["Clients/ACME"] : [],
    snoozed_until: null,
    send_status: null,
    ai_status: "done",
  };
}

const VIEWPORT = 800;

describe("MessageList", () => {
  beforeEach(() => {
    // jsdom has no layout: give the scroll container a viewport of 800 px.
    vi.spyOn(HTMLElement.prototype, "clientHeight", "get").mockReturnValue(VIEWPORT);
    vi.spyOn(HTMLElement.prototype, "clientWidth", "get").mockReturnValue(600);
  });
  afterEach(() => vi.restoreAllMocks());

  function renderList(count: number, props: Partial<Parameters<typeof MessageList>[0]> = {}) {
    const items = Array.from({ length: count }, (_, i) => email(i));
    const handlers = {
      onOpen: vi.fn(),
      onToggle: vi.fn(),
      onActiveChange: vi.fn(),
      fetchNextPage: vi.fn(),
    };
    render(
      <MessageList
        label="Inbox"
        items={items}
        hasNextPage={false}
        isFetchingNextPage={false}
        activeIndex={0}
        openId={null}
        selected={new Set()}
        {...handlers}
        {...props}
      />,
    );
    return handlers;
  }

  it("renders only the rows in view of a 20,000-message folder", () => {
    renderList(20_000);
    const rows = screen.getAllByRole("option");
    expect(rows.length).toBeGreaterThan(5);
    expect(rows.length).toBeLessThan(40);
    expect(screen.getByText("Sender 0")).toBeInTheDocument();
    expect(screen.queryByText("Sender 19999")).not.toBeInTheDocument();
    // The scroll height stands for every row, 80 px each.
    const inner = screen.getByRole("listbox").firstElementChild as HTMLElement;
    expect(inner.style.height).toBe(`${20_000 * 80}px`);
  });

  it("shows sender, subject, preview, priority, category, tags and flags", () => {
    renderList(3);
    const first = screen.getAllByRole("option")[0]!;
    expect(first).toHaveTextContent("Sender 0");
    expect(first).toHaveTextContent("Subject 0");
    expect(first).toHaveTextContent("Preview 0");
    expect(first).toHaveTextContent("High");
    expect(first).toHaveTextContent("Work");
    expect(first).toHaveTextContent("Clients/ACME");
    expect(screen.getAllByRole("option")[1]).toHaveClass("unread");
    expect(screen.getByLabelText("Starred")).toBeInTheDocument();
    expect(screen.getByLabelText("Has attachments")).toBeInTheDocument();
  });

  it("asks for the next page when the end comes into view", () => {
    const handlers = renderList(5, { hasNextPage: true });
    expect(handlers.fetchNextPage).toHaveBeenCalled();
  });

  it("opens on click and selects a range on shift-click", () => {
    const handlers = renderList(5);
    fireEvent.click(screen.getByText("Subject 2"));
    expect(handlers.onOpen).toHaveBeenCalledWith(2);
    fireEvent.click(screen.getByText("Subject 3"), { shiftKey: true });
    expect(handlers.onToggle).toHaveBeenCalledWith("id-3", true);
  });

  it("marks selected rows for assistive technology", () => {
    renderList(3, { selected: new Set(["id-1"]) });
    const rows = screen.getAllByRole("option");
    expect(rows[1]).toHaveAttribute("aria-selected", "true");
    expect(rows[0]).toHaveAttribute("aria-selected", "false");
    expect(screen.getByRole("listbox")).toHaveAttribute("aria-activedescendant", "row-id-0");
  });
});
