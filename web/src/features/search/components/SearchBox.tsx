import { useEffect, useEffectEvent, useId, useState, type RefObject } from "react";
import { useTranslation } from "react-i18next";
import { OPERATORS, appendOperator } from "../operators";
import "../search.css";

/** §2.6: the results follow the box this long after the last keystroke. */
export const LIVE_SEARCH_DELAY_MS = 300;
/** Shorter queries are not searched while typing (Enter still searches them). */
export const LIVE_SEARCH_MIN_LENGTH = 2;

interface Props {
  /** The query of the results on screen; the box shows it when it changes. */
  query: string;
  /** Enter: search for the query. */
  onSearch: (query: string) => void;
  /** Typing: search for the query once the keys have rested for `LIVE_SEARCH_DELAY_MS`. */
  onType?: (query: string) => void;
  /** While the server's search limit runs, typing searches nothing; it resumes afterwards. */
  paused?: boolean;
  inputRef: RefObject<HTMLInputElement | null>;
}

/**
 * The header's search field: the results follow what is typed (debounced), Enter searches at
 * once, operators pass through as typed. Leaving the box (Escape, Tab, a click elsewhere)
 * drops a search that was still waiting for the keys to rest.
 */
export function SearchBox({ query, onSearch, onType, paused = false, inputRef }: Props) {
  const { t } = useTranslation("search");
  const [value, setValue] = useState(query);
  const [shown, setShown] = useState(query);
  // Edited since the last search and still in the box: a live search is due.
  const [typing, setTyping] = useState(false);
  // The query the box last searched for while typing; when it comes back as `query`, the box
  // keeps what has been typed since (a space at the end, further letters).
  const [sent, setSent] = useState<string | null>(null);
  const [helpOpen, setHelpOpen] = useState(false);
  const helpId = useId();
  const pausedId = useId();
  if (shown !== query) {
    setShown(query);
    if (query === sent) {
      setSent(null);
    } else {
      setValue(query);
      setTyping(false);
    }
  }

  const searchTyped = useEffectEvent(() => {
    setTyping(false);
    const q = value.trim();
    if (!onType || q.length < LIVE_SEARCH_MIN_LENGTH || q === query) return;
    setSent(q);
    onType(q);
  });
  useEffect(() => {
    if (!typing || paused) return;
    const timer = setTimeout(searchTyped, LIVE_SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [value, typing, paused]);

  const edit = (next: string) => {
    setValue(next);
    setTyping(true);
  };

  const insert = (example: string) => {
    const next = appendOperator(value, example);
    edit(next);
    setHelpOpen(false);
    const input = inputRef.current;
    if (input) {
      input.focus();
      requestAnimationFrame(() => input.setSelectionRange(next.length, next.length));
    }
  };

  return (
    <form
      role="search"
      className="topbar-search"
      aria-label={t("box.label")}
      onSubmit={(event) => {
        event.preventDefault();
        setTyping(false);
        const q = value.trim();
        if (q) onSearch(q);
        else setHelpOpen(true);
      }}
      onKeyDown={(event) => {
        if (event.key !== "Escape") return;
        event.stopPropagation();
        if (helpOpen) {
          setHelpOpen(false);
          inputRef.current?.focus();
        } else {
          inputRef.current?.blur();
        }
      }}
    >
      <input
        ref={inputRef}
        type="search"
        className="search-input"
        aria-label={t("box.label")}
        placeholder={t("box.placeholder")}
        value={value}
        maxLength={1000}
        enterKeyHint="search"
        autoComplete="off"
        spellCheck={false}
        aria-describedby={paused && typing ? pausedId : undefined}
        onChange={(event) => edit(event.target.value)}
        onBlur={() => setTyping(false)}
      />
      {paused && typing ? (
        <p id={pausedId} className="search-paused" role="status">
          {t("box.paused")}
        </p>
      ) : null}
      <button type="submit" className="btn btn-ghost search-submit" aria-label={t("box.submit")}>
        <svg aria-hidden="true" viewBox="0 0 20 20" width="18" height="18" focusable="false">
          <circle cx="8.5" cy="8.5" r="5.5" fill="none" stroke="currentColor" strokeWidth="2" />
          <path d="M13 13l5 5" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
        </svg>
      </button>
      <button
        type="button"
        className="btn btn-ghost search-help-toggle"
        aria-expanded={helpOpen}
        aria-controls={helpId}
        aria-label={t("box.operators")}
        title={t("box.operators")}
        onClick={() => setHelpOpen((open) => !open)}
      >
        <svg aria-hidden="true" viewBox="0 0 20 20" width="18" height="18" focusable="false">
          <path
            d="M3 5h14M6 10h8M8.5 15h3"
            stroke="currentColor"
            strokeWidth="2"
            strokeLinecap="round"
          />
        </svg>
      </button>
      <div
        id={helpId}
        className="search-help"
        role="region"
        aria-label={t("box.operatorsTitle")}
        hidden={!helpOpen}
      >
        <p className="search-help-intro">{t("box.operatorsIntro")}</p>
        <ul className="search-help-list">
          {OPERATORS.map((operator) => (
            <li key={operator.key}>
              <button
                type="button"
                className="search-help-item"
                onClick={() => insert(operator.example)}
              >
                <code>{operator.example}</code>
                <span>{t(`operators.${operator.key}`)}</span>
              </button>
            </li>
          ))}
        </ul>
        <button type="button" className="btn btn-ghost" onClick={() => setHelpOpen(false)}>
          {t("box.closeOperators")}
        </button>
      </div>
    </form>
  );
}
