import { describe, expect, it } from "vitest";
import { parseLocalInput, presetTime, toLocalInput, usableTimeZone } from "./snoozeTimes";

// Friday, 27 November 2026, 16:00 in Berlin (UTC+1).
const FRIDAY = new Date("2026-11-27T15:00:00Z");

describe("snooze presets", () => {
  it("later today is three hours from now", () => {
    expect(presetTime("laterToday", FRIDAY, "Europe/Berlin").toISOString()).toBe(
      "2026-11-27T18:00:00.000Z",
    );
  });

  it("tomorrow morning is 08:00 on the next day in the user's zone", () => {
    expect(presetTime("tomorrow", FRIDAY, "Europe/Berlin").toISOString()).toBe(
      "2026-11-28T07:00:00.000Z",
    );
    expect(presetTime("tomorrow", FRIDAY, "America/New_York").toISOString()).toBe(
      "2026-11-28T13:00:00.000Z",
    );
  });

  it("next week is the coming Monday at 08:00", () => {
    expect(presetTime("nextWeek", FRIDAY, "Europe/Berlin").toISOString()).toBe(
      "2026-11-30T07:00:00.000Z",
    );
  });

  it("next week from a Monday is a week later", () => {
    const monday = new Date("2026-11-30T10:00:00Z");
    expect(presetTime("nextWeek", monday, "Europe/Berlin").toISOString()).toBe(
      "2026-12-07T07:00:00.000Z",
    );
  });

  it("the user's day decides, not UTC's", () => {
    // 23:30 UTC on Sunday is already Monday 08:30 in Tokyo: tomorrow is Tuesday there.
    const late = new Date("2026-11-29T23:30:00Z");
    expect(presetTime("tomorrow", late, "Asia/Tokyo").toISOString()).toBe(
      "2026-11-30T23:00:00.000Z",
    );
  });

  it("keeps 08:00 across the change to summer time", () => {
    // Saturday 28 March 2026; the clocks in Berlin go forward on Sunday at 02:00.
    const saturday = new Date("2026-03-28T12:00:00Z");
    expect(presetTime("tomorrow", saturday, "Europe/Berlin").toISOString()).toBe(
      "2026-03-29T06:00:00.000Z",
    );
    expect(presetTime("nextWeek", saturday, "Europe/Berlin").toISOString()).toBe(
      "2026-03-30T06:00:00.000Z",
    );
  });

  it("reads and writes a picked date and time in the user's zone", () => {
    const picked = parseLocalInput("2026-12-01T09:30", "Europe/Berlin");
    expect(picked?.toISOString()).toBe("2026-12-01T08:30:00.000Z");
    expect(toLocalInput(new Date("2026-12-01T08:30:00Z"), "Europe/Berlin")).toBe(
      "2026-12-01T09:30",
    );
    expect(parseLocalInput("tomorrow", "Europe/Berlin")).toBeNull();
  });

  it("falls back to the browser's zone for an unknown one", () => {
    expect(usableTimeZone("Europe/Berlin")).toBe("Europe/Berlin");
    expect(usableTimeZone("Mars/Olympus")).toBe(usableTimeZone(null));
  });
});
