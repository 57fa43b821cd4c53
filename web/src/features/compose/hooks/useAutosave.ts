import { useCallback, useEffect, useRef } from "react";

/** PRODUCT_SPEC §2.4: drafts save 2 s after the last edit. */
export const AUTOSAVE_DELAY_MS = 2_000;

/**
 * Calls `save` once `content` (a serialised form of what is being edited) has not changed for
 * `delay` ms. The content the editor starts with is not saved until it changes. `flush` saves
 * a pending change at once (closing, Ctrl/Cmd+S) and `cancel` drops it (discarding).
 */
export function useAutosave(
  content: string,
  save: () => Promise<unknown>,
  delay: number = AUTOSAVE_DELAY_MS,
) {
  const initial = useRef(content);
  const edited = useRef(false);
  const dirty = useRef(false);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const saveRef = useRef(save);
  useEffect(() => {
    saveRef.current = save;
  });

  useEffect(() => {
    if (!edited.current && content === initial.current) return;
    edited.current = true;
    dirty.current = true;
    timer.current = setTimeout(() => {
      dirty.current = false;
      void saveRef.current();
    }, delay);
    return () => clearTimeout(timer.current);
  }, [content, delay]);

  const flush = useCallback(async () => {
    clearTimeout(timer.current);
    if (!dirty.current) return;
    dirty.current = false;
    await saveRef.current();
  }, []);

  const cancel = useCallback(() => {
    clearTimeout(timer.current);
    dirty.current = false;
  }, []);

  return { flush, cancel };
}
