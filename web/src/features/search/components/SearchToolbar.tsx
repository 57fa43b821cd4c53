import { useTranslation } from "react-i18next";
import { SEARCH_MODES, type SearchMode } from "../types";
import "../search.css";

interface Props {
  mode: SearchMode;
  onModeChange: (mode: SearchMode) => void;
  /** The mode the server used, when results are in. */
  modeUsed: SearchMode | null;
  /** Hits loaded so far, null while searching or without a query. */
  count: number | null;
  more: boolean;
  /** A search is running (the hits of the one before may still be on screen). */
  busy?: boolean;
}

/** Above the results: how to search (words, meaning or both), how many were found, and a
 * notice when the server could only search by words. */
export function SearchToolbar({ mode, onModeChange, modeUsed, count, more, busy }: Props) {
  const { t } = useTranslation("search");
  return (
    <div className="search-toolbar">
      <fieldset className="segmented">
        <legend className="visually-hidden">{t("mode.label")}</legend>
        {SEARCH_MODES.map((option) => (
          <label key={option} className="segment">
            <input
              type="radio"
              name="search-mode"
              value={option}
              checked={mode === option}
              onChange={() => onModeChange(option)}
            />
            <span>{t(`mode.${option}`)}</span>
          </label>
        ))}
      </fieldset>
      <p className="search-count muted" role="status">
        {busy
          ? t("searching")
          : count === null
            ? ""
            : more
              ? t("resultCountMore", { count })
              : t("resultCount", { count })}
      </p>
      {modeUsed !== null && modeUsed !== mode ? (
        <p className="search-fallback" role="note">
          {t("fellBack")}
        </p>
      ) : null}
    </div>
  );
}
