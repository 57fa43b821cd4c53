import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { api, unwrap } from "@/lib/api/client";
import {
  mailChangeKey,
  patchEmails,
  queryKeys,
  removeFromLists,
  restoreMail,
  snapshotMail,
  type Snapshot,
} from "@/lib/api/mailCache";
import type { BulkAction } from "@/lib/api/types";
import { errorMessage } from "@/lib/errorMessage";
import { useUiStore } from "@/lib/uiStore";

export interface EmailAction {
  ids: string[];
  action: BulkAction;
  folderId?: string;
}

const LEAVES_LIST: ReadonlySet<BulkAction> = new Set(["archive", "delete", "move"]);

/** Flag, archive, delete and move through `/api/emails/bulk`, optimistic with rollback. */
export function useEmailActions() {
  const client = useQueryClient();
  const { t } = useTranslation("mail");
  const announce = useUiStore((state) => state.announce);

  return useMutation({
    mutationKey: mailChangeKey,
    mutationFn: async ({ ids, action, folderId }: EmailAction) =>
      unwrap(
        await api.POST("/api/emails/bulk", {
          body: {
            email_ids: ids,
            action,
            params: action === "move" && folderId ? { folder_id: folderId } : {},
          },
        }),
      ),
    onMutate: async ({ ids, action }): Promise<Snapshot> => {
      await client.cancelQueries({ queryKey: queryKeys.emailLists });
      const snapshot = snapshotMail(client);
      if (action === "mark_read" || action === "mark_unread") {
        patchEmails(client, ids, { is_read: action === "mark_read" });
      } else if (action === "star" || action === "unstar") {
        patchEmails(client, ids, { is_starred: action === "star" });
      } else if (LEAVES_LIST.has(action)) {
        removeFromLists(client, ids);
      }
      return snapshot;
    },
    onSuccess: (result, { action }, snapshot) => {
      if (result.failed.length > 0) {
        restoreMail(client, snapshot);
        void client.invalidateQueries({ queryKey: queryKeys.emailLists });
        announce(t("actions.partialFailure", { count: result.failed.length }));
      } else if (LEAVES_LIST.has(action)) {
        announce(t(`actions.done.${action}`, { count: result.succeeded.length }));
      }
    },
    onError: (error, _vars, snapshot) => {
      if (snapshot) restoreMail(client, snapshot);
      announce(errorMessage(t, error));
    },
    onSettled: (_data, _error, { action }) => {
      void client.invalidateQueries({ queryKey: queryKeys.folders });
      if (client.isMutating({ mutationKey: mailChangeKey }) === 1) {
        // The last change in flight: the server now has all of them, so the shown list may
        // refetch (live events held theirs back meanwhile); other views refetch when shown.
        void client.invalidateQueries({ queryKey: queryKeys.emailLists });
      }
      if (LEAVES_LIST.has(action)) {
        void client.invalidateQueries({ queryKey: queryKeys.threads, refetchType: "none" });
      }
    },
  });
}
