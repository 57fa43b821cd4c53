import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useSearchParams } from "react-router";
import { Alert } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Field } from "@/components/ui/Field";
import { ApiError } from "@/lib/api/errors";
import { errorMessage } from "@/lib/errorMessage";
import { useLogin, useResendVerification } from "../api/auth";
import { AuthLayout } from "./AuthLayout";

export default function LoginPage() {
  const { t } = useTranslation("auth");
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const login = useLogin();
  const resend = useResendVerification();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [remember, setRemember] = useState(true);
  const queryError = params.get("error");

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    try {
      await login.mutateAsync({ email, password, remember_me: remember });
      const next = params.get("next");
      void navigate(next?.startsWith("/") ? next : "/mail/inbox", { replace: true });
    } catch {
      // shown below from login.error
    }
  }

  const error = login.error;
  const unverified = error instanceof ApiError && error.code === "AUTH006";
  const retryAfter =
    error instanceof ApiError && typeof error.details.retryAfter === "number"
      ? Math.ceil(error.details.retryAfter / 60)
      : null;

  return (
    <AuthLayout title={t("login.title")}>
      {queryError ? (
        <Alert>{t(`errors:codes.${queryError}`, { defaultValue: t("errors:unknown") })}</Alert>
      ) : null}
      <form onSubmit={onSubmit} noValidate>
        <Field
          label={t("fields.email")}
          type="email"
          autoComplete="username"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <Field
          label={t("fields.password")}
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <label className="checkbox">
          <input
            type="checkbox"
            checked={remember}
            onChange={(e) => setRemember(e.target.checked)}
          />
          {t("login.remember")}
        </label>
        {error ? (
          <Alert>
            {errorMessage(t, error)}
            {retryAfter ? ` ${t("login.retryIn", { count: retryAfter })}` : null}
          </Alert>
        ) : null}
        {unverified ? (
          <Button
            variant="ghost"
            onClick={() => resend.mutate(email)}
            disabled={resend.isPending || resend.isSuccess}
          >
            {resend.isSuccess ? t("verify.resent") : t("verify.resend")}
          </Button>
        ) : null}
        <Button type="submit" variant="primary" disabled={login.isPending || !email || !password}>
          {login.isPending ? t("login.submitting") : t("login.submit")}
        </Button>
      </form>
      <nav className="auth-links" aria-label={t("links")}>
        <Link to="/forgot-password">{t("login.forgot")}</Link>
        <Link to="/register">{t("login.register")}</Link>
      </nav>
      <div className="oauth">
        <a className="btn btn-secondary" href="/api/auth/login/google">
          {t("login.google")}
        </a>
        <a className="btn btn-secondary" href="/api/auth/login/microsoft">
          {t("login.microsoft")}
        </a>
      </div>
    </AuthLayout>
  );
}
