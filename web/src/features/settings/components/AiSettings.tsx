import { useId } from "react";
import { useTranslation } from "react-i18next";
import { Alert } from "@/components/ui/Alert";
import { Spinner } from "@/components/ui/Spinner";
import { errorMessage } from "@/lib/errorMessage";
import {
  AI_FEATURES,
  useSettings,
  useUpdateSettings,
  type AiFeature,
  type SettingsUpdate,
} from "../api/settings";
import "./settings.css";

const PROVIDERS = ["auto", "local", "remote"] as const;
const SUMMARY_LANGUAGES = ["ui", "original", "en", "de"] as const;

/** PRODUCT_SPEC §2.5 Controls: AI on/off, local only, each feature and where it runs. */
export function AiSettings() {
  const { t } = useTranslation("settings");
  const headingId = useId();
  const languageId = useId();
  const settings = useSettings();
  const update = useUpdateSettings();
  const ai = settings.data?.ai;

  const change = (body: NonNullable<SettingsUpdate["ai"]>) => update.update({ ai: body });
  const feature = (name: AiFeature) =>
    ai?.features?.[name] ?? { enabled: true, provider: "auto" as const };

  return (
    <section aria-labelledby={headingId} className="settings-section">
      <h2 id={headingId}>{t("ai.title")}</h2>
      {settings.isPending ? <Spinner label={t("common:loading")} /> : null}
      {settings.error ? <Alert>{errorMessage(t, settings.error)}</Alert> : null}
      {ai ? (
        <>
          <label className="checkbox">
            <input
              type="checkbox"
              checked={ai.enabled ?? true}
              onChange={(e) => change({ enabled: e.target.checked })}
            />
            {t("ai.enabled")}
          </label>
          <label className="checkbox">
            <input
              type="checkbox"
              checked={ai.local_only ?? false}
              disabled={!(ai.enabled ?? true)}
              onChange={(e) => change({ local_only: e.target.checked })}
              aria-describedby={`${headingId}-local`}
            />
            {t("ai.localOnly")}
          </label>
          <p id={`${headingId}-local`} className="field-hint">
            {ai.local_only ? t("ai.localOnlyOn") : t("ai.localOnlyOff")}
          </p>
          <label className="checkbox">
            <input
              type="checkbox"
              checked={ai.redact_pii ?? true}
              disabled={!(ai.enabled ?? true) || (ai.local_only ?? false)}
              onChange={(e) => change({ redact_pii: e.target.checked })}
            />
            {t("ai.redactPii")}
          </label>
          <div className="field">
            <label htmlFor={languageId}>{t("ai.summaryLanguage.label")}</label>
            <select
              id={languageId}
              value={ai.summary_language ?? "ui"}
              disabled={!(ai.enabled ?? true)}
              onChange={(e) =>
                change({
                  summary_language: e.target.value as (typeof SUMMARY_LANGUAGES)[number],
                })
              }
            >
              {SUMMARY_LANGUAGES.map((value) => (
                <option key={value} value={value}>
                  {t(`ai.summaryLanguage.${value}`)}
                </option>
              ))}
            </select>
          </div>
          <table className="ai-features">
            <caption>{t("ai.features.caption")}</caption>
            <thead>
              <tr>
                <th scope="col">{t("ai.features.feature")}</th>
                <th scope="col">{t("ai.features.on")}</th>
                <th scope="col">{t("ai.features.provider")}</th>
              </tr>
            </thead>
            <tbody>
              {AI_FEATURES.map((name) => {
                const current = feature(name);
                const label = t(`ai.feature.${name}`);
                return (
                  <tr key={name}>
                    <th scope="row">{label}</th>
                    <td>
                      <input
                        type="checkbox"
                        aria-label={t("ai.features.toggle", { feature: label })}
                        checked={current.enabled ?? true}
                        disabled={!(ai.enabled ?? true)}
                        onChange={(e) =>
                          change({ features: { [name]: { enabled: e.target.checked } } })
                        }
                      />
                    </td>
                    <td>
                      {ai.local_only ? (
                        <span className="muted">{t("ai.providers.localOnly")}</span>
                      ) : (
                        <select
                          aria-label={t("ai.features.providerFor", { feature: label })}
                          value={current.provider ?? "auto"}
                          disabled={!(ai.enabled ?? true) || !(current.enabled ?? true)}
                          onChange={(e) =>
                            change({
                              features: {
                                [name]: { provider: e.target.value as (typeof PROVIDERS)[number] },
                              },
                            })
                          }
                        >
                          {PROVIDERS.map((provider) => (
                            <option key={provider} value={provider}>
                              {t(`ai.providers.${provider}`)}
                            </option>
                          ))}
                        </select>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <p className="field-hint">{t("ai.providers.hint")}</p>
          <p className="muted" role="status" aria-live="polite">
            {update.isPending ? t("saving") : update.isSuccess ? t("saved") : ""}
          </p>
          {update.error ? <Alert>{errorMessage(t, update.error)}</Alert> : null}
        </>
      ) : null}
    </section>
  );
}
