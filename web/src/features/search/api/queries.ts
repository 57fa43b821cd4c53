import {
  useInfiniteQuery,
  useQuery,
  type InfiniteData,
  type QueryClient,
} from "@tanstack/react-query";
import { api, unwrap } from "@/lib/api/client";
import type { EmailSummary } from "@/lib/api/types";
import type { SearchMode, SearchPage } from "../types";

export const searchKeys = {
  all: ["search"] as const,
  results: (q: string, mode: SearchMode) => ["search", q, mode] as const,
  related: (emailId: string) => ["related", emailId] as const,
};

/** Search counts against a per-minute limit: results stay fresh for a minute. */
const SEARCH_STALE_MS = 60_000;

/** The hits of one search, page by page over its cursor. */
export function useSearch(q: string, mode: SearchMode, enabled: boolean) {
  return useInfiniteQuery({
    queryKey: searchKeys.results(q, mode),
    queryFn: async ({ pageParam, signal }) =>
      unwrap(
        await api.GET("/api/search", {
          params: { query: { q, mode, cursor: pageParam ?? undefined } },
          signal,
        }),
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    enabled: enabled && q.trim().length > 0,
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
