import type { ReactNode } from "react";
import { useTranslation } from "react-i18next";

export function AuthLayout({ title, children }: { title: string; children: ReactNode }) {
  const { t } = useTranslation();
  return (
    <main className="auth-page">
      <div className="auth-card">
        <p className="brand" aria-hidden="true">
          {t("appName")}
        </p>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}
