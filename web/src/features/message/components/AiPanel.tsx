import { useId, useState } from "react";
import { useTranslation } from "react-i18next";
import { Alert } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import type { EmailDetail } from "@/lib/api/types";
import { errorMessage } from "@/lib/errorMessage";
import { useUiStore, type ComposeMode } from "@/lib/uiStore";
import {
  BAND_PRIORITY,
  CATEGORIES,
  bandOf,
  featureOn,
  useAiSettings,
  useCorrection,
  useDecisions,
  useSuggestions,
  useSummarize,
  type AiSettings,
  type Category,
  type Decision,
  type Suggestion,
} from "../api/ai";
import { priorityReasonText, weightText } from "../reasons";
import { DecisionLog } from "./DecisionLog";
import "./ai.css";

const MAX_SUGGESTIONS = 3;
const WORKING = new Set(["pending", "processing"]);

function latest(decisions: readonly Decision[] | undefined, feature: string) {
  return decisions?.find((d) => d.feature === feature);
}

function precomputed(decision: Decision | undefined): Suggestion[] {
  const items = decision?.output.suggestions;
  if (!Array.isArray(items)) return [];
  return items.filter(
    (item): item is Suggestion =>
      typeof item === "object" && item !== null && typeof (item as Suggestion).text === "string",
  );
}

/** Where a result was made: on this server (extractive, templates) or by a provider. */
function ModeBadge({
  remote,
  provider,
  model,
}: {
  remote: boolean;
  provider?: string;
  model?: string;
}) {
  const { t } = useTranslation("ai");
  return (
    <span className="ai-mode">
      {remote && provider ? t("mode.remote", { provider, model: model ?? "" }) : t("mode.local")}
    </span>
  );
}

/** The AI results of one message and the controls to correct them (PRODUCT_SPEC §2.5). */
export function AiPanel({ email }: { email: EmailDetail }) {
  const settings = useAiSettings();
  const ai: AiSettings | undefined = settings.data;
  const working = WORKING.has(email.ai_status);
  const shown = featureOn(ai, "classify") || featureOn(ai, "priority") || featureOn(ai, "summary");
  const hasResults =
    email.category !== null ||
    email.priority !== null ||
    email.summary !== null ||
    email.tags.length > 0;
  if (!ai || !shown) return null;
  if (!hasResults && !working && email.ai_status === "skipped") return null;
  return <Panel email={email} ai={ai} working={working} />;
}

function Panel({ email, ai, working }: { email: EmailDetail; ai: AiSettings; working: boolean }) {
  const { t, i18n } = useTranslation("ai");
  const headingId = useId();
  const categoryId = useId();
  const [whyOpen, setWhyOpen] = useState(false);
  const decisions = useDecisions(email.id, !working);
  const correction = useCorrection(email.id);
  const summarize = useSummarize(email.id);
  const [askSuggestions, setAskSuggestions] = useState(false);
  const suggestions = useSuggestions(email.id, "business", askSuggestions);
  const openCompose = useUiStore((s) => s.openCompose);

  const summaryDecision = latest(decisions.data, "summary");
  const summaryText = summarize.data?.summary ?? email.summary;
  const actionItems = summarize.data?.action_items ?? email.action_items;
  const summaryRemote = summarize.data
    ? summarize.data.mode === "remote"
    : (summaryDecision?.remote ?? false);
  const ready = precomputed(latest(decisions.data, "suggestions"));
  const replies = (suggestions.data?.suggestions ?? ready).slice(0, MAX_SUGGESTIONS);
  const repliesRemote = suggestions.data?.mode === "remote";
  const priority = email.priority;
  const band = priority === null ? null : bandOf(priority);

  function reply(text: string) {
    const mode: ComposeMode & { body: string } = {
      kind: "reply",
      emailId: email.id,
      all: false,
      body: text,
    };
    openCompose(mode);
  }

  const formatDue = (value: string) => {
    const date = new Date(`${value.slice(0, 10)}T12:00:00`);
    return Number.isNaN(date.getTime())
      ? value
      : new Intl.DateTimeFormat(i18n.language, { dateStyle: "medium" }).format(date);
  };

  return (
    <section className="ai-panel" aria-labelledby={headingId}>
      <header className="ai-head">
        <h3 id={headingId}>{t("title")}</h3>
        <Button
          variant="ghost"
          aria-expanded={whyOpen}
          onClick={() => setWhyOpen((open) => !open)}
          disabled={working}
        >
          {t("why.button")}
        </Button>
      </header>
      {working ? (
        <p className="muted" role="status">
          {t("working")}
        </p>
      ) : null}

      <div className="ai-facts">
        {featureOn(ai, "classify") ? (
          <div className="ai-fact">
            <label htmlFor={categoryId}>{t("category.label")}</label>
            <select
              id={categoryId}
              value={email.category ?? ""}
              disabled={working}
              onChange={(e) => {
                if (e.target.value) correction.mutate({ category: e.target.value as Category });
              }}
            >
              {email.category === null ? <option value="">{t("category.none")}</option> : null}
              {CATEGORIES.map((key) => (
                <option key={key} value={key}>
                  {t(`categories.${key}`)}
                </option>
              ))}
              {email.category !== null &&
              !(CATEGORIES as readonly string[]).includes(email.category) ? (
                <option value={email.category}>{email.category}</option>
              ) : null}
            </select>
            {email.needs_review ? <span className="chip">{t("category.needsReview")}</span> : null}
          </div>
        ) : null}

        {featureOn(ai, "priority") && priority !== null && band !== null ? (
          <div className="ai-fact ai-priority">
            <span className={`badge priority-${band}`}>
              {t("priority.score", { score: priority, band: t(`priority.${band}`) })}
            </span>
            <Button
              variant="ghost"
              disabled={band === "high" || correction.isPending}
              onClick={() =>
                correction.mutate({
                  priority: band === "low" ? BAND_PRIORITY.medium : BAND_PRIORITY.high,
                })
              }
            >
              {t("priority.raise")}
            </Button>
            <Button
              variant="ghost"
              disabled={band === "low" || correction.isPending}
              onClick={() =>
                correction.mutate({
                  priority: band === "high" ? BAND_PRIORITY.medium : BAND_PRIORITY.low,
                })
              }
            >
              {t("priority.lower")}
            </Button>
          </div>
        ) : null}
      </div>

      {featureOn(ai, "priority") && email.priority_reasons.length > 0 ? (
        <ul className="ai-reasons" aria-label={t("priority.reasons")}>
          {email.priority_reasons.map((reason, index) => {
            const weight = weightText(reason.weight, i18n.language);
            return (
              <li key={`${reason.code}-${index}`}>
                {weight ? <span className="ai-weight">{weight}</span> : null}
                {priorityReasonText(t, reason)}
              </li>
            );
          })}
        </ul>
      ) : null}

      {correction.error ? <Alert>{errorMessage(t, correction.error)}</Alert> : null}

      {featureOn(ai, "tags") && email.tags.length > 0 ? (
        <ul className="ai-tags" aria-label={t("tags")}>
          {email.tags.map((tag) => (
            <li key={tag} className="chip">
              {tag}
            </li>
          ))}
        </ul>
      ) : null}

      {featureOn(ai, "summary") ? (
        <div className="ai-block">
          <h4>
            {t("summary.title")}{" "}
            {summaryText ? (
              <ModeBadge
                remote={summaryRemote}
                provider={summaryDecision?.provider}
                model={summaryDecision?.model}
              />
            ) : null}
          </h4>
          {summaryText ? (
            <p className="ai-summary">{summaryText}</p>
          ) : (
            <Button onClick={() => summarize.mutate()} disabled={summarize.isPending || working}>
              {summarize.isPending ? t("summary.working") : t("summary.make")}
            </Button>
          )}
          {summarize.error ? <Alert>{errorMessage(t, summarize.error)}</Alert> : null}
          {actionItems.length > 0 ? (
            <>
              <h4>{t("actions.title")}</h4>
              <ul className="ai-actions">
                {actionItems.map((item, index) => (
                  <li key={`${item.text}-${index}`}>
                    <span>{item.text}</span>
                    {item.due_date ? (
                      <span className="muted">
                        {" "}
                        · {t("actions.due", { date: formatDue(item.due_date) })}
                      </span>
                    ) : null}
                    {item.owner ? (
                      <span className="muted"> · {t("actions.owner", { owner: item.owner })}</span>
                    ) : null}
                  </li>
                ))}
              </ul>
            </>
          ) : null}
        </div>
      ) : null}

      {featureOn(ai, "suggestions") ? (
        <div className="ai-block">
          <h4>
            {t("suggestions.title")}{" "}
            {replies.length > 0 ? <ModeBadge remote={repliesRemote} /> : null}
          </h4>
          {replies.length > 0 ? (
            <ul className="ai-suggestions">
              {replies.map((suggestion) => (
                <li key={suggestion.id}>
                  <button
                    type="button"
                    className="ai-suggestion"
                    onClick={() => reply(suggestion.text)}
                    aria-label={t("suggestions.use", { text: suggestion.text })}
                  >
                    {suggestion.text}
                  </button>
                </li>
              ))}
            </ul>
          ) : (
            <Button
              onClick={() => setAskSuggestions(true)}
              disabled={suggestions.isFetching || working}
            >
              {suggestions.isFetching ? t("suggestions.working") : t("suggestions.make")}
            </Button>
          )}
          {suggestions.data && suggestions.data.suggestions.length === 0 ? (
            <p className="muted">{t("suggestions.none")}</p>
          ) : null}
          {suggestions.error ? <Alert>{errorMessage(t, suggestions.error)}</Alert> : null}
        </div>
      ) : null}

      {whyOpen ? (
        <DecisionLog
          decisions={decisions.data}
          loading={decisions.isPending}
          error={decisions.error}
        />
      ) : null}
    </section>
  );
}
