#!/usr/bin/env node
// Gzip size of the JavaScript a first visit loads (entry + modulepreloads in dist/index.html).
// Fails above the budget: 250 kB.
import { readFileSync } from "node:fs";
import { resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const BUDGET = 250 * 1024;
const dist = resolve(dirname(fileURLToPath(import.meta.url)), "../dist");
const html = readFileSync(resolve(dist, "index.html"), "utf8");
const files = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
let total = 0;
for (const file of files) {
  const size = gzipSync(readFileSync(resolve(dist, file)), { level: 9 }).length;
  total += size;
  console.log(`${(size / 1024).toFixed(1).padStart(8)} kB  ${file}`);
}
console.log(
  `${(total / 1024).toFixed(1).padStart(8)} kB  initial JS (gzip), budget ${BUDGET / 1024} kB`,
);
if (total > BUDGET) process.exit(1);
