/** light / dark / system theme; public/theme-init.js applies the stored choice before paint. */
export type Theme = "light" | "dark" | "system";
export const THEME_STORAGE_KEY = "mm-theme";

export function storedTheme(): Theme {
  const value = localStorage.getItem(THEME_STORAGE_KEY);
  return value === "light" || value === "dark" ? value : "system";
}

export function applyTheme(theme: Theme): void {
  localStorage.setItem(THEME_STORAGE_KEY, theme);
  const dark =
    theme === "dark" ||
    (theme === "system" && window.matchMedia("(prefers-color-scheme: dark)").matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
}
