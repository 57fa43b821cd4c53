import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Alert } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Field } from "@/components/ui/Field";
import { errorMessage } from "@/lib/errorMessage";
import { useRegister } from "../api/auth";
import { AuthLayout } from "./AuthLayout";
import { MAX_PASSWORD, MIN_PASSWORD } from "./passwordRules";
import { PasswordStrength } from "./PasswordStrength";

export default function RegisterPage() {
  const { t } = useTranslation("auth");
  const register = useRegister();
  const [fullName, setFullName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [accept, setAccept] = useState(false);

  const tooShort = password.length > 0 && password.length < MIN_PASSWORD;
  const tooLong = password.length > MAX_PASSWORD;

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (tooShort || tooLong) return;
    register.mutate({ email, password, full_name: fullName, accept_terms: accept });
  }

  if (register.isSuccess) {
    return (
      <AuthLayout title={t("register.doneTitle")}>
        <Alert kind="success">
          {register.data.verification_required ? t("register.checkMail") : t("register.done")}
        </Alert>
        <Link to="/login">{t("register.toLogin")}</Link>
      </AuthLayout>
    );
  }

  return (
    <AuthLayout title={t("register.title")}>
      <form onSubmit={onSubmit} noValidate>
        <Field
          label={t("fields.fullName")}
          autoComplete="name"
          value={fullName}
          onChange={(e) => setFullName(e.target.value)}
        />
        <Field
          label={t("fields.email")}
          type="email"
          autoComplete="email"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <Field
          label={t("fields.password")}
          type="password"
          autoComplete="new-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={
            tooShort
              ? t("password.tooShort", { count: MIN_PASSWORD })
              : tooLong
                ? t("password.tooLong", { count: MAX_PASSWORD })
                : undefined
          }
          hint={<PasswordStrength password={password} userInputs={[email, fullName]} />}
        />
        <label className="checkbox">
          <input type="checkbox" checked={accept} onChange={(e) => setAccept(e.target.checked)} />
          {t("register.acceptTerms")}
        </label>
        {register.error ? <Alert>{errorMessage(t, register.error)}</Alert> : null}
        <Button
          type="submit"
          variant="primary"
          disabled={register.isPending || !email || !password || !accept}
        >
          {t("register.submit")}
        </Button>
      </form>
      <nav className="auth-links" aria-label={t("links")}>
        <Link to="/login">{t("register.haveAccount")}</Link>
      </nav>
    </AuthLayout>
  );
}
