import { useEffect, useId, useRef, useState, type MouseEvent } from "react";
import { useTranslation } from "react-i18next";
import { Button } from "@/components/ui/Button";
import { Spinner } from "@/components/ui/Spinner";
import { CATEGORIES } from "@/features/message/api/ai";
import { displayName, formatListDate } from "@/lib/format";
import { useAsk } from "../hooks/useAsk";
import type { AskFilters } from "../types";
import { ASK_INPUT_ID } from "../ids";
import { AnswerText } from "./AnswerText";
import { RetryNotice } from "./RetryNotice";
import "../search.css";

interface Props {
  /** The message open in the reader, marked in the sources. */
  openId: string | null;
  hrefFor: (emailId: string) => string;
  onOpen: (emailId: string) => void;
}

/** Ask your inbox: a question, the answer as it is written, and the messages it cites. */
export function AskPanel({ openId, hrefFor, onOpen }: Props) {
  const { t, i18n } = useTranslation("search");
  const { state, ask, cancel } = useAsk();
  const [question, setQuestion] = useState("");
  const [sender, setSender] = useState("");
  const [after, setAfter] = useState("");
  const [before, setBefore] = useState("");
  const [category, setCategory] = useState("");
  const filterIds = useId();
  const inputRef = useRef<HTMLInputElement>(null);
  const hintId = useId();
  const asking = state.status === "asking";
  const finished = state.status === "done";
  const nothing = finished && state.citations.length === 0 && state.mode === "extractive";

  useEffect(() => {
    inputRef.current?.focus();
  }, []);

  const filters: AskFilters = {
    ...(sender.trim() ? { from: sender.trim() } : {}),
    ...(after ? { date_from: after } : {}),
    ...(before ? { date_to: before } : {}),
    ...(category ? { category: category as NonNullable<AskFilters["category"]> } : {}),
  };
  const limits = Object.keys(filters).length;
  const submit = () => {
    const text = question.trim();
    if (text) ask(text, filters);
  };
  const openCitation = (emailId: string) => (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    onOpen(emailId);
  };

  return (
    <div className="ask">
      <form
        className="ask-form"
        onSubmit={(event) => {
          event.preventDefault();
          submit();
        }}
      >
        <p id={hintId} className="muted ask-intro">
          {t("ask.intro")}
        </p>
        <label htmlFor={ASK_INPUT_ID}>{t("ask.label")}</label>
        <div className="ask-row">
          <input
            ref={inputRef}
            id={ASK_INPUT_ID}
            type="text"
            value={question}
            maxLength={1000}
            placeholder={t("ask.placeholder")}
            aria-describedby={hintId}
            autoComplete="off"
            enterKeyHint="send"
            onChange={(event) => setQuestion(event.target.value)}
            onKeyDown={(event) => {
              if (event.key === "Escape" && asking) {
                event.stopPropagation();
                cancel();
              }
            }}
          />
          {asking ? (
            <Button onClick={cancel}>{t("ask.stop")}</Button>
          ) : (
            <Button type="submit" variant="primary" disabled={!question.trim()}>
              {t("ask.submit")}
            </Button>
          )}
        </div>
        <details className="ask-filters">
          <summary>
            {t("ask.filters.title")}
            {limits > 0 ? (
              <span className="muted"> ({t("ask.filters.active", { count: limits })})</span>
            ) : null}
          </summary>
          <div className="ask-filter-fields">
            <label htmlFor={`${filterIds}-from`}>{t("ask.filters.from")}</label>
            <input
              id={`${filterIds}-from`}
              type="text"
              value={sender}
              maxLength={320}
              autoComplete="off"
              onChange={(event) => setSender(event.target.value)}
            />
            <label htmlFor={`${filterIds}-after`}>{t("ask.filters.after")}</label>
            <input
              id={`${filterIds}-after`}
              type="date"
              value={after}
              max={before || undefined}
              onChange={(event) => setAfter(event.target.value)}
            />
            <label htmlFor={`${filterIds}-before`}>{t("ask.filters.before")}</label>
            <input
              id={`${filterIds}-before`}
              type="date"
              value={before}
              min={after || undefined}
              onChange={(event) => setBefore(event.target.value)}
            />
            <label htmlFor={`${filterIds}-category`}>{t("ask.filters.category")}</label>
            <select
              id={`${filterIds}-category`}
              value={category}
              onChange={(event) => setCategory(event.target.value)}
            >
              <option value="">{t("ask.filters.any")}</option>
              {CATEGORIES.map((name) => (
                <option key={name} value={name}>
                  {t(`mail:categories.${name}`)}
                </option>
              ))}
            </select>
          </div>
        </details>
      </form>

      <section className="ask-result" aria-label={t("ask.answer")} aria-busy={asking}>
        {asking && !state.answer ? <Spinner label={t("ask.answering")} /> : null}
        {asking && !state.answer ? (
          <p className="muted" aria-hidden="true">
            {t("ask.answering")}
          </p>
        ) : null}
        {state.status === "error" ? (
          <RetryNotice
            key={state.question}
            error={state.error}
            onRetry={() => ask(state.question, state.filters)}
          />
        ) : null}
        {state.status === "cancelled" ? <p className="muted">{t("ask.cancelled")}</p> : null}
        {nothing ? (
          <p className="ask-nothing" role="status">
            {t("ask.nothingFound")}
          </p>
        ) : state.answer && state.status !== "error" ? (
          <>
            <p className="ask-question">{state.question}</p>
            <div className="ask-answer" aria-live="polite">
              <AnswerText
                text={state.answer}
                citations={finished ? state.citations : []}
                hrefFor={hrefFor}
                onOpen={onOpen}
              />
            </div>
          </>
        ) : null}
        {finished && state.mode && !nothing ? (
          <p className={`ask-mode ask-mode-${state.mode}`}>{t(`ask.mode.${state.mode}`)}</p>
        ) : null}
        {finished && !nothing && state.citations.length === 0 ? (
          <p className="muted">{t("ask.noCitations")}</p>
        ) : null}
        {state.citations.length > 0 && state.status !== "error" ? (
          <>
            <h2 className="ask-sources-title">{t("ask.sources")}</h2>
            <ol className="ask-sources">
              {state.citations.map((citation, index) => (
                <li key={`${citation.email_id}-${index}`}>
                  <a
                    className="ask-source"
                    href={hrefFor(citation.email_id)}
                    aria-current={citation.email_id === openId ? "true" : undefined}
                    onClick={openCitation(citation.email_id)}
                  >
                    <span className="ask-source-line">
                      <span className="ask-source-n" aria-hidden="true">
                        [{index + 1}]
                      </span>
                      <span className="ask-source-subject">
                        {citation.subject || t("mail:noSubject")}
                      </span>
                    </span>
                    <span className="ask-source-line muted">
                      <span className="ask-source-sender">{displayName(citation.sender)}</span>
                      <time dateTime={citation.date ?? undefined}>
                        {formatListDate(citation.date, i18n.language)}
                      </time>
                    </span>
                    <span className="ask-source-snippet">{citation.snippet}</span>
                  </a>
                </li>
              ))}
            </ol>
          </>
        ) : null}
      </section>
    </div>
  );
}
