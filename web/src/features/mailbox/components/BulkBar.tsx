import { useTranslation } from "react-i18next";
import { Button } from "@/components/ui/Button";
import type { BulkAction } from "@/lib/api/types";

export function BulkBar({
  count,
  onAction,
  onClear,
}: {
  count: number;
  onAction: (action: BulkAction) => void;
  onClear: () => void;
}) {
  const { t } = useTranslation("mail");
  if (count === 0) return null;
  return (
    <div className="bulk-bar" role="toolbar" aria-label={t("bulk.label")}>
      <span aria-live="polite">{t("bulk.selected", { count })}</span>
      <Button onClick={() => onAction("mark_read")}>{t("actions.markRead")}</Button>
      <Button onClick={() => onAction("mark_unread")}>{t("actions.markUnread")}</Button>
      <Button onClick={() => onAction("star")}>{t("actions.star")}</Button>
      <Button onClick={() => onAction("archive")}>{t("actions.archive")}</Button>
      <Button variant="danger" onClick={() => onAction("delete")}>
        {t("actions.delete")}
      </Button>
      <Button variant="ghost" onClick={onClear}>
        {t("bulk.clear")}
      </Button>
    </div>
  );
}
