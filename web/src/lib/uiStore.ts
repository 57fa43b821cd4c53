/** The one store for UI state (server state lives in TanStack Query). */
import { create } from "zustand";

/** What the composer opens with: a saved draft to resume, or a reply's starting text. */
export type ComposeMode =
  | { kind: "new"; draftId?: string }
  | { kind: "reply"; emailId: string; all: boolean; body?: string }
  | { kind: "forward"; emailId: string };

export interface SyncProgress {
  accountId: string;
  status: "syncing" | "completed" | "error";
  phase: string | null;
  folder: string | null;
  progress: number | null;
  processed: number | null;
  total: number | null;
  message: string | null;
}

interface UiState {
  compose: ComposeMode | null;
  helpOpen: boolean;
  connection: "connecting" | "open" | "closed";
  sync: Record<string, SyncProgress>;
  announcement: string;
  openCompose: (mode: ComposeMode) => void;
  closeCompose: () => void;
  setHelpOpen: (open: boolean) => void;
  setConnection: (status: UiState["connection"]) => void;
  setSync: (progress: SyncProgress) => void;
  announce: (text: string) => void;
}

export const useUiStore = create<UiState>((set) => ({
  compose: null,
  helpOpen: false,
  connection: "closed",
  sync: {},
  announcement: "",
  openCompose: (compose) => set({ compose }),
  closeCompose: () => set({ compose: null }),
  setHelpOpen: (helpOpen) => set({ helpOpen }),
  setConnection: (connection) => set({ connection }),
  setSync: (progress) =>
    set((state) => ({ sync: { ...state.sync, [progress.accountId]: progress } })),
  announce: (announcement) => set({ announcement }),
}));
