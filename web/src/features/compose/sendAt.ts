/** Times for scheduled send (PRODUCT_SPEC §2.4: one minute to one year ahead), as the
 * `<input type="datetime-local">` shows them: the browser's wall clock. */

const MIN_LEAD_MS = 60_000;
const MAX_AHEAD_MS = 365 * 86_400_000;
const QUARTER_MS = 15 * 60_000;

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

export function toInputValue(date: Date): string {
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}`
  );
}

/** `date`, or else the next quarter hour at least an hour from `now`. */
export function defaultSendAt(date?: Date, now: Date = new Date()): string {
  if (date) return toInputValue(date);
  const later = Math.ceil((now.getTime() + 3_600_000) / QUARTER_MS) * QUARTER_MS;
  return toInputValue(new Date(later));
}

/** The time of an input value when the server will accept it, else null. */
export function checkSendAt(value: string, now: Date = new Date()): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) return null;
  const date = new Date(value);
  const ahead = date.getTime() - now.getTime();
  if (Number.isNaN(ahead) || ahead < MIN_LEAD_MS || ahead > MAX_AHEAD_MS) return null;
  return date;
}
