import { useEffect, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Navigate, useLocation } from "react-router";
import { Spinner } from "@/components/ui/Spinner";
import { useSession } from "@/features/auth/hooks/useSession";
import { refresh } from "@/lib/auth/session";

/** On load the session is restored through the refresh cookie; without one, to /login. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const session = useSession();
  const location = useLocation();

  useEffect(() => {
    if (session.status === "unknown") refresh().catch(() => undefined);
  }, [session.status]);

  if (session.status === "unknown") {
    return (
      <div className="boot">
        <Spinner label={t("loading")} />
      </div>
    );
  }
  if (session.status === "anonymous") {
    const next = encodeURIComponent(location.pathname + location.search);
    return <Navigate to={`/login?next=${next}`} replace />;
  }
  return children;
}
