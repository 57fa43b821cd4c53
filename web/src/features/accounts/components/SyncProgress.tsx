import { useTranslation } from "react-i18next";
import { useUiStore } from "@/lib/uiStore";

/** Live progress of an account's sync, from the WebSocket `sync_status` events. */
export function SyncProgress({ accountId }: { accountId: string }) {
  const { t } = useTranslation("accounts");
  const progress = useUiStore((state) => state.sync[accountId]);
  if (!progress) {
    return (
      <p role="status" aria-live="polite">
        {t("sync.waiting")}
      </p>
    );
  }
  const value = progress.progress ?? 0;
  return (
    <div className="sync-progress" role="status" aria-live="polite">
      <progress
        max={100}
        value={progress.status === "completed" ? 100 : value}
        aria-label={t("sync.label")}
      />
      <p>
        {progress.status === "completed"
          ? t("sync.completed")
          : progress.status === "error"
            ? t("sync.error", { message: progress.message ?? "" })
            : t("sync.running", {
                folder: progress.folder ?? "",
                processed: progress.processed ?? 0,
                total: progress.total ?? 0,
              })}
      </p>
    </div>
  );
}
