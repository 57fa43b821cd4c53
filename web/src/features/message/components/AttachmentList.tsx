import { useTranslation } from "react-i18next";
import type { Attachment } from "@/lib/api/types";
import { formatSize } from "@/lib/format";
import { useUiStore } from "@/lib/uiStore";
import { errorMessage } from "@/lib/errorMessage";
import { downloadAttachment } from "../api/queries";

export function AttachmentList({ attachments }: { attachments: readonly Attachment[] }) {
  const { t, i18n } = useTranslation("mail");
  const announce = useUiStore((state) => state.announce);
  const files = attachments.filter((a) => !a.is_inline);
  if (files.length === 0) return null;
  return (
    <section className="attachments" aria-label={t("reader.attachments", { count: files.length })}>
      <h3 className="visually-hidden">{t("reader.attachments", { count: files.length })}</h3>
      <ul>
        {files.map((file) => (
          <li key={file.id}>
            <button
              type="button"
              className="attachment"
              onClick={() => {
                downloadAttachment(file).catch((error: unknown) =>
                  announce(errorMessage(t, error)),
                );
              }}
              aria-label={t("reader.download", { name: file.filename })}
            >
              <span className="attachment-name">{file.filename}</span>
              <span className="attachment-size">{formatSize(file.size, i18n.language)}</span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
