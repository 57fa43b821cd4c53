#!/usr/bin/env node
// Fails when a language misses a key or a placeholder that another language has.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../src/locales");

/** Plural suffixes name forms of one key; languages may have different sets. */
const PLURAL = /_(zero|one|two|few|many|other)$/;

function flatten(value, prefix = "", out = new Map()) {
  for (const [key, child] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (child && typeof child === "object") flatten(child, path, out);
    else out.set(path, String(child));
  }
  return out;
}

function placeholders(text) {
  return [...text.matchAll(/\{\{\s*([\w.]+)[^}]*\}\}/g)].map((m) => m[1]).sort();
}

export function checkLocales(dir = root) {
  const languages = readdirSync(dir).filter((name) => !name.includes("."));
  const namespaces = new Set(
    languages.flatMap((lng) => readdirSync(join(dir, lng)).filter((f) => f.endsWith(".json"))),
  );
  const problems = [];
  for (const file of namespaces) {
    const tables = new Map();
    for (const lng of languages) {
      try {
        tables.set(lng, flatten(JSON.parse(readFileSync(join(dir, lng, file), "utf8"))));
      } catch (error) {
        problems.push(
          `${lng}/${file}: ${error.code === "ENOENT" ? "missing file" : error.message}`,
        );
        tables.set(lng, new Map());
      }
    }
    const keysOf = (table) => new Set([...table.keys()].map((k) => k.replace(PLURAL, "")));
    const all = new Set([...tables.values()].flatMap((table) => [...keysOf(table)]));
    for (const [lng, table] of tables) {
      const own = keysOf(table);
      for (const key of all) if (!own.has(key)) problems.push(`${lng}/${file}: missing "${key}"`);
      for (const [key, text] of table) {
        if (!text.trim()) problems.push(`${lng}/${file}: empty "${key}"`);
      }
    }
    for (const key of all) {
      const seen = new Map();
      for (const [lng, table] of tables) {
        const forms = [...table.entries()].filter(([k]) => k.replace(PLURAL, "") === key);
        const names = new Set(forms.flatMap(([, text]) => placeholders(text)));
        seen.set(lng, [...names].sort().join(","));
      }
      const distinct = new Set(seen.values());
      if (distinct.size > 1) {
        const detail = [...seen].map(([lng, names]) => `${lng}: {${names}}`).join("; ");
        problems.push(`${file}: placeholders of "${key}" differ (${detail})`);
      }
    }
  }
  return { languages, namespaces: [...namespaces], problems };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { languages, namespaces, problems } = checkLocales();
  if (problems.length > 0) {
    for (const problem of problems) console.error(`check-i18n: ${problem}`);
    process.exit(1);
  }
  console.log(`check-i18n: ${languages.join(", ")} complete in ${namespaces.length} namespaces`);
}
