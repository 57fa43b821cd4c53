import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/lib/api/client";

export type Session = Schemas["SessionRead"];
const sessionsKey = ["sessions"] as const;

export function useSessions() {
  return useQuery({
    queryKey: sessionsKey,
    queryFn: async ({ signal }) => unwrap(await api.GET("/api/auth/sessions", { signal })),
  });
}

/** Signs one session out (its refresh family is revoked), or, without an id, all others. */
export function useRevokeSession() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (id: string | null) => {
      if (id) {
        unwrap(
          await api.DELETE("/api/auth/sessions/{session_id}", {
            params: { path: { session_id: id } },
          }),
        );
      } else {
        unwrap(await api.DELETE("/api/auth/sessions"));
      }
    },
    onSettled: () => void client.invalidateQueries({ queryKey: sessionsKey }),
  });
}
