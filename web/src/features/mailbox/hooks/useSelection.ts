import { useCallback, useMemo, useState } from "react";

/** Bulk selection over an ordered list of ids: toggle one, or a range from the last anchor. */
export function useSelection(ids: readonly string[]) {
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [anchor, setAnchor] = useState<string | null>(null);

  const toggle = useCallback(
    (id: string, range = false) => {
      setSelected((current) => {
        const next = new Set(current);
        const from = anchor ? ids.indexOf(anchor) : -1;
        const to = ids.indexOf(id);
        if (range && from >= 0 && to >= 0) {
          const [start, end] = from < to ? [from, to] : [to, from];
          for (const each of ids.slice(start, end + 1)) next.add(each);
        } else if (next.has(id)) {
          next.delete(id);
        } else {
          next.add(id);
        }
        return next;
      });
      setAnchor(id);
    },
    [anchor, ids],
  );

  const clear = useCallback(() => {
    setSelected(new Set());
    setAnchor(null);
  }, []);
  const selectAll = useCallback(() => setSelected(new Set(ids)), [ids]);

  // Ids that left the list (archived, moved) are no longer selected.
  const visible = useMemo(() => {
    const present = new Set(ids);
    return new Set([...selected].filter((id) => present.has(id)));
  }, [ids, selected]);

  return { selected: visible, toggle, clear, selectAll };
}
