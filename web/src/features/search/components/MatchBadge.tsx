import { useTranslation } from "react-i18next";
import type { SearchHit } from "../types";
import "../search.css";

/** Why a hit was found (words, meaning or both) and its score. */
export function MatchBadge({ hit }: { hit: Pick<SearchHit, "matched" | "score"> }) {
  const { t, i18n } = useTranslation("search");
  const score = new Intl.NumberFormat(i18n.language, { maximumSignificantDigits: 3 }).format(
    hit.score,
  );
  const why = t("matched.why", { how: t(`matched.how.${hit.matched}`), score });
  return (
    <span className={`match match-${hit.matched}`} title={why}>
      <span aria-hidden="true">
        {t(`matched.${hit.matched}`)} · {score}
      </span>
      <span className="visually-hidden">{why}</span>
    </span>
  );
}
