import { useTranslation } from "react-i18next";
import { Dialog } from "@/components/ui/Dialog";

const SHORTCUT_HELP = [
  ["j / k", "next"],
  ["o / Enter", "open"],
  ["Esc", "back"],
  ["x", "select"],
  ["Shift+x", "selectRange"],
  ["Ctrl/⌘+Shift+A", "selectAll"],
  ["c", "compose"],
  ["r", "reply"],
  ["a", "replyAll"],
  ["f", "forward"],
  ["e", "archive"],
  ["# / Del", "delete"],
  ["s", "star"],
  ["z", "snooze"],
  ["u / Shift+I", "unreadRead"],
  ["g i / g s / g d", "goTo"],
  ["/ · Ctrl/⌘+K", "search"],
  ["q", "ask"],
  ["Ctrl/⌘+Enter", "send"],
  ["?", "help"],
] as const;

export function HelpSheet({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation();
  return (
    <Dialog title={t("shortcuts.title")} onClose={onClose}>
      <table className="shortcuts">
        <tbody>
          {SHORTCUT_HELP.map(([keys, name]) => (
            <tr key={name}>
              <th scope="row">
                <kbd>{keys}</kbd>
              </th>
              <td>{t(`shortcuts.${name}`)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Dialog>
  );
}
