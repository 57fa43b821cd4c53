import { useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { useTranslation } from "react-i18next";
import { Button } from "@/components/ui/Button";
import { useShortcuts } from "@/lib/shortcuts";
import { parseLocalInput, presetTime, toLocalInput, type SnoozePreset } from "../snoozeTimes";
import "./snooze.css";

const PRESETS: readonly SnoozePreset[] = ["laterToday", "tomorrow", "nextWeek"];
const MIN_LEAD_MS = 60_000;
const MAX_AHEAD_MS = 365 * 86_400_000;

interface Props {
  timeZone: string;
  onSnooze: (until: Date) => void;
  disabled?: boolean;
  /** Whether `z` opens the menu (PRODUCT_SPEC §2.8). */
  shortcut?: boolean;
  /** The clock, for tests. */
  now?: () => Date;
}

/** "Snooze" with the presets of §2.4 and a date and time of the user's choosing. */
export function SnoozeMenu({
  timeZone,
  onSnooze,
  disabled,
  shortcut = false,
  now = () => new Date(),
}: Props) {
  const { t, i18n } = useTranslation("ai");
  const [open, setOpen] = useState(false);
  const [picking, setPicking] = useState(false);
  const [custom, setCustom] = useState("");
  const [error, setError] = useState<string | null>(null);
  const buttonRef = useRef<HTMLButtonElement>(null);
  const menuRef = useRef<HTMLDivElement>(null);
  const menuId = useId();
  const inputId = useId();

  useShortcuts({ z: () => setOpen(true) }, shortcut && !disabled);

  const format = (date: Date) =>
    new Intl.DateTimeFormat(i18n.language, {
      weekday: "short",
      hour: "numeric",
      minute: "2-digit",
      timeZone,
    }).format(date);

  useEffect(() => {
    if (!open) return;
    if (!picking) menuRef.current?.querySelector<HTMLElement>('[role="menuitem"]')?.focus();
    function onDown(event: MouseEvent) {
      const target = event.target as Node;
      if (!menuRef.current?.contains(target) && !buttonRef.current?.contains(target)) {
        setOpen(false);
      }
    }
    document.addEventListener("mousedown", onDown);
    return () => document.removeEventListener("mousedown", onDown);
  }, [open, picking]);

  function close() {
    setOpen(false);
    setPicking(false);
    setError(null);
    buttonRef.current?.focus();
  }

  function choose(until: Date) {
    close();
    onSnooze(until);
  }

  function onMenuKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      close();
      return;
    }
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    const items = Array.from(
      menuRef.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [],
    );
    const index = items.indexOf(document.activeElement as HTMLElement);
    const next = event.key === "ArrowDown" ? index + 1 : index - 1;
    items[(next + items.length) % items.length]?.focus();
    event.preventDefault();
  }

  function onPick(event: FormEvent) {
    event.preventDefault();
    const until = parseLocalInput(custom, timeZone);
    const at = now().getTime();
    if (!until || until.getTime() < at + MIN_LEAD_MS || until.getTime() > at + MAX_AHEAD_MS) {
      setError(t("snooze.invalid"));
      return;
    }
    choose(until);
  }

  return (
    <div className="snooze">
      <button
        type="button"
        className="btn btn-secondary"
        ref={buttonRef}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        disabled={disabled}
        onClick={() => (open ? close() : setOpen(true))}
      >
        {t("snooze.button")}
      </button>
      {open ? (
        <div className="snooze-popover" ref={menuRef} onKeyDown={onMenuKeyDown}>
          <div role="menu" id={menuId} aria-label={t("snooze.menu")}>
            {PRESETS.map((preset) => {
              const until = presetTime(preset, now(), timeZone);
              return (
                <button
                  key={preset}
                  type="button"
                  role="menuitem"
                  className="snooze-item"
                  onClick={() => choose(until)}
                >
                  <span>{t(`snooze.${preset}`)}</span>
                  <span className="muted">{format(until)}</span>
                </button>
              );
            })}
            <button
              type="button"
              role="menuitem"
              className="snooze-item"
              aria-expanded={picking}
              onClick={() => {
                setPicking(true);
                setCustom(toLocalInput(presetTime("tomorrow", now(), timeZone), timeZone));
              }}
            >
              {t("snooze.pick")}
            </button>
          </div>
          {picking ? (
            <form className="snooze-pick" onSubmit={onPick}>
              <label htmlFor={inputId}>{t("snooze.pickLabel")}</label>
              <input
                id={inputId}
                type="datetime-local"
                value={custom}
                autoFocus
                aria-invalid={error ? true : undefined}
                onChange={(e) => {
                  setCustom(e.target.value);
                  setError(null);
                }}
              />
              {error ? (
                <div className="field-error" role="alert">
                  {error}
                </div>
              ) : null}
              <Button type="submit" variant="primary">
                {t("snooze.confirm")}
              </Button>
            </form>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
