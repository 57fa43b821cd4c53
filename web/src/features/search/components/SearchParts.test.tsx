import { act, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "@/lib/api/errors";
import { Highlighted } from "./Highlighted";
import { RetryNotice } from "./RetryNotice";
import { SearchToolbar } from "./SearchToolbar";

describe("Highlighted", () => {
  it("marks the matches as elements and shows markup in the mail as text", () => {
    const { container } = render(
      <p>
        <Highlighted html="&lt;img src=x onerror=alert(1)&gt; the <mark>invoice</mark>" />
      </p>,
    );
    expect(container.querySelector("img")).toBeNull();
    expect(container.querySelectorAll("mark")).toHaveLength(1);
    expect(container.querySelector("mark")).toHaveTextContent("invoice");
    expect(container).toHaveTextContent("<img src=x onerror=alert(1)> the invoice");
  });
});

describe("SearchToolbar", () => {
  it("switches the mode and says when the server searched by words instead", async () => {
    const onModeChange = vi.fn();
    const { rerender } = render(
      <SearchToolbar
        mode="hybrid"
        onModeChange={onModeChange}
        modeUsed="keyword"
        count={3}
        more={false}
      />,
    );
    expect(screen.getByRole("note")).toHaveTextContent("Search by meaning is not available");
    expect(screen.getByRole("status")).toHaveTextContent("3 results");
    expect(screen.getByRole("radio", { name: "Words and meaning" })).toBeChecked();

    await userEvent.setup().click(screen.getByRole("radio", { name: "Meaning" }));
    expect(onModeChange).toHaveBeenCalledWith("semantic");

    rerender(
      <SearchToolbar
        mode="keyword"
        onModeChange={onModeChange}
        modeUsed="keyword"
        count={20}
        more
      />,
    );
    expect(screen.queryByRole("note")).toBeNull();
    expect(screen.getByRole("status")).toHaveTextContent("20+ results");
  });
});

describe("RetryNotice", () => {
  afterEach(() => vi.useRealTimers());

  it("counts down a search rate limit before allowing a retry", async () => {
    vi.useFakeTimers();
    const onRetry = vi.fn();
    const error = new ApiError(429, "RATE001", "Too many", { limit: "search", retryAfter: 2 });
    render(<RetryNotice error={error} onRetry={onRetry} />);
    expect(screen.getByRole("alert")).toHaveTextContent(
      "You have searched a lot in the last minute. You can search again in 2 seconds.",
    );
    expect(screen.getByRole("button", { name: "Try again in 2 s" })).toBeDisabled();
    await act(() => vi.advanceTimersByTimeAsync(1000));
    expect(screen.getByRole("button", { name: "Try again in 1 s" })).toBeDisabled();
    await act(() => vi.advanceTimersByTimeAsync(1000));
    const retry = screen.getByRole("button", { name: "Try again" });
    expect(retry).toBeEnabled();
    retry.click();
    expect(onRetry).toHaveBeenCalledOnce();
  });

  it("shows other errors by their code", () => {
    render(<RetryNotice error={new ApiError(0, "NETWORK", "down")} onRetry={() => undefined} />);
    expect(screen.getByRole("alert")).toHaveTextContent("The server could not be reached.");
    expect(screen.getByRole("button", { name: "Try again" })).toBeEnabled();
  });
});
