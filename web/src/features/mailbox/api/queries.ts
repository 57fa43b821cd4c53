import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { api, unwrap } from "@/lib/api/client";
import { queryKeys, type EmailFilters } from "@/lib/api/mailCache";

export const PAGE_SIZE = 100;

export function useAccounts() {
  return useQuery({
    queryKey: queryKeys.accounts,
    queryFn: async () => unwrap(await api.GET("/api/accounts")).items,
  });
}

export function useFolders() {
  return useQuery({
    queryKey: queryKeys.folders,
    queryFn: async () => unwrap(await api.GET("/api/folders")),
  });
}

/** One mail list, page by page over the keyset cursor; not fetched while `enabled` is false. */
export function useEmailList(filters: EmailFilters, enabled = true) {
  return useInfiniteQuery({
    queryKey: queryKeys.emailList(filters),
    queryFn: async ({ pageParam, signal }) =>
      unwrap(
        await api.GET("/api/emails", {
          params: { query: { ...filters, limit: PAGE_SIZE, cursor: pageParam ?? undefined } },
          signal,
        }),
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    enabled,
  });
}
