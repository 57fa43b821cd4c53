import { useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Alert } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Spinner } from "@/components/ui/Spinner";
import type { EmailDetail, Folder } from "@/lib/api/types";
import { errorMessage } from "@/lib/errorMessage";
import { formatFullDate } from "@/lib/format";
import { useUiStore } from "@/lib/uiStore";
import { useTimeZone } from "../api/ai";
import { useEmail, useThread } from "../api/queries";
import { useSnooze, useUnsnooze } from "../api/snooze";
import type { EmailAction } from "../hooks/useEmailActions";
import { usableTimeZone } from "../snoozeTimes";
import { MessageView } from "./MessageView";
import { SnoozeMenu } from "./SnoozeMenu";

interface Props {
  threadId: string | null;
  emailId: string | null;
  folders: readonly Folder[];
  onAction: (action: EmailAction) => void;
  onClose: () => void;
  /** Shown under the conversation, for its newest message (related mail). */
  footer?: (latestId: string) => ReactNode;
}

/** The reading pane: the conversation oldest first, the newest (and unread) ones open. */
export function ReaderPane({ threadId, emailId, folders, onAction, onClose, footer }: Props) {
  const { t, i18n } = useTranslation("mail");
  const { t: tAi } = useTranslation("ai");
  const timeZone = usableTimeZone(useTimeZone().data);
  const snooze = useSnooze();
  const unsnooze = useUnsnooze();
  const thread = useThread(threadId);
  const single = useEmail(threadId ? null : emailId);
  const openCompose = useUiStore((state) => state.openCompose);
  const query = threadId ? thread : single;
  const messages: EmailDetail[] = useMemo(
    () => (threadId ? (thread.data?.messages ?? []) : single.data ? [single.data] : []),
    [threadId, thread.data, single.data],
  );
  const subject = threadId ? (thread.data?.subject ?? "") : (single.data?.subject ?? "");
  const latest = messages[messages.length - 1];
  // Open: the newest message and those unread when the conversation was opened. The parent
  // keys this pane by conversation, so the state starts afresh for each one.
  const [expanded, setExpanded] = useState<ReadonlySet<string> | null>(null);
  if (expanded === null && messages.length > 0) {
    setExpanded(new Set(messages.filter((m) => !m.is_read).map((m) => m.id)));
  }
  const marked = useRef(false);
  const headingRef = useRef<HTMLHeadingElement>(null);

  const key = threadId ?? emailId;
  useEffect(() => {
    headingRef.current?.focus();
  }, [key, query.isSuccess]);

  // Mark as read when opened (the "immediately" setting).
  useEffect(() => {
    if (!key || messages.length === 0 || marked.current) return;
    marked.current = true;
    const unread = messages.filter((m) => !m.is_read).map((m) => m.id);
    if (unread.length > 0) onAction({ ids: unread, action: "mark_read" });
  }, [key, messages, onAction]);

  if (!key) {
    return (
      <section className="reader empty" aria-label={t("reader.label")}>
        <p className="muted">{t("reader.nothingSelected")}</p>
      </section>
    );
  }
  if (query.isPending) {
    return (
      <section className="reader" aria-label={t("reader.label")}>
        <Spinner label={t("reader.loading")} />
      </section>
    );
  }
  if (query.isError || !latest) {
    return (
      <section className="reader" aria-label={t("reader.label")}>
        <Alert>{errorMessage(t, query.error)}</Alert>
      </section>
    );
  }

  const sameAccount = folders.filter((f) => f.account_id === latest.account_id);
  const ids = messages.map((m) => m.id);
  const isOpen = (m: EmailDetail, index: number) =>
    index === messages.length - 1 || (expanded?.has(m.id) ?? false);
  const snoozed = messages.filter((m) => m.snoozed_until !== null);
  const snoozedUntil = snoozed[snoozed.length - 1]?.snoozed_until ?? null;

  function snoozeUntil(until: Date) {
    snooze.mutate({ ids, until });
    onClose();
  }

  return (
    <section className="reader" aria-label={t("reader.label")}>
      <div className="reader-toolbar" role="toolbar" aria-label={t("reader.actions")}>
        <Button onClick={onClose} aria-label={t("actions.back")}>
          ←
        </Button>
        <Button onClick={() => openCompose({ kind: "reply", emailId: latest.id, all: false })}>
          {t("actions.reply")}
        </Button>
        <Button onClick={() => openCompose({ kind: "reply", emailId: latest.id, all: true })}>
          {t("actions.replyAll")}
        </Button>
        <Button onClick={() => openCompose({ kind: "forward", emailId: latest.id })}>
          {t("actions.forward")}
        </Button>
        <Button onClick={() => onAction({ ids, action: "archive" })}>{t("actions.archive")}</Button>
        <Button variant="danger" onClick={() => onAction({ ids, action: "delete" })}>
          {t("actions.delete")}
        </Button>
        <Button
          aria-pressed={latest.is_starred}
          onClick={() =>
            onAction({ ids: [latest.id], action: latest.is_starred ? "unstar" : "star" })
          }
        >
          {latest.is_starred ? t("actions.unstar") : t("actions.star")}
        </Button>
        <SnoozeMenu
          timeZone={timeZone}
          onSnooze={snoozeUntil}
          disabled={snooze.isPending}
          shortcut
        />
        <Button onClick={() => onAction({ ids, action: "mark_unread" })}>
          {t("actions.markUnread")}
        </Button>
        <label className="move">
          <span className="visually-hidden">{t("actions.moveTo")}</span>
          <select
            value=""
            onChange={(e) => {
              if (e.target.value) onAction({ ids, action: "move", folderId: e.target.value });
            }}
          >
            <option value="">{t("actions.moveTo")}</option>
            {sameAccount
              .filter((f) => f.id !== latest.folder_id)
              .map((f) => (
                <option key={f.id} value={f.id}>
                  {f.role === "custom" ? f.path : t(`roles.${f.role}`)}
                </option>
              ))}
          </select>
        </label>
      </div>
      <h2 className="reader-subject" tabIndex={-1} ref={headingRef}>
        {subject || t("noSubject")}
      </h2>
      {snoozedUntil ? (
        <div className="snooze-banner" role="status">
          <span>{tAi("snooze.until", { date: formatFullDate(snoozedUntil, i18n.language) })}</span>
          <Button
            onClick={() => unsnooze.mutate(snoozed.map((m) => m.id))}
            disabled={unsnooze.isPending}
          >
            {tAi("snooze.unsnooze")}
          </Button>
        </div>
      ) : null}
      <div className="thread">
        {messages.map((message, index) => (
          <MessageView
            key={message.id}
            email={message}
            expanded={isOpen(message, index)}
            onExpand={() => setExpanded((s) => new Set(s).add(message.id))}
          />
        ))}
      </div>
      {footer && messages.length > 0 ? footer(latest.id) : null}
    </section>
  );
}
