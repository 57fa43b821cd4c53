/**
 * The snooze presets of PRODUCT_SPEC §2.4 in the user's time zone: +3 h, tomorrow 08:00,
 * next Monday 08:00, or a date and time the user picks.
 */

export type SnoozePreset = "laterToday" | "tomorrow" | "nextWeek";

const MORNING_HOUR = 8;
const LATER_TODAY_MS = 3 * 3_600_000;

interface WallClock {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
}

function formatter(timeZone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  });
}

function wallClock(date: Date, timeZone: string): WallClock & { second: number } {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(date)) {
    if (part.type !== "literal") parts[part.type] = Number(part.value);
  }
  return {
    year: parts.year ?? 1970,
    month: parts.month ?? 1,
    day: parts.day ?? 1,
    hour: (parts.hour ?? 0) % 24,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  };
}

/** How far the zone's wall clock is ahead of UTC at `date`, in ms. */
function offsetAt(date: Date, timeZone: string): number {
  const w = wallClock(date, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(date.getTime() / 1000) * 1000;
}

/** The instant at which the wall clock of `timeZone` shows the given time. */
export function zonedTime(clock: WallClock, timeZone: string): Date {
  const guess = Date.UTC(clock.year, clock.month - 1, clock.day, clock.hour, clock.minute);
  const first = guess - offsetAt(new Date(guess), timeZone);
  // Across a daylight-saving change the offset at the result differs from the guess's.
  const second = guess - offsetAt(new Date(first), timeZone);
  return new Date(second);
}

function addDays(clock: WallClock, days: number): WallClock {
  const date = new Date(Date.UTC(clock.year, clock.month - 1, clock.day + days));
  return {
    ...clock,
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
  };
}

export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** A usable IANA zone: the user's setting when the browser knows it, else the browser's own. */
export function usableTimeZone(zone: string | null | undefined): string {
  if (zone) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: zone });
      return zone;
    } catch {
      // an unknown zone falls through to the browser's
    }
  }
  return browserTimeZone();
}

export function presetTime(preset: SnoozePreset, now: Date, timeZone: string): Date {
  if (preset === "laterToday") return new Date(now.getTime() + LATER_TODAY_MS);
  const today = wallClock(now, timeZone);
  const morning = { ...today, hour: MORNING_HOUR, minute: 0 };
  if (preset === "tomorrow") return zonedTime(addDays(morning, 1), timeZone);
  const weekday = new Date(Date.UTC(today.year, today.month - 1, today.day)).getUTCDay();
  const untilMonday = (8 - weekday) % 7 || 7;
  return zonedTime(addDays(morning, untilMonday), timeZone);
}

/** The time of an `<input type="datetime-local">` value ("2026-12-01T09:30") in `timeZone`. */
export function parseLocalInput(value: string, timeZone: string): Date | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value);
  if (!match) return null;
  const [, year, month, day, hour, minute] = match.map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return zonedTime({ year, month, day, hour, minute }, timeZone);
}

/** The `<input type="datetime-local">` value that shows `date` in `timeZone`. */
export function toLocalInput(date: Date, timeZone: string): string {
  const w = wallClock(date, timeZone);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${w.year}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}`;
}
