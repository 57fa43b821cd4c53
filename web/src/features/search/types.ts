import type { Schemas } from "@/lib/api/client";

export type SearchMode = "hybrid" | "keyword" | "semantic";
export type SearchHit = Schemas["SearchHit"];
export type SearchPage = Schemas["SearchPage"];
export type Citation = Schemas["Citation"];
export type AskAnswer = Schemas["AskAnswer"];
export type AskRequest = Schemas["AskRequest"];
export type AskFilters = Schemas["AskFilters"];
export type AnswerMode = AskAnswer["mode"];
export type RelatedEmail = Schemas["RelatedEmail"];

export const SEARCH_MODES: readonly SearchMode[] = ["hybrid", "keyword", "semantic"];

/** The mode named in a URL, or the default (hybrid) for anything else. */
export function parseMode(value: string | null | undefined): SearchMode {
  return SEARCH_MODES.includes(value as SearchMode) ? (value as SearchMode) : "hybrid";
}
