import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "@/lib/api/client";
import { queryKeys } from "@/lib/api/mailCache";

export const EDITABLE_STATUSES: ReadonlySet<string> = new Set(["draft", "failed", "scheduled"]);

/** A message of the user's own that is not sent yet: its draft record (with `send_at`). */
export function useOutgoing(emailId: string, enabled: boolean) {
  return useQuery({
    queryKey: [...queryKeys.email(emailId), "draft"],
    queryFn: async ({ signal }) =>
      unwrap(
        await api.GET("/api/drafts/{draft_id}", {
          params: { path: { draft_id: emailId } },
          signal,
        }),
      ),
    enabled,
  });
}

/** A scheduled message back to a draft. */
export function useCancelSchedule(emailId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async () =>
      unwrap(
        await api.DELETE("/api/emails/{email_id}/schedule", {
          params: { path: { email_id: emailId } },
        }),
      ),
    onSettled: () => {
      void client.invalidateQueries({ queryKey: queryKeys.email(emailId) });
      void client.invalidateQueries({ queryKey: queryKeys.threads });
      void client.invalidateQueries({ queryKey: queryKeys.emailLists });
    },
  });
}
