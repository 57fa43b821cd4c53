/** Connects the WebSocket while signed in and turns its events into cache updates. */
import { useQueryClient, type QueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { useTranslation } from "react-i18next";
import {
  patchEmails,
  queryKeys,
  refreshLists,
  removeFromLists,
  type EmailPatch,
} from "@/lib/api/mailCache";
import { getAccessToken, refresh, subscribeSession, getSessionState } from "@/lib/auth/session";
import { useUiStore, type SyncProgress } from "@/lib/uiStore";
import { RealtimeClient, defaultSocketUrl, type RealtimeEvent } from "@/lib/ws";

const SUMMARY_FIELDS = ["is_read", "is_starred", "category", "priority", "tags"] as const;

export function applyEvent(
  client: QueryClient,
  event: RealtimeEvent,
  hooks: {
    setSync: (p: SyncProgress) => void;
    announce: (text: string) => void;
    newMail: (subject: string) => string;
  },
): void {
  const data = event.data;
  switch (event.type) {
    case "new_email": {
      refreshLists(client);
      void client.invalidateQueries({ queryKey: queryKeys.folders });
      hooks.announce(hooks.newMail(typeof data.subject === "string" ? data.subject : ""));
      break;
    }
    case "email_updated": {
      const ids = Array.isArray(data.email_ids) ? data.email_ids.map(String) : [];
      const changes = (data.changes ?? {}) as Record<string, unknown>;
      const patch: EmailPatch = {};
      for (const field of SUMMARY_FIELDS) {
        if (field in changes) Object.assign(patch, { [field]: changes[field] });
      }
      if (Object.keys(patch).length > 0) patchEmails(client, ids, patch);
      const moved = "folder_id" in changes || "deleted" in changes || "snoozed_until" in changes;
      if (moved) {
        removeFromLists(client, ids);
        refreshLists(client);
      }
      void client.invalidateQueries({ queryKey: queryKeys.folders });
      break;
    }
    case "email_processed": {
      refreshLists(client);
      // The open message and its conversation show the AI results (and the decision log).
      const id = typeof data.email_id === "string" ? data.email_id : null;
      if (id) void client.invalidateQueries({ queryKey: queryKeys.email(id) });
      void client.invalidateQueries({ queryKey: queryKeys.threads });
      break;
    }
    case "sync_status": {
      const num = (v: unknown) => (typeof v === "number" ? v : null);
      const str = (v: unknown) => (typeof v === "string" ? v : null);
      const status = str(data.status);
      const accountId = str(data.account_id);
      if (!accountId || (status !== "syncing" && status !== "completed" && status !== "error"))
        break;
      hooks.setSync({
        accountId,
        status,
        phase: str(data.phase),
        folder: str(data.folder),
        progress: num(data.progress),
        processed: num(data.processed),
        total: num(data.total),
        message: str(data.message),
      });
      if (status !== "syncing") {
        void client.invalidateQueries({ queryKey: queryKeys.accounts });
        void client.invalidateQueries({ queryKey: queryKeys.folders });
        refreshLists(client);
      }
      break;
    }
    default:
      break;
  }
}

export function useRealtime(enabled: boolean): void {
  const client = useQueryClient();
  const { t } = useTranslation("mail");
  const setSync = useUiStore((s) => s.setSync);
  const announce = useUiStore((s) => s.announce);
  const setConnection = useUiStore((s) => s.setConnection);

  useEffect(() => {
    if (!enabled) return;
    const socket = new RealtimeClient({
      url: defaultSocketUrl(),
      getToken: async (fresh) => (fresh ? refresh() : (getAccessToken() ?? refresh())),
      onEvent: (event) =>
        applyEvent(client, event, {
          setSync,
          announce,
          newMail: (subject) => t("live.newMail", { subject }),
        }),
      onResync: () => void client.invalidateQueries(),
      onStatus: setConnection,
    });
    socket.start();
    let token = getAccessToken();
    const unsubscribe = subscribeSession(() => {
      const next = getSessionState().token;
      if (next && next !== token) socket.reauthenticate(next);
      token = next;
    });
    return () => {
      unsubscribe();
      socket.stop();
    };
  }, [enabled, client, setSync, announce, setConnection, t]);
}
