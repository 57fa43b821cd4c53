import type { EmailFilters } from "@/lib/api/mailCache";

/** Views that span all accounts; any other `:view` of `/mail/:view` is a folder id. */
export const SMART_VIEWS = [
  "inbox",
  "unified",
  "priority",
  "starred",
  "snoozed",
  "scheduled",
  "sent",
  "drafts",
] as const;
export type SmartView = (typeof SMART_VIEWS)[number];

export function isSmartView(view: string): view is SmartView {
  return (SMART_VIEWS as readonly string[]).includes(view);
}

export function filtersForView(view: string): EmailFilters {
  switch (view) {
    case "inbox":
      return { folder_role: "inbox" };
    case "unified":
      return {};
    case "priority":
      return { folder_role: "inbox", sort: "priority_desc" };
    case "starred":
      return { is_starred: true };
    case "snoozed":
      return { snoozed: true };
    case "scheduled":
      return { send_status: "scheduled" };
    case "sent":
      return { folder_role: "sent" };
    case "drafts":
      return { folder_role: "drafts" };
    default:
      return { folder_id: view };
  }
}
