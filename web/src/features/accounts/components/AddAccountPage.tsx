import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Alert } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Field } from "@/components/ui/Field";
import type { Schemas } from "@/lib/api/client";
import { errorMessage } from "@/lib/errorMessage";
import { autodetect, connectionProblem, useConnectOAuth, useCreateAccount } from "../api/accounts";
import { SyncProgress } from "./SyncProgress";

type Security = "ssl" | "starttls" | "none";
interface Server {
  host: string;
  port: string;
  security: Security;
}

const EMPTY_IMAP: Server = { host: "", port: "993", security: "ssl" };
const EMPTY_SMTP: Server = { host: "", port: "587", security: "starttls" };

function ServerFields({
  legend,
  value,
  onChange,
}: {
  legend: string;
  value: Server;
  onChange: (next: Server) => void;
}) {
  const { t } = useTranslation("accounts");
  return (
    <fieldset className="server">
      <legend>{legend}</legend>
      <Field
        label={t("fields.host")}
        value={value.host}
        onChange={(e) => onChange({ ...value, host: e.target.value })}
      />
      <Field
        label={t("fields.port")}
        inputMode="numeric"
        value={value.port}
        onChange={(e) => onChange({ ...value, port: e.target.value.replace(/\D/g, "") })}
      />
      <div className="field">
        <label>
          {t("fields.security")}
          <select
            value={value.security}
            onChange={(e) => onChange({ ...value, security: e.target.value as Security })}
          >
            <option value="ssl">{t("security.ssl")}</option>
            <option value="starttls">{t("security.starttls")}</option>
            <option value="none">{t("security.none")}</option>
          </select>
        </label>
      </div>
    </fieldset>
  );
}

export default function AddAccountPage() {
  const { t } = useTranslation("accounts");
  const create = useCreateAccount();
  const oauth = useConnectOAuth();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [username, setUsername] = useState("");
  const [imap, setImap] = useState<Server>(EMPTY_IMAP);
  const [smtp, setSmtp] = useState<Server>(EMPTY_SMTP);
  const [detected, setDetected] = useState<Schemas["AutodetectRead"] | null>(null);
  const [detecting, setDetecting] = useState(false);
  const [detectedFor, setDetectedFor] = useState("");

  async function detect() {
    if (!email.includes("@") || email === detectedFor) return;
    setDetectedFor(email);
    setDetecting(true);
    try {
      const found = await autodetect(email);
      setDetected(found);
      setImap({
        host: found.imap.host,
        port: String(found.imap.port),
        security: found.imap.security,
      });
      setSmtp({
        host: found.smtp.host,
        port: String(found.smtp.port),
        security: found.smtp.security,
      });
    } catch {
      setDetected(null);
    } finally {
      setDetecting(false);
    }
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    const user = username.trim() || email;
    create.mutate({
      kind: "imap",
      email,
      password,
      display_name: displayName || email,
      imap: { host: imap.host, port: Number(imap.port), security: imap.security, username: user },
      smtp: { host: smtp.host, port: Number(smtp.port), security: smtp.security, username: user },
    });
  }

  if (create.isSuccess) {
    return (
      <section className="page">
        <h1>{t("added.title", { email: create.data.email })}</h1>
        <SyncProgress accountId={create.data.id} />
        <Link className="btn btn-primary" to="/mail/inbox">
          {t("added.toInbox")}
        </Link>
      </section>
    );
  }

  const problem = connectionProblem(create.error);
  const oauthKind =
    detected?.kind_hint === "gmail" || detected?.kind_hint === "microsoft"
      ? detected.kind_hint
      : null;

  return (
    <section className="page">
      <h1>{t("add.title")}</h1>
      <p>{t("add.intro")}</p>
      <form onSubmit={onSubmit} noValidate className="account-form">
        <Field
          label={t("fields.email")}
          type="email"
          autoComplete="email"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          onBlur={() => void detect()}
          hint={
            detecting
              ? t("add.detecting")
              : detected?.provider
                ? t("add.detected", { provider: detected.provider })
                : undefined
          }
        />
        {oauthKind ? (
          <div className="oauth-offer">
            <p>{t(`add.oauthOffer.${oauthKind}`)}</p>
            <Button onClick={() => oauth.mutate(oauthKind)} disabled={oauth.isPending}>
              {t(`add.oauthButton.${oauthKind}`)}
            </Button>
            {oauth.error ? <Alert>{errorMessage(t, oauth.error)}</Alert> : null}
          </div>
        ) : null}
        <Field
          label={t("fields.password")}
          type="password"
          autoComplete="off"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          hint={t("add.passwordHint")}
        />
        <Field
          label={t("fields.displayName")}
          value={displayName}
          onChange={(e) => setDisplayName(e.target.value)}
        />
        <details>
          <summary>{t("add.servers")}</summary>
          <Field
            label={t("fields.username")}
            placeholder={email}
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
          <ServerFields legend={t("imap")} value={imap} onChange={setImap} />
          <ServerFields legend={t("smtp")} value={smtp} onChange={setSmtp} />
        </details>
        {problem ? (
          <Alert>
            {t(`problem.${problem.server}`)}{" "}
            {t(`reason.${problem.reason}`, { defaultValue: t("reason.unknown") })}
          </Alert>
        ) : create.error ? (
          <Alert>{errorMessage(t, create.error)}</Alert>
        ) : null}
        <Button
          type="submit"
          variant="primary"
          disabled={create.isPending || !email || !password || !imap.host || !smtp.host}
        >
          {create.isPending ? t("add.testing") : t("add.submit")}
        </Button>
      </form>
    </section>
  );
}
