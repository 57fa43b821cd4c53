/**
 * Single-key shortcuts and `g`-sequences (`g i`), off while typing in a field and while a
 * modifier other than Shift is held (except combos named with "mod+").
 */
import { useEffect, useRef } from "react";

export type ShortcutMap = Record<string, (event: KeyboardEvent) => void>;

const SEQUENCE_TIMEOUT_MS = 1_000;

export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return (
    target.isContentEditable ||
    target instanceof HTMLInputElement ||
    target instanceof HTMLTextAreaElement ||
    target instanceof HTMLSelectElement
  );
}

/** The name of a key press: "j", "#", "Enter", "mod+k", "mod+shift+a". */
export function keyName(event: KeyboardEvent): string {
  const mod = event.ctrlKey || event.metaKey;
  const key = event.key.length === 1 ? event.key : event.key;
  if (mod) return `mod+${event.shiftKey ? "shift+" : ""}${key.toLowerCase()}`;
  return key;
}

export function useShortcuts(map: ShortcutMap, enabled = true): void {
  const latest = useRef(map);
  useEffect(() => {
    latest.current = map;
  });

  useEffect(() => {
    if (!enabled) return;
    let prefix: string | null = null;
    let prefixAt = 0;
    function onKeyDown(event: KeyboardEvent) {
      if (event.defaultPrevented || event.altKey || isTyping(event.target)) return;
      if (document.querySelector('[role="dialog"][aria-modal="true"]')) return;
      let name = keyName(event);
      if (prefix && Date.now() - prefixAt < SEQUENCE_TIMEOUT_MS) {
        name = `${prefix} ${name}`;
      }
      prefix = null;
      const handler = latest.current[name];
      if (handler) {
        event.preventDefault();
        handler(event);
        return;
      }
      if (name === "g") {
        prefix = "g";
        prefixAt = Date.now();
      }
    }
    window.addEventListener("keydown", onKeyDown);
    return () => window.removeEventListener("keydown", onKeyDown);
  }, [enabled]);
}
