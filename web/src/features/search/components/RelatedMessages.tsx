import type { MouseEvent } from "react";
import { useTranslation } from "react-i18next";
import { displayName, formatListDate } from "@/lib/format";
import { useRelated } from "../api/queries";
import "../search.css";

interface Props {
  emailId: string;
  hrefFor: (emailId: string) => string;
  onOpen: (emailId: string) => void;
}

/** Up to five of the user's messages closest in meaning to this one, outside its thread. */
export function RelatedMessages({ emailId, hrefFor, onOpen }: Props) {
  const { t, i18n } = useTranslation("search");
  const related = useRelated(emailId);
  const open = (id: string) => (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    onOpen(id);
  };
  // Nothing to show (or it failed): the reader stays as it is rather than showing an error
  // about an extra.
  if (related.isError || (related.isSuccess && related.data.length === 0)) return null;
  return (
    <section className="related" aria-label={t("related.title")} aria-busy={related.isPending}>
      <h3 className="related-title">{t("related.title")}</h3>
      {related.isPending ? (
        <p className="muted">{t("related.loading")}</p>
      ) : (
        <ul className="related-list">
          {related.data.map(({ email }) => (
            <li key={email.id}>
              <a className="related-item" href={hrefFor(email.id)} onClick={open(email.id)}>
                <span className="related-subject">{email.subject || t("mail:noSubject")}</span>
                <span className="muted">
                  {displayName(email.sender)} ·{" "}
                  <time dateTime={email.date ?? undefined}>
                    {formatListDate(email.date, i18n.language)}
                  </time>
                </span>
              </a>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
