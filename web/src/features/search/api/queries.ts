import {
  keepPreviousData,
  useInfiniteQuery,
  useQuery,
  type InfiniteData,
  type QueryClient,
} from "@tanstack/react-query";
import { api, unwrap } from "@/lib/api/client";
import { ApiError } from "@/lib/api/errors";
import type { EmailSummary } from "@/lib/api/types";
import type { SearchMode, SearchPage } from "../types";

export const searchKeys = {
  all: ["search"] as const,
  results: (q: string, mode: SearchMode) => ["search", q, mode] as const,
  related: (emailId: string) => ["related", emailId] as const,
};

/** Search counts against a per-minute limit: results stay fresh for a minute. */
const SEARCH_STALE_MS = 60_000;

/** The latest rate limit a search ran into: when it ends (ms since the epoch) and the answer. */
export interface SearchRateLimit {
  until: number;
  error: ApiError;
}

/**
 * The rate limit (RATE…, with `details.retryAfter` seconds) that ends last among the searches
 * in the cache, whether or not it has ended yet; null when no search was limited.
 */
export function searchRateLimit(client: QueryClient): SearchRateLimit | null {
  let latest: SearchRateLimit | null = null;
  for (const query of client.getQueryCache().findAll({ queryKey: searchKeys.all })) {
    const { error, errorUpdatedAt } = query.state;
    if (!(error instanceof ApiError) || !error.code.startsWith("RATE")) continue;
    const seconds = Number(error.details.retryAfter);
    if (!Number.isFinite(seconds) || seconds <= 0) continue;
    const until = errorUpdatedAt + seconds * 1000;
    if (!latest || until > latest.until) latest = { until, error };
  }
  return latest;
}

/**
 * The hits of one search, page by page over its cursor. A new query keeps the hits of the one
 * before on screen (`isPlaceholderData`) until its own arrive; each query has its own cache
 * entry and an abandoned one is aborted, so a slow answer to an older query never shows.
 * While the server's search limit lasts, no request is sent: the query fails at once with the
 * limit and the seconds that are left of it.
 */
export function useSearch(q: string, mode: SearchMode, enabled: boolean) {
  return useInfiniteQuery({
    queryKey: searchKeys.results(q, mode),
    queryFn: async ({ pageParam, signal, client }) => {
      const limit = searchRateLimit(client);
      const left = limit ? limit.until - Date.now() : 0;
      if (limit && left > 0) {
        const { status, code, message, details } = limit.error;
        throw new ApiError(status, code, message, { ...details, retryAfter: left / 1000 });
      }
      return unwrap(
        await api.GET("/api/search", {
          params: { query: { q, mode, cursor: pageParam ?? undefined } },
          signal,
        }),
      );
    },
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    enabled: enabled && q.trim().length > 0,
    placeholderData: keepPreviousData,
    staleTime: SEARCH_STALE_MS,
    refetchOnWindowFocus: false,
  });
}

/** Messages close in meaning to one message, outside its conversation. */
export function useRelated(emailId: string | null) {
  return useQuery({
    queryKey: searchKeys.related(emailId ?? ""),
    queryFn: async ({ signal }) =>
      unwrap(
        await api.GET("/api/emails/{email_id}/related", {
          params: { path: { email_id: emailId ?? "" }, query: { limit: 5 } },
          signal,
        }),
      ).items,
    enabled: emailId !== null,
    staleTime: 5 * 60_000,
  });
}

type HitPatch = Partial<Pick<EmailSummary, "is_read" | "is_starred">>;

/** Applies a flag change to the cached hits of every search, without searching again. */
export function patchHits(client: QueryClient, ids: readonly string[], patch: HitPatch): void {
  const wanted = new Set(ids);
  client.setQueriesData<InfiniteData<SearchPage, string | null>>(
    { queryKey: searchKeys.all },
    (data) =>
      data && {
        ...data,
        pages: data.pages.map((page) => ({
          ...page,
          items: page.items.map((hit) =>
            wanted.has(hit.email.id) ? { ...hit, email: { ...hit.email, ...patch } } : hit,
          ),
        })),
      },
  );
}
