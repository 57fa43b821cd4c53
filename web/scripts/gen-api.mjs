#!/usr/bin/env node
// Generates the typed API client's types from the backend's OpenAPI document.
//   node scripts/gen-api.mjs          writes src/lib/api/schema.json and schema.d.ts
//   node scripts/gen-api.mjs --check  exits 1 when the committed files differ from the backend
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";

const here = dirname(fileURLToPath(import.meta.url));
const web = resolve(here, "..");
const repo = resolve(web, "..");
const outDir = resolve(web, "src/lib/api");
const jsonPath = resolve(outDir, "schema.json");
const dtsPath = resolve(outDir, "schema.d.ts");
const check = process.argv.includes("--check");

const python = process.env.MAILMIND_PYTHON ?? resolve(repo, ".venv/bin/python");
if (!existsSync(python)) {
  console.error(`gen-api: ${python} not found; run \`make install\` in ${repo} first`);
  process.exit(2);
}

// create_app() only builds routes; it opens no database. Development settings keep the
// production start-up checks (secrets, hosts) out of the way of a schema dump.
const env = { ...process.env, APP_ENV: "development" };
delete env.NODE_ENV;
const dumped = execFileSync(
  python,
  [
    "-c",
    "import json; from mailmind.app import create_app; " +
      "print(json.dumps(create_app().openapi(), indent=2, sort_keys=True))",
  ],
  { cwd: repo, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
);
const schema = JSON.parse(dumped);
const json = JSON.stringify(schema, null, 2) + "\n";

const banner =
  "/**\n * Generated from the backend's OpenAPI document by scripts/gen-api.mjs.\n" +
  " * Do not edit: run `npm run gen:api`.\n */\n\n";
const dts =
  banner + astToString(await openapiTS(schema, { alphabetize: true, defaultNonNullable: false }));

if (check) {
  const stale = [
    [jsonPath, json],
    [dtsPath, dts],
  ].filter(([path, text]) => !existsSync(path) || readFileSync(path, "utf8") !== text);
  if (stale.length > 0) {
    for (const [path] of stale) console.error(`gen-api: ${path} is stale`);
    console.error("gen-api: run `npm run gen:api` (or `make gen-client`) and commit the result");
    process.exit(1);
  }
  console.log("gen-api: the API client matches the backend");
} else {
  writeFileSync(jsonPath, json);
  writeFileSync(dtsPath, dts);
  console.log(`gen-api: wrote ${jsonPath} and ${dtsPath}`);
}
