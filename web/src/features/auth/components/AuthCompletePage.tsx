import { useEffect } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";
import { Spinner } from "@/components/ui/Spinner";
import { refresh } from "@/lib/auth/session";
import { AuthLayout } from "./AuthLayout";

/** Google/Microsoft sign-in lands here with the refresh cookie set; no token is in the URL. */
export default function AuthCompletePage() {
  const { t } = useTranslation("auth");
  const navigate = useNavigate();
  useEffect(() => {
    refresh().then(
      () => navigate("/mail/inbox", { replace: true }),
      () => navigate("/login?error=AUTH008", { replace: true }),
    );
  }, [navigate]);
  return (
    <AuthLayout title={t("complete.title")}>
      <Spinner label={t("complete.title")} />
    </AuthLayout>
  );
}
