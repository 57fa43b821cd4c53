import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { NavLink } from "react-router";
import type { Account, Folder } from "@/lib/api/types";
import { useUiStore } from "@/lib/uiStore";
import { folderTree } from "../folderTree";
import { SMART_VIEWS } from "../views";

export function Sidebar({
  accounts,
  folders,
}: {
  accounts: readonly Account[];
  folders: readonly Folder[];
}) {
  const { t } = useTranslation("mail");
  const sync = useUiStore((state) => state.sync);
  const byAccount = useMemo(() => {
    const map = new Map<string, Folder[]>();
    for (const folder of folders) {
      const list = map.get(folder.account_id) ?? [];
      list.push(folder);
      map.set(folder.account_id, list);
    }
    return map;
  }, [folders]);
  const inboxUnread = folders
    .filter((f) => f.role === "inbox")
    .reduce((sum, f) => sum + f.unread_count, 0);

  return (
    <nav className="sidebar" aria-label={t("sidebar.label")}>
      <ul className="nav-list">
        {SMART_VIEWS.map((view) => (
          <li key={view}>
            <NavLink to={`/mail/${view}`} className="nav-item">
              <span>{t(`views.${view}`)}</span>
              {view === "inbox" && inboxUnread > 0 ? (
                <span className="count" aria-label={t("unreadCount", { count: inboxUnread })}>
                  {inboxUnread}
                </span>
              ) : null}
            </NavLink>
          </li>
        ))}
      </ul>
      {accounts.map((account) => {
        const progress = sync[account.id];
        return (
          <section key={account.id} className="nav-account" aria-label={account.email}>
            <h2 className="nav-heading" title={account.email}>
              {account.display_name || account.email}
            </h2>
            {progress?.status === "syncing" ? (
              <div className="sync-line" role="status">
                {t("sync.progress", { progress: progress.progress ?? 0 })}
              </div>
            ) : null}
            {account.sync_state === "auth_required" || account.sync_state === "error" ? (
              <div className="sync-line error" role="status">
                {t(`sync.state.${account.sync_state}`)}
              </div>
            ) : null}
            <ul className="nav-list">
              {folderTree(byAccount.get(account.id) ?? []).map(({ folder, depth }) => (
                <li key={folder.id}>
                  <NavLink
                    to={`/mail/${folder.id}`}
                    className="nav-item"
                    style={{ paddingInlineStart: `${0.75 + depth * 0.75}rem` }}
                  >
                    <span>
                      {folder.role === "custom" ? folder.name : t(`roles.${folder.role}`)}
                    </span>
                    {folder.unread_count > 0 ? (
                      <span
                        className="count"
                        aria-label={t("unreadCount", { count: folder.unread_count })}
                      >
                        {folder.unread_count}
                      </span>
                    ) : null}
                  </NavLink>
                </li>
              ))}
            </ul>
          </section>
        );
      })}
    </nav>
  );
}
