import { useEffect } from "react";
import { useTranslation } from "react-i18next";
import { Link, Outlet } from "react-router";
import { Button } from "@/components/ui/Button";
import { useLogout, useMe } from "@/features/auth/api/auth";
import { AskLink, HeaderSearch } from "@/features/search/components/HeaderSearch";
import { applyUserLanguage } from "@/lib/i18n";
import { useUiStore } from "@/lib/uiStore";
import { HelpSheet } from "./HelpSheet";
import { useRealtime } from "./realtime";

/** Header (with search and Ask), live region, help sheet and the WebSocket for every
 * signed-in page. */
export function AppShell() {
  const { t } = useTranslation();
  const me = useMe();
  const logout = useLogout();
  const connection = useUiStore((s) => s.connection);
  const announcement = useUiStore((s) => s.announcement);
  const announce = useUiStore((s) => s.announce);
  const helpOpen = useUiStore((s) => s.helpOpen);
  const setHelpOpen = useUiStore((s) => s.setHelpOpen);
  const openCompose = useUiStore((s) => s.openCompose);
  useRealtime(true);

  useEffect(() => applyUserLanguage(me.data?.language), [me.data?.language]);
  useEffect(() => {
    if (!announcement) return;
    const timer = setTimeout(() => announce(""), 5_000);
    return () => clearTimeout(timer);
  }, [announcement, announce]);

  return (
    <div className="app">
      <a className="skip-link" href="#main">
        {t("skipToContent")}
      </a>
      <header className="topbar">
        <Link to="/mail/inbox" className="brand">
          {t("appName")}
        </Link>
        <span
          className={`conn conn-${connection}`}
          role="status"
          title={t(`connection.${connection}`)}
        >
          <span className="visually-hidden">{t(`connection.${connection}`)}</span>
        </span>
        <HeaderSearch />
        <div className="topbar-actions">
          <Button variant="primary" onClick={() => openCompose({ kind: "new" })}>
            {t("compose")}
          </Button>
          <AskLink />
          <Button
            variant="ghost"
            className="topbar-help"
            onClick={() => setHelpOpen(true)}
            aria-label={t("shortcuts.title")}
          >
            ?
          </Button>
          <Link to="/settings" className="btn btn-ghost">
            {t("settings")}
          </Link>
          <span className="muted user">{me.data?.email}</span>
          <Button variant="ghost" onClick={() => logout.mutate()}>
            {t("signOut")}
          </Button>
        </div>
      </header>
      <main id="main" className="app-main">
        <Outlet />
      </main>
      <div className="toast-region" aria-live="polite" role="status">
        {announcement ? <div className="toast">{announcement}</div> : null}
      </div>
      {helpOpen ? <HelpSheet onClose={() => setHelpOpen(false)} /> : null}
    </div>
  );
}
