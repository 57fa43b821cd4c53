/** The operators of the search language, each with an example to insert (PRODUCT_SPEC §2.6). */
export const OPERATORS = [
  { example: "from:", key: "from" },
  { example: "to:", key: "to" },
  { example: "subject:", key: "subject" },
  { example: '"', key: "phrase" },
  { example: "has:attachment", key: "hasAttachment" },
  { example: "is:unread", key: "isUnread" },
  { example: "is:starred", key: "isStarred" },
  { example: "after:", key: "after" },
  { example: "before:", key: "before" },
  { example: "category:", key: "category" },
  { example: "tag:", key: "tag" },
  { example: "in:", key: "in" },
  { example: "priority:high", key: "priority" },
  { example: "account:", key: "account" },
  { example: "-", key: "negation" },
] as const;

/** Adds an operator at the end of a query, separated by a space. */
export function appendOperator(query: string, example: string): string {
  const trimmed = query.trimEnd();
  return trimmed ? `${trimmed} ${example}` : example;
}
