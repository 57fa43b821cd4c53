import { describe, expect, it } from "vitest";
import { LANGUAGES, NAMESPACES, bundledResources } from "@/lib/i18n";

type Tree = Record<string, unknown>;
const PLURAL = /_(zero|one|two|few|many|other)$/;

function flatten(tree: Tree, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (value && typeof value === "object") {
      for (const [k, v] of flatten(value as Tree, path)) out.set(k, v);
    } else out.set(path, String(value));
  }
  return out;
}

const resources = bundledResources();
const keys = (lng: string, ns: string) =>
  new Set(
    [...flatten((resources[lng]?.[ns] ?? {}) as Tree).keys()].map((k) => k.replace(PLURAL, "")),
  );

const sources = import.meta.glob<string>(["../**/*.tsx", "../**/*.ts", "!../**/*.test.*"], {
  eager: true,
  query: "?raw",
  import: "default",
});

describe("translations", () => {
  it("has every namespace in every language with the same keys", () => {
    for (const ns of NAMESPACES) {
      const english = keys("en", ns);
      expect(english.size, `en/${ns}`).toBeGreaterThan(0);
      for (const lng of LANGUAGES)
        expect([...keys(lng, ns)].sort(), `${lng}/${ns}`).toEqual([...english].sort());
    }
  });

  it("has every key the code asks for", () => {
    const missing: string[] = [];
    for (const [file, text] of Object.entries(sources)) {
      const namespaces = [...text.matchAll(/useTranslation\(\s*"(\w+)"\s*\)/g)].map((m) => m[1]);
      const defaultNs = namespaces[0] ?? "common";
      for (const match of text.matchAll(/\bt\(\s*"([\w.:]+)"/g)) {
        const raw = match[1]!;
        const [ns, key] = raw.includes(":")
          ? (raw.split(":") as [string, string])
          : [defaultNs, raw];
        for (const lng of LANGUAGES) {
          if (!keys(lng, ns).has(key)) missing.push(`${file}: ${lng}/${ns}:${key}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it("names every error code of the API in both languages", () => {
    for (const lng of LANGUAGES) {
      expect(keys(lng, "errors").has("codes.AUTH002"), lng).toBe(true);
      expect(keys(lng, "errors").has("codes.EMAIL001"), lng).toBe(true);
    }
  });
});
