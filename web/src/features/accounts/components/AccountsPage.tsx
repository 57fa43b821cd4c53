import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";
import { Alert } from "@/components/ui/Alert";
import { Spinner } from "@/components/ui/Spinner";
import { errorMessage } from "@/lib/errorMessage";
import { useAccountList } from "../api/list";
import { SyncProgress } from "./SyncProgress";

export default function AccountsPage() {
  const { t } = useTranslation("accounts");
  const [params] = useSearchParams();
  const accounts = useAccountList();
  const error = params.get("error");
  return (
    <section>
      <h2>{t("list.title")}</h2>
      {error ? (
        <Alert>{t(`errors:codes.${error}`, { defaultValue: t("errors:unknown") })}</Alert>
      ) : null}
      {accounts.isPending ? <Spinner label={t("list.loading")} /> : null}
      {accounts.isError ? <Alert>{errorMessage(t, accounts.error)}</Alert> : null}
      <ul className="account-list">
        {(accounts.data ?? []).map((account) => (
          <li key={account.id}>
            <strong>{account.display_name || account.email}</strong>{" "}
            <span className="muted">{account.email}</span>{" "}
            <span className={`chip state-${account.sync_state}`}>
              {t(`state.${account.sync_state}`)}
            </span>
            {account.sync_state === "syncing" || account.sync_state === "backfilling" ? (
              <SyncProgress accountId={account.id} />
            ) : null}
          </li>
        ))}
      </ul>
      <Link className="btn btn-primary" to="/settings/accounts/new">
        {t("list.add")}
      </Link>
    </section>
  );
}
