/** Human-readable text for the reason codes and signals the AI gives (PRODUCT_SPEC §7). */
import type { TFunction } from "i18next";

export const PRIORITY_REASON_CODES = [
  "vip_sender",
  "known_correspondent",
  "direct_recipient",
  "cc_only",
  "question_asked",
  "deadline_soon",
  "urgent_wording",
  "active_thread",
  "mailing_list",
  "bulk_sender",
  "automated_sender",
  "user_override",
] as const;

/** Codes whose server text carries a detail (the date of a deadline) worth keeping. */
const DETAILED = new Set(["deadline_soon"]);

export interface ReasonLike {
  code: string;
  text: string;
  weight?: number | null;
}

/** A priority reason in the UI language; the server's text when the code is new to the client. */
export function priorityReasonText(t: TFunction, reason: ReasonLike): string {
  const known = (PRIORITY_REASON_CODES as readonly string[]).includes(reason.code);
  if (!known) return reason.text || reason.code;
  if (DETAILED.has(reason.code) && reason.text) return reason.text;
  return t(`ai:reasons.${reason.code}`);
}

export function weightText(weight: number | null | undefined, locale: string): string | null {
  if (weight === null || weight === undefined || weight === 0) return null;
  return new Intl.NumberFormat(locale, { signDisplay: "always" }).format(weight);
}

/** A classification signal ("header:list-unsubscribe", "content:work", "remote:…"). */
export function signalText(t: TFunction, signal: string): string {
  const colon = signal.indexOf(":");
  if (colon < 0) return signal;
  const kind = signal.slice(0, colon);
  const value = signal.slice(colon + 1);
  if (kind === "content") {
    return t("ai:signals.content", {
      category: t(`ai:categories.${value}`, { defaultValue: value }),
    });
  }
  if (kind === "remote") return t("ai:signals.remote", { text: value });
  const key = `${kind}_${value}`.replace(/[^a-z0-9]+/gi, "_");
  return t(`ai:signals.${key}`, { defaultValue: signal });
}

/** Any entry of a decision's `reasons` as text. */
export function decisionReasonText(t: TFunction, reason: unknown): string {
  if (typeof reason === "string") return signalText(t, reason);
  if (reason && typeof reason === "object") {
    const entry = reason as Record<string, unknown>;
    if (typeof entry.code === "string") {
      return priorityReasonText(t, {
        code: entry.code,
        text: typeof entry.text === "string" ? entry.text : "",
      });
    }
    return Object.entries(entry)
      .map(([key, value]) => `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`)
      .join(", ");
  }
  return String(reason);
}
