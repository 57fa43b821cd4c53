import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { api, unwrap } from "@/lib/api/client";
import { ApiError } from "@/lib/api/errors";
import {
  mailChangeKey,
  queryKeys,
  removeFromLists,
  restoreMail,
  snapshotMail,
  type Snapshot,
} from "@/lib/api/mailCache";
import { errorMessage } from "@/lib/errorMessage";
import { formatFullDate } from "@/lib/format";
import { useUiStore } from "@/lib/uiStore";
import { updateDetail } from "./ai";

function settle(client: ReturnType<typeof useQueryClient>) {
  void client.invalidateQueries({ queryKey: queryKeys.folders });
  void client.invalidateQueries({ queryKey: queryKeys.threads, refetchType: "none" });
  if (client.isMutating({ mutationKey: mailChangeKey }) === 1) {
    void client.invalidateQueries({ queryKey: queryKeys.emailLists });
  }
}

/**
 * Snoozes messages until a time: they leave every list but the Snoozed view at once. The
 * outcome is announced from here, since the reader closes before the answer comes.
 */
export function useSnooze() {
  const client = useQueryClient();
  const { t, i18n } = useTranslation("ai");
  const announce = useUiStore((state) => state.announce);
  return useMutation({
    mutationKey: mailChangeKey,
    mutationFn: async ({ ids, until }: { ids: string[]; until: Date }) => {
      const result = unwrap(
        await api.POST("/api/emails/bulk", {
          body: { email_ids: ids, action: "snooze", params: { until: until.toISOString() } },
        }),
      );
      if (result.succeeded.length === 0 && result.failed.length > 0) {
        const code = result.failed[0]?.code ?? "RES001";
        throw new ApiError(400, code, "Snooze failed");
      }
      return result;
    },
    onMutate: async ({ ids }): Promise<Snapshot> => {
      await client.cancelQueries({ queryKey: queryKeys.emailLists });
      const snapshot = snapshotMail(client);
      removeFromLists(client, ids);
      return snapshot;
    },
    onSuccess: (_result, { until }) =>
      announce(t("snooze.done", { date: formatFullDate(until.toISOString(), i18n.language) })),
    onError: (error, _vars, snapshot) => {
      if (snapshot) restoreMail(client, snapshot);
      announce(errorMessage(t, error));
    },
    onSettled: () => settle(client),
  });
}

/** Brings snoozed messages back now. */
export function useUnsnooze() {
  const client = useQueryClient();
  const { t } = useTranslation("ai");
  const announce = useUiStore((state) => state.announce);
  return useMutation({
    mutationKey: mailChangeKey,
    mutationFn: async (ids: string[]) =>
      Promise.all(
        ids.map(async (id) =>
          unwrap(
            await api.DELETE("/api/emails/{email_id}/snooze", {
              params: { path: { email_id: id } },
            }),
          ),
        ),
      ),
    onMutate: async (ids): Promise<Snapshot> => {
      await client.cancelQueries({ queryKey: queryKeys.emailLists });
      const snapshot = snapshotMail(client);
      removeFromLists(client, ids);
      return snapshot;
    },
    onSuccess: (emails) => {
      for (const email of emails) updateDetail(client, email.id, () => email);
      announce(t("snooze.back"));
    },
    onError: (error, _vars, snapshot) => {
      if (snapshot) restoreMail(client, snapshot);
      announce(errorMessage(t, error));
    },
    onSettled: () => settle(client),
  });
}
