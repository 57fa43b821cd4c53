import { QueryClientProvider, type QueryClient } from "@tanstack/react-query";
import { lazy, Suspense } from "react";
import { useTranslation } from "react-i18next";
import { BrowserRouter, Link, Navigate, Route, Routes, useLocation } from "react-router";
import { Spinner } from "@/components/ui/Spinner";
import { AppShell } from "./AppShell";
import { RequireAuth } from "./RequireAuth";

const LoginPage = lazy(() => import("@/features/auth/components/LoginPage"));
const RegisterPage = lazy(() => import("@/features/auth/components/RegisterPage"));
const VerifyEmailPage = lazy(() => import("@/features/auth/components/VerifyEmailPage"));
const ForgotPasswordPage = lazy(() => import("@/features/auth/components/ForgotPasswordPage"));
const ResetPasswordPage = lazy(() => import("@/features/auth/components/ResetPasswordPage"));
const AuthCompletePage = lazy(() => import("@/features/auth/components/AuthCompletePage"));
const MailPage = lazy(() => import("./MailPage"));
const SettingsLayout = lazy(() =>
  import("@/features/settings/components/SettingsPage").then((m) => ({
    default: m.SettingsLayout,
  })),
);
const GeneralSettings = lazy(() =>
  import("@/features/settings/components/SettingsPage").then((m) => ({
    default: m.GeneralSettings,
  })),
);
const AccountsPage = lazy(() => import("@/features/accounts/components/AccountsPage"));
const AddAccountPage = lazy(() => import("@/features/accounts/components/AddAccountPage"));

function NotFound() {
  const { t } = useTranslation();
  return (
    <section className="page">
      <h1>{t("notFound.title")}</h1>
      <Link to="/mail/inbox">{t("notFound.back")}</Link>
    </section>
  );
}

/** `/search?q=…` and `/ask` (the spec's routes) open in the mail panes, query kept. */
function ToMail({ view }: { view: string }) {
  const { search } = useLocation();
  return <Navigate to={`/mail/${view}${search}`} replace />;
}

function Loading() {
  const { t } = useTranslation();
  return (
    <div className="boot">
      <Spinner label={t("loading")} />
    </div>
  );
}

export function AppRoutes() {
  return (
    <Suspense fallback={<Loading />}>
      <Routes>
        <Route path="/login" element={<LoginPage />} />
        <Route path="/register" element={<RegisterPage />} />
        <Route path="/verify-email" element={<VerifyEmailPage />} />
        <Route path="/forgot-password" element={<ForgotPasswordPage />} />
        <Route path="/reset-password" element={<ResetPasswordPage />} />
        <Route path="/auth/complete" element={<AuthCompletePage />} />
        <Route
          element={
            <RequireAuth>
              <AppShell />
            </RequireAuth>
          }
        >
          <Route path="/" element={<Navigate to="/mail/inbox" replace />} />
          <Route path="/mail" element={<Navigate to="/mail/inbox" replace />} />
          <Route path="/search" element={<ToMail view="search" />} />
          <Route path="/ask" element={<ToMail view="ask" />} />
          <Route path="/mail/:view" element={<MailPage />} />
          <Route path="/mail/:view/:threadId" element={<MailPage />} />
          <Route path="/mail/:view/message/:emailId" element={<MailPage />} />
          <Route path="/onboarding" element={<Navigate to="/settings/accounts/new" replace />} />
          <Route path="/settings" element={<SettingsLayout />}>
            <Route index element={<GeneralSettings />} />
            <Route path="accounts" element={<AccountsPage />} />
            <Route path="accounts/new" element={<AddAccountPage />} />
          </Route>
          <Route path="*" element={<NotFound />} />
        </Route>
      </Routes>
    </Suspense>
  );
}

export function App({ client }: { client: QueryClient }) {
  return (
    <QueryClientProvider client={client}>
      <BrowserRouter>
        <AppRoutes />
      </BrowserRouter>
    </QueryClientProvider>
  );
}
