// Builds the Mini App into the API's static files: src/main.tsx -> ../src/kopilka_api/static/app/
// (app.js and app.css, one file each, no source maps shipped, no CDN at run time).
// The translation catalogues are every src/i18n/<lang>/*.json, merged per language at build time
// (a screen's strings live in their own file, e.g. src/i18n/ru/plots.json with keys "plots.*").
import { build } from "esbuild";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const i18nDir = join(here, "src", "i18n");
const outdir = join(here, "..", "src", "kopilka_api", "static", "app");
// The server's catalogues (kopilka.i18n): the API's sentences (an error's detail, a job's failure,
// a bank line's reason, an expense's unallocated reason) are their English keys, filled in; the
// page says them in Russian with the same catalogue the bot uses (serverText in core/i18n.ts).
const serverDir = join(here, "..", "..", "..", "shared", "src", "kopilka", "i18n", "catalogues");

function serverSentences() {
  const out = {};
  for (const file of readdirSync(serverDir).sort()) {
    // English is the keys themselves: only the other languages are shipped
    if (!file.endsWith(".json") || file === "en.json") continue;
    const entries = JSON.parse(readFileSync(join(serverDir, file), "utf8"));
    // sentences only: the plural forms are the bot's and the statements'
    out[file.replace(/\.json$/, "")] = Object.fromEntries(
      Object.entries(entries).filter(([, value]) => typeof value === "string"),
    );
  }
  return out;
}

function catalogues() {
  const out = {};
  for (const lang of readdirSync(i18nDir, { withFileTypes: true })) {
    if (!lang.isDirectory()) continue;
    const merged = {};
    for (const file of readdirSync(join(i18nDir, lang.name)).sort()) {
      if (!file.endsWith(".json")) continue;
      const entries = JSON.parse(readFileSync(join(i18nDir, lang.name, file), "utf8"));
      for (const [key, value] of Object.entries(entries)) {
        if (key in merged) throw new Error(`${lang.name}/${file}: key ${key} is defined twice`);
        merged[key] = value;
      }
    }
    out[lang.name] = merged;
  }
  return out;
}

const cataloguePlugin = {
  name: "catalogues",
  setup(b) {
    b.onResolve({ filter: /^virtual:catalogues$/ }, () => ({ path: "catalogues", namespace: "i18n" }));
    b.onResolve({ filter: /^virtual:server-sentences$/ }, () => ({
      path: "server",
      namespace: "i18n",
    }));
    b.onLoad({ filter: /.*/, namespace: "i18n" }, (args) => ({
      contents: JSON.stringify(args.path === "server" ? serverSentences() : catalogues()),
      loader: "json",
      watchDirs: [args.path === "server" ? serverDir : i18nDir],
    }));
  },
};

await build({
  entryPoints: { app: join(here, "src", "main.tsx") },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["chrome100", "safari15", "firefox100"],
  outdir,
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "none",
  plugins: [cataloguePlugin],
  logLevel: "warning",
});
console.log(`miniapp: built into ${outdir}`);
