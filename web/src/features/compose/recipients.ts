import type { Address, EmailDetail } from "@/lib/api/types";

/**
 * Who a reply goes to, as the server will address it (PRODUCT_SPEC §2.4): Reply-To, else From;
 * reply-all adds the original To and Cc; the user's own addresses and repeats left out. The
 * draft keeps these so that the Drafts view shows them.
 */
export function replyRecipients(
  original: EmailDetail,
  all: boolean,
  own: ReadonlySet<string>,
): { to: string[]; cc: string[] } {
  const seen = new Set(own);
  const take = (list: readonly Address[]) =>
    list.filter((a) => {
      const key = a.address.toLowerCase();
      if (!key || seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  const author = original.reply_to.length > 0 ? original.reply_to : [original.sender];
  const to = take(author);
  const cc: Address[] = [];
  if (all) {
    to.push(...take(original.to));
    cc.push(...take(original.cc));
  }
  const text = (a: Address) => (a.name ? `${a.name} <${a.address}>` : a.address);
  return { to: to.map(text), cc: cc.map(text) };
}
