import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { Alert } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Field } from "@/components/ui/Field";
import { errorMessage } from "@/lib/errorMessage";
import { useForgotPassword } from "../api/auth";
import { AuthLayout } from "./AuthLayout";

export default function ForgotPasswordPage() {
  const { t } = useTranslation("auth");
  const forgot = useForgotPassword();
  const [email, setEmail] = useState("");

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    forgot.mutate(email);
  }

  return (
    <AuthLayout title={t("forgot.title")}>
      {forgot.isSuccess ? (
        <Alert kind="success">{t("forgot.sent")}</Alert>
      ) : (
        <form onSubmit={onSubmit} noValidate>
          <p>{t("forgot.intro")}</p>
          <Field
            label={t("fields.email")}
            type="email"
            autoComplete="email"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
          {forgot.error ? <Alert>{errorMessage(t, forgot.error)}</Alert> : null}
          <Button type="submit" variant="primary" disabled={forgot.isPending || !email}>
            {t("forgot.submit")}
          </Button>
        </form>
      )}
      <Link to="/login">{t("register.toLogin")}</Link>
    </AuthLayout>
  );
}
