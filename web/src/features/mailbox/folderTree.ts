import type { Folder } from "@/lib/api/types";

const ROLE_ORDER = ["inbox", "drafts", "sent", "archive", "spam", "trash", "custom"];

interface TreeFolder {
  folder: Folder;
  depth: number;
}

/** Folders of one account in display order: roles first, then custom ones as a tree. */
export function folderTree(folders: readonly Folder[]): TreeFolder[] {
  const children = new Map<string | null, Folder[]>();
  for (const folder of folders) {
    const parent = folders.some((f) => f.id === folder.parent_id) ? folder.parent_id : null;
    const list = children.get(parent) ?? [];
    list.push(folder);
    children.set(parent, list);
  }
  const order = (a: Folder, b: Folder) =>
    ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role) || a.name.localeCompare(b.name);
  const out: TreeFolder[] = [];
  const walk = (parent: string | null, depth: number) => {
    for (const folder of [...(children.get(parent) ?? [])].sort(order)) {
      out.push({ folder, depth });
      walk(folder.id, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}
