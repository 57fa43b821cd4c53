import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, useLocation } from "react-router";
import { describe, expect, it } from "vitest";
import { AskLink, HeaderSearch } from "./HeaderSearch";

function Where() {
  const location = useLocation();
  return <output data-testid="where">{location.pathname + location.search}</output>;
}

function renderHeader(at = "/mail/inbox") {
  const user = userEvent.setup();
  render(
    <QueryClientProvider client={new QueryClient()}>
      <MemoryRouter initialEntries={[at]}>
        <HeaderSearch />
        <AskLink />
        <button type="button">elsewhere</button>
        <Where />
      </MemoryRouter>
    </QueryClientProvider>,
  );
  const where = () =>
    decodeURIComponent(screen.getByTestId("where").textContent.replace(/\+/g, " "));
  return { user, where, box: screen.getByRole("searchbox", { name: "Search mail" }) };
}

describe("HeaderSearch", () => {
  it("focuses on / and searches on Enter, passing operators through", async () => {
    const { user, where, box } = renderHeader();
    screen.getByRole("button", { name: "elsewhere" }).focus();

    await user.keyboard("/");
    expect(box).toHaveFocus();
    expect(box).toHaveValue("");

    await user.type(box, 'from:ada subject:"boat trip" -is:read{Enter}');
    expect(where()).toBe('/mail/search?q=from:ada subject:"boat trip" -is:read&mode=hybrid');
    expect(box).toHaveFocus();
  });

  it("focuses on Ctrl+K too", async () => {
    const { user, box } = renderHeader();
    await user.keyboard("{Control>}k{/Control}");
    expect(box).toHaveFocus();
  });

  it("does not take / while another field is being typed in", async () => {
    const { user, box } = renderHeader();
    render(<input aria-label="other" />);
    const other = screen.getByRole("textbox", { name: "other" });
    await user.type(other, "a/b");
    expect(other).toHaveValue("a/b");
    expect(box).not.toHaveFocus();
  });

  it("shows the query of the results on screen and keeps their mode for a new search", async () => {
    const { user, where, box } = renderHeader("/mail/search?q=invoice&mode=semantic");
    expect(box).toHaveValue("invoice");
    await user.clear(box);
    await user.type(box, "receipt{Enter}");
    expect(where()).toBe("/mail/search?q=receipt&mode=semantic");
  });

  it("does not search for nothing, and offers the operators instead", async () => {
    const { user, where, box } = renderHeader();
    const help = screen.getByRole("button", { name: "Search operators" });
    expect(help).toHaveAttribute("aria-expanded", "false");
    await user.click(box);
    await user.keyboard("{Enter}");
    expect(where()).toBe("/mail/inbox");
    expect(help).toHaveAttribute("aria-expanded", "true");
    expect(screen.getByRole("region", { name: "Narrow your search" })).toBeVisible();
  });

  it("adds a chosen operator to the query and closes the list on Escape", async () => {
    const { user, box } = renderHeader();
    await user.type(box, "invoice");
    await user.click(screen.getByRole("button", { name: "Search operators" }));
    await user.click(screen.getByRole("button", { name: /has:attachment/ }));
    expect(box).toHaveValue("invoice has:attachment");
    expect(box).toHaveFocus();

    const toggle = screen.getByRole("button", { name: "Search operators" });
    await user.click(toggle);
    expect(toggle).toHaveAttribute("aria-expanded", "true");
    await user.keyboard("{Escape}");
    expect(toggle).toHaveAttribute("aria-expanded", "false");
  });

  it("opens Ask your inbox on q", async () => {
    const { user, where } = renderHeader();
    await user.keyboard("q");
    expect(where()).toBe("/mail/ask");
    expect(screen.getByRole("link", { name: "Ask" })).toHaveAttribute("aria-current", "page");
    await act(() => Promise.resolve());
  });
});
