import { useTranslation } from "react-i18next";
import { Alert } from "@/components/ui/Alert";
import { Spinner } from "@/components/ui/Spinner";
import { errorMessage } from "@/lib/errorMessage";
import { formatFullDate } from "@/lib/format";
import type { Decision } from "../api/ai";
import { decisionReasonText } from "../reasons";

/** "Why?": every logged AI decision about the message, newest first. */
export function DecisionLog({
  decisions,
  loading,
  error,
}: {
  decisions: readonly Decision[] | undefined;
  loading: boolean;
  error: unknown;
}) {
  const { t, i18n } = useTranslation("ai");
  const percent = new Intl.NumberFormat(i18n.language, { style: "percent" });
  return (
    <div className="ai-why" role="region" aria-label={t("why.title")}>
      <h4>{t("why.title")}</h4>
      {loading ? <Spinner label={t("why.loading")} /> : null}
      {error ? <Alert>{errorMessage(t, error)}</Alert> : null}
      {decisions && decisions.length === 0 ? <p className="muted">{t("why.empty")}</p> : null}
      {decisions && decisions.length > 0 ? (
        <ol className="ai-why-list">
          {decisions.map((decision) => (
            <li key={decision.id}>
              <div className="ai-why-head">
                <strong>
                  {t(`features.${decision.feature}`, { defaultValue: decision.feature })}
                </strong>
                <time dateTime={decision.created_at} className="muted">
                  {formatFullDate(decision.created_at, i18n.language)}
                </time>
              </div>
              <dl>
                <dt>{t("why.by")}</dt>
                <dd>
                  {decision.remote
                    ? t("why.remote", { provider: decision.provider, model: decision.model })
                    : t("why.local", { model: decision.model })}
                </dd>
                {decision.confidence !== null ? (
                  <>
                    <dt>{t("why.confidence")}</dt>
                    <dd>{percent.format(decision.confidence)}</dd>
                  </>
                ) : null}
                {decision.reasons.length > 0 ? (
                  <>
                    <dt>{t("why.reasons")}</dt>
                    <dd>
                      <ul>
                        {decision.reasons.map((reason, index) => (
                          <li key={index}>{decisionReasonText(t, reason)}</li>
                        ))}
                      </ul>
                    </dd>
                  </>
                ) : null}
              </dl>
            </li>
          ))}
        </ol>
      ) : null}
    </div>
  );
}
