import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Button } from "@/components/ui/Button";
import type { EmailDetail } from "@/lib/api/types";
import { displayName, formatFullDate } from "@/lib/format";
import { useInlineImages } from "../api/queries";
import { AiPanel } from "./AiPanel";
import { AttachmentList } from "./AttachmentList";
import { MailBody } from "./MailBody";
import { OutgoingBar } from "./OutgoingBar";

function addresses(list: readonly { name: string; address: string }[]): string {
  return list.map((a) => (a.name ? `${a.name} <${a.address}>` : a.address)).join(", ");
}

/** One message of a conversation, expanded or as a one-line summary. */
export function MessageView({
  email,
  expanded,
  onExpand,
}: {
  email: EmailDetail;
  expanded: boolean;
  onExpand: () => void;
}) {
  const { t, i18n } = useTranslation("mail");
  const [showImages, setShowImages] = useState(false);
  const inline = useInlineImages(expanded ? email : undefined);

  if (!expanded) {
    return (
      <article className="message collapsed">
        <button type="button" className="message-summary" onClick={onExpand} aria-expanded="false">
          <span className="row-sender">{displayName(email.sender)}</span>
          <span className="row-preview">{email.preview}</span>
          <time dateTime={email.date ?? undefined}>
            {formatFullDate(email.date, i18n.language)}
          </time>
        </button>
      </article>
    );
  }

  return (
    <article
      className="message"
      aria-label={t("reader.messageFrom", { sender: displayName(email.sender) })}
    >
      <header className="message-header">
        <div>
          <strong>{displayName(email.sender)}</strong>{" "}
          <span className="muted">&lt;{email.sender.address}&gt;</span>
        </div>
        <div className="muted">
          {t("reader.to")}: {addresses(email.to)}
          {email.cc.length > 0 ? ` · ${t("reader.cc")}: ${addresses(email.cc)}` : null}
        </div>
        <time className="muted" dateTime={email.date ?? undefined}>
          {formatFullDate(email.date, i18n.language)}
        </time>
      </header>
      <OutgoingBar email={email} />
      <AiPanel email={email} />
      {email.has_remote_images && !showImages ? (
        <div className="images-banner" role="status">
          <span>{t("reader.imagesBlocked")}</span>
          <Button onClick={() => setShowImages(true)}>{t("reader.showImages")}</Button>
        </div>
      ) : null}
      {email.body_html ? (
        <MailBody
          html={email.body_html}
          title={email.subject}
          showImages={showImages}
          inlineImages={inline.data}
        />
      ) : (
        <pre className="mail-text">{email.body_text}</pre>
      )}
      <AttachmentList attachments={email.attachments} />
    </article>
  );
}
