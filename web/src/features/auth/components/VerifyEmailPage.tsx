import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";
import { Alert } from "@/components/ui/Alert";
import { Spinner } from "@/components/ui/Spinner";
import { errorMessage } from "@/lib/errorMessage";
import { useVerifyEmail } from "../api/auth";
import { AuthLayout } from "./AuthLayout";

export default function VerifyEmailPage() {
  const { t } = useTranslation("auth");
  const [params] = useSearchParams();
  const token = params.get("token");
  const verify = useVerifyEmail(token);

  return (
    <AuthLayout title={t("verify.title")}>
      {!token ? <Alert>{t("errors:codes.AUTH003")}</Alert> : null}
      {verify.isPending && token ? <Spinner label={t("verify.checking")} /> : null}
      {verify.isSuccess ? <Alert kind="success">{t("verify.done")}</Alert> : null}
      {verify.isError ? <Alert>{errorMessage(t, verify.error)}</Alert> : null}
      <Link to="/login">{t("register.toLogin")}</Link>
    </AuthLayout>
  );
}
