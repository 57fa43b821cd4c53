import { useId } from "react";
import { useTranslation } from "react-i18next";
import { Alert } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Spinner } from "@/components/ui/Spinner";
import { errorMessage } from "@/lib/errorMessage";
import { formatFullDate } from "@/lib/format";
import { useRevokeSession, useSessions } from "../api/sessions";
import "./settings.css";

/** Where the user is signed in; any other session can be signed out. */
export function SessionsSettings() {
  const { t, i18n } = useTranslation("settings");
  const headingId = useId();
  const sessions = useSessions();
  const revoke = useRevokeSession();
  const others = (sessions.data ?? []).filter((s) => !s.current);

  return (
    <section aria-labelledby={headingId} className="settings-section">
      <h2 id={headingId}>{t("sessions.title")}</h2>
      {sessions.isPending ? <Spinner label={t("common:loading")} /> : null}
      {sessions.error ? <Alert>{errorMessage(t, sessions.error)}</Alert> : null}
      {sessions.data ? (
        <ul className="session-list" aria-labelledby={headingId}>
          {sessions.data.map((session) => (
            <li key={session.id} className="session">
              <div>
                <strong>{session.user_agent || t("sessions.unknownDevice")}</strong>
                {session.current ? <span className="chip">{t("sessions.current")}</span> : null}
                <div className="muted">
                  {t("sessions.details", {
                    ip: session.ip ?? t("sessions.unknownIp"),
                    created: formatFullDate(session.created_at, i18n.language),
                    used: formatFullDate(session.last_used_at, i18n.language),
                  })}
                </div>
              </div>
              {session.current ? null : (
                <Button
                  onClick={() => revoke.mutate(session.id)}
                  disabled={revoke.isPending}
                  aria-label={t("sessions.revokeOne", {
                    device: session.user_agent || t("sessions.unknownDevice"),
                  })}
                >
                  {t("sessions.revoke")}
                </Button>
              )}
            </li>
          ))}
        </ul>
      ) : null}
      {others.length > 1 ? (
        <Button onClick={() => revoke.mutate(null)} disabled={revoke.isPending}>
          {t("sessions.revokeOthers")}
        </Button>
      ) : null}
      {revoke.error ? <Alert>{errorMessage(t, revoke.error)}</Alert> : null}
    </section>
  );
}
