/**
 * i18next set-up. Every `locales/<lng>/<ns>.json` is bundled; a new language is a new folder
 * plus an entry in LANGUAGES. Detection: the user's setting (applied after sign-in) →
 * localStorage → the browser → English.
 */
import i18n from "i18next";
import LanguageDetector from "i18next-browser-languagedetector";
import { initReactI18next } from "react-i18next";

export const LANGUAGES = ["en", "de"] as const;
export type Language = (typeof LANGUAGES)[number];
export const NAMESPACES = [
  "common",
  "auth",
  "mail",
  "accounts",
  "compose",
  "settings",
  "errors",
  "search",
  "ai",
] as const;
export const LANGUAGE_STORAGE_KEY = "mm-language";

type Resources = Record<string, Record<string, Record<string, unknown>>>;

const files = import.meta.glob<Record<string, unknown>>("../locales/*/*.json", {
  eager: true,
  import: "default",
});

export function bundledResources(): Resources {
  const resources: Resources = {};
  for (const [path, content] of Object.entries(files)) {
    const match = /locales\/([^/]+)\/([^/]+)\.json$/.exec(path);
    if (!match) continue;
    const [, lng, ns] = match as unknown as [string, string, string];
    (resources[lng] ??= {})[ns] = content;
  }
  return resources;
}

export function initI18n(language?: string): typeof i18n {
  if (i18n.isInitialized) return i18n;
  void i18n
    .use(LanguageDetector)
    .use(initReactI18next)
    .init({
      resources: bundledResources(),
      lng: language,
      fallbackLng: "en",
      supportedLngs: [...LANGUAGES],
      nonExplicitSupportedLngs: true,
      load: "languageOnly",
      ns: [...NAMESPACES],
      defaultNS: "common",
      interpolation: { escapeValue: false },
      returnNull: false,
      detection: {
        order: ["localStorage", "navigator"],
        lookupLocalStorage: LANGUAGE_STORAGE_KEY,
        caches: ["localStorage"],
      },
      initAsync: false,
    });
  i18n.on("languageChanged", (lng) => {
    document.documentElement.lang = lng;
  });
  document.documentElement.lang = i18n.resolvedLanguage ?? "en";
  return i18n;
}

/** Applies the language of the user's profile when it is one the client speaks. */
export function applyUserLanguage(language: string | null | undefined): void {
  const short = language?.slice(0, 2);
  if (short && (LANGUAGES as readonly string[]).includes(short) && i18n.language !== short) {
    void i18n.changeLanguage(short);
  }
}

export { i18n };
