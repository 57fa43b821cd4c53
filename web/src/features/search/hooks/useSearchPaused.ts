import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useState, useSyncExternalStore } from "react";
import { searchRateLimit } from "../api/queries";

/**
 * Whether a search rate limit (20 a minute, §2.6) is still running, from the searches in the
 * query cache; turns false again when its `Retry-After` has passed.
 */
export function useSearchPaused(): boolean {
  const client = useQueryClient();
  const cache = client.getQueryCache();
  const subscribe = useCallback((onChange: () => void) => cache.subscribe(onChange), [cache]);
  const until = useSyncExternalStore(subscribe, () => searchRateLimit(client)?.until ?? 0);
  // The latest limit known to be over; a limit from before the page showed may already be.
  const [over, setOver] = useState(() => (until <= Date.now() ? until : 0));

  useEffect(() => {
    if (until <= over) return;
    const timer = setTimeout(() => setOver(until), Math.max(0, until - Date.now()));
    return () => clearTimeout(timer);
  }, [until, over]);

  return until > over;
}
