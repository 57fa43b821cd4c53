import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";
import { Alert } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Field } from "@/components/ui/Field";
import { Spinner } from "@/components/ui/Spinner";
import { errorMessage } from "@/lib/errorMessage";
import { useResetPassword, useVerifyResetToken } from "../api/auth";
import { AuthLayout } from "./AuthLayout";
import { PasswordStrength } from "./PasswordStrength";
import { MAX_PASSWORD, MIN_PASSWORD } from "./passwordRules";

export default function ResetPasswordPage() {
  const { t } = useTranslation("auth");
  const [params] = useSearchParams();
  const token = params.get("token");
  const check = useVerifyResetToken(token);
  const reset = useResetPassword();
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");

  const mismatch = confirm.length > 0 && confirm !== password;
  const badLength =
    password.length > 0 && (password.length < MIN_PASSWORD || password.length > MAX_PASSWORD);

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (!token || mismatch || badLength) return;
    reset.mutate({ token, new_password: password, confirm_password: confirm });
  }

  let body;
  if (!token) body = <Alert>{t("errors:codes.AUTH003")}</Alert>;
  else if (check.isPending) body = <Spinner label={t("reset.checking")} />;
  else if (check.isError) body = <Alert>{errorMessage(t, check.error)}</Alert>;
  else if (reset.isSuccess) body = <Alert kind="success">{t("reset.done")}</Alert>;
  else
    body = (
      <form onSubmit={onSubmit} noValidate>
        <p>{t("reset.for", { email: check.data.email })}</p>
        <Field
          label={t("fields.newPassword")}
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={
            badLength ? t("password.length", { min: MIN_PASSWORD, max: MAX_PASSWORD }) : undefined
          }
          hint={<PasswordStrength password={password} userInputs={[check.data.email]} />}
        />
        <Field
          label={t("fields.confirmPassword")}
          type="password"
          autoComplete="new-password"
          value={confirm}
          onChange={(e) => setConfirm(e.target.value)}
          error={mismatch ? t("password.mismatch") : undefined}
        />
        {reset.error ? <Alert>{errorMessage(t, reset.error)}</Alert> : null}
        <Button
          type="submit"
          variant="primary"
          disabled={reset.isPending || !password || mismatch || badLength}
        >
          {t("reset.submit")}
        </Button>
      </form>
    );

  return (
    <AuthLayout title={t("reset.title")}>
      {body}
      <Link to="/login">{t("register.toLogin")}</Link>
    </AuthLayout>
  );
}
