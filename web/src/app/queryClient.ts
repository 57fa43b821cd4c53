import { QueryClient } from "@tanstack/react-query";
import { ApiError } from "@/lib/api/errors";

/** Retries per §2.8: 3 times, min(1000·2ⁿ, 30000) ms, none on 4xx. */
export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        retry: (count, error) => !(error instanceof ApiError && error.isClientError) && count < 3,
        retryDelay: (attempt) => Math.min(1000 * 2 ** attempt, 30_000),
        staleTime: 30_000,
        refetchOnWindowFocus: true,
      },
      mutations: { retry: false },
    },
  });
}
