import { useTranslation } from "react-i18next";
import { Alert } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import type { EmailDetail } from "@/lib/api/types";
import { errorMessage } from "@/lib/errorMessage";
import { formatFullDate } from "@/lib/format";
import { useUiStore, type ComposeMode } from "@/lib/uiStore";
import { EDITABLE_STATUSES, useCancelSchedule, useOutgoing } from "../api/outgoing";
import "./snooze.css";

/** A draft, a scheduled or a failed message of the user's: edit it, or cancel the schedule. */
export function OutgoingBar({ email }: { email: EmailDetail }) {
  const { t, i18n } = useTranslation("compose");
  const status = email.send_status ?? "";
  const editable = EDITABLE_STATUSES.has(status);
  const draft = useOutgoing(email.id, status === "scheduled");
  const cancel = useCancelSchedule(email.id);
  const openCompose = useUiStore((s) => s.openCompose);
  if (!editable) return null;

  function edit() {
    const mode: ComposeMode & { draftId: string } = { kind: "new", draftId: email.id };
    openCompose(mode);
  }

  const sendAt = draft.data?.send_at ?? null;
  return (
    <div className="outgoing-banner" role="status">
      <span>
        {status === "scheduled"
          ? sendAt
            ? t("outgoing.scheduledFor", { date: formatFullDate(sendAt, i18n.language) })
            : t("outgoing.scheduled")
          : status === "failed"
            ? t("outgoing.failed")
            : t("outgoing.draft")}
      </span>
      <Button onClick={edit}>{t("outgoing.edit")}</Button>
      {status === "scheduled" ? (
        <Button onClick={() => cancel.mutate()} disabled={cancel.isPending}>
          {t("outgoing.cancelSchedule")}
        </Button>
      ) : null}
      {cancel.error ? <Alert>{errorMessage(t, cancel.error)}</Alert> : null}
    </div>
  );
}
