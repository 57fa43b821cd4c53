import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { SnoozeMenu } from "./SnoozeMenu";

// Friday, 27 November 2026, 16:00 in Berlin.
const NOW = new Date("2026-11-27T15:00:00Z");

function setup() {
  const onSnooze = vi.fn();
  render(<SnoozeMenu timeZone="Europe/Berlin" onSnooze={onSnooze} now={() => NOW} />);
  return { onSnooze, user: userEvent.setup() };
}

describe("SnoozeMenu", () => {
  it("offers the presets with their times and snoozes until the chosen one", async () => {
    const { onSnooze, user } = setup();
    const button = screen.getByRole("button", { name: "Snooze" });
    expect(button).toHaveAttribute("aria-expanded", "false");
    await user.click(button);
    expect(button).toHaveAttribute("aria-expanded", "true");

    const menu = screen.getByRole("menu", { name: "Snooze until" });
    const items = screen.getAllByRole("menuitem");
    expect(items.map((item) => item.textContent)).toEqual([
      "Later todayFri 7:00 PM",
      "Tomorrow morningSat 8:00 AM",
      "Next weekMon 8:00 AM",
      "Pick a date and time…",
    ]);
    expect(menu).toContainElement(document.activeElement as HTMLElement);

    await user.click(screen.getByRole("menuitem", { name: /Next week/ }));
    expect(onSnooze).toHaveBeenCalledWith(new Date("2026-11-30T07:00:00Z"));
    expect(screen.queryByRole("menu")).toBeNull();
    expect(button).toHaveFocus();
  });

  it("opens with the z key", async () => {
    const onSnooze = vi.fn();
    render(<SnoozeMenu timeZone="Europe/Berlin" onSnooze={onSnooze} now={() => NOW} shortcut />);
    await userEvent.keyboard("z");
    expect(screen.getByRole("menu", { name: "Snooze until" })).toBeInTheDocument();
    expect(screen.getByRole("menuitem", { name: /Later today/ })).toHaveFocus();
  });

  it("moves through the presets with the arrow keys and closes on Escape", async () => {
    const { onSnooze, user } = setup();
    await user.click(screen.getByRole("button", { name: "Snooze" }));
    await user.keyboard("{ArrowDown}");
    expect(screen.getByRole("menuitem", { name: /Tomorrow morning/ })).toHaveFocus();
    await user.keyboard("{ArrowUp}{ArrowUp}");
    expect(screen.getByRole("menuitem", { name: /Pick a date/ })).toHaveFocus();
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("menu")).toBeNull();
    expect(onSnooze).not.toHaveBeenCalled();
  });

  it("snoozes until a picked time in the user's zone, and refuses one in the past", async () => {
    const { onSnooze, user } = setup();
    await user.click(screen.getByRole("button", { name: "Snooze" }));
    await user.click(screen.getByRole("menuitem", { name: /Pick a date/ }));
    const input = screen.getByLabelText("Snooze until", { selector: "input" });
    expect(input).toHaveValue("2026-11-28T08:00");

    await user.clear(input);
    await user.type(input, "2026-11-27T09:00");
    await user.click(screen.getAllByRole("button", { name: "Snooze" })[1]!);
    expect(screen.getByRole("alert")).toHaveTextContent("Pick a time between one minute");
    expect(onSnooze).not.toHaveBeenCalled();

    await user.clear(input);
    await user.type(input, "2026-12-01T09:30");
    await user.click(screen.getAllByRole("button", { name: "Snooze" })[1]!);
    expect(onSnooze).toHaveBeenCalledWith(new Date("2026-12-01T08:30:00Z"));
  });
});
