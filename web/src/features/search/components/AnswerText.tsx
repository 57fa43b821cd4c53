import type { MouseEvent } from "react";
import { useTranslation } from "react-i18next";
import type { Citation } from "../types";

const MARKER = /\[(\d{1,2})\]/g;

interface Props {
  text: string;
  citations: readonly Citation[];
  hrefFor: (emailId: string) => string;
  onOpen: (emailId: string) => void;
}

/** The answer's text with each `[n]` made a link to the message it cites. */
export function AnswerText({ text, citations, hrefFor, onOpen }: Props) {
  const { t } = useTranslation("search");
  const parts: React.ReactNode[] = [];
  let last = 0;
  for (const match of text.matchAll(MARKER)) {
    const citation = citations[Number(match[1]) - 1];
    if (!citation) continue;
    parts.push(text.slice(last, match.index));
    const open = (event: MouseEvent<HTMLAnchorElement>) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
      event.preventDefault();
      onOpen(citation.email_id);
    };
    parts.push(
      <a
        key={match.index}
        className="cite-ref"
        href={hrefFor(citation.email_id)}
        onClick={open}
        aria-label={t("ask.source", { n: match[1], subject: citation.subject })}
      >
        {match[0]}
      </a>,
    );
    last = match.index + match[0].length;
  }
  parts.push(text.slice(last));
  return <>{parts}</>;
}
