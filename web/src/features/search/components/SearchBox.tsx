import { useId, useState, type RefObject } from "react";
import { useTranslation } from "react-i18next";
import { OPERATORS, appendOperator } from "../operators";
import "../search.css";

interface Props {
  /** The query of the results on screen; the box shows it when it changes. */
  query: string;
  onSearch: (query: string) => void;
  inputRef: RefObject<HTMLInputElement | null>;
}

/** The header's search field: Enter searches, operators pass through as typed. */
export function SearchBox({ query, onSearch, inputRef }: Props) {
  const { t } = useTranslation("search");
  const [value, setValue] = useState(query);
  const [shown, setShown] = useState(query);
  const [helpOpen, setHelpOpen] = useState(false);
  const helpId = useId();
  if (shown !== query) {
    setShown(query);
    setValue(query);
  }

  const insert = (example: string) => {
    const next = appendOperator(value, example);
    setValue(next);
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
        onChange={(event) => setValue(event.target.value)}
      />
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
