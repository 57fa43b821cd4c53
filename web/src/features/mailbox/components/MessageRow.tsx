import { memo, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import type { EmailSummary } from "@/lib/api/types";
import { displayName, formatListDate } from "@/lib/format";

export const ROW_HEIGHT = 80;

/** What a list may show in place of a row's own subject and preview (search hits), and a note
 * after the subject. */
export interface RowDecoration {
  subject?: ReactNode;
  preview?: ReactNode;
  note?: ReactNode;
}

interface Props {
  email: EmailSummary;
  index: number;
  /** The list's length, -1 while more pages may follow (ARIA: unknown). */
  setSize: number;
  top: number;
  active: boolean;
  open: boolean;
  selected: boolean;
  domId: string;
  height?: number;
  decoration?: RowDecoration;
  onOpen: (index: number) => void;
  onToggle: (id: string, range: boolean) => void;
}

function MessageRowView({
  email,
  index,
  setSize,
  top,
  active,
  open,
  selected,
  domId,
  height = ROW_HEIGHT,
  decoration,
  onOpen,
  onToggle,
}: Props) {
  const { t, i18n } = useTranslation("mail");
  const sender = displayName(email.sender);
  return (
    <div
      id={domId}
      role="option"
      aria-selected={selected}
      aria-current={open ? "true" : undefined}
      aria-posinset={index + 1}
      aria-setsize={setSize}
      data-index={index}
      className={`row${email.is_read ? "" : " unread"}${active ? " active" : ""}${open ? " open" : ""}${selected ? " selected" : ""}`}
      style={{ transform: `translateY(${top}px)`, height }}
      onClick={(event) => {
        if (event.shiftKey || event.metaKey || event.ctrlKey) onToggle(email.id, event.shiftKey);
        else onOpen(index);
      }}
    >
      <span
        className="row-check"
        aria-hidden="true"
        onClick={(event) => {
          event.stopPropagation();
          onToggle(email.id, event.shiftKey);
        }}
      >
        {/* Drawn, not an <input>: a control inside an option is nested interactive content;
            the option's aria-selected tells assistive technology. */}
        <span className="row-box" />
      </span>
      <div className="row-main">
        <div className="row-line">
          <span className="row-sender">{sender}</span>
          <span className="row-flags">
            {email.priority_band ? (
              <span
                className={`badge priority-${email.priority_band}`}
                title={t("priority.score", { score: email.priority ?? 0 })}
              >
                {t(`priority.${email.priority_band}`)}
              </span>
            ) : null}
            {email.has_attachments ? (
              <span
                className="flag"
                title={t("flags.attachment")}
                aria-label={t("flags.attachment")}
              >
                📎
              </span>
            ) : null}
            {email.snoozed_until ? (
              <span className="flag" title={t("flags.snoozed")} aria-label={t("flags.snoozed")}>
                ⏰
              </span>
            ) : null}
            <span
              className={`flag star${email.is_starred ? " on" : ""}`}
              aria-label={email.is_starred ? t("flags.starred") : undefined}
            >
              {email.is_starred ? "★" : ""}
            </span>
            <time className="row-date" dateTime={email.date ?? undefined}>
              {formatListDate(email.date, i18n.language)}
            </time>
          </span>
        </div>
        <div className="row-line">
          <span className="row-subject">
            {decoration?.subject ?? (email.subject || t("noSubject"))}
          </span>
          {decoration?.note}
          {email.category ? (
            <span className={`chip category-${email.category}`}>
              {t(`categories.${email.category}`, { defaultValue: email.category })}
            </span>
          ) : null}
          {email.tags.slice(0, 3).map((tag) => (
            <span key={tag} className="chip tag">
              {tag}
            </span>
          ))}
        </div>
        {decoration?.preview !== undefined ? (
          <div className="row-preview hit-preview">{decoration.preview}</div>
        ) : (
          <div className="row-preview">{email.preview}</div>
        )}
      </div>
      <span className="visually-hidden">{email.is_read ? "" : t("flags.unread")}</span>
    </div>
  );
}

export const MessageRow = memo(MessageRowView);
