// Bundle src/ into dist/scatter.js (one ES module for st.components.v2). The banner records a hash of the
// sources and the lock file (the sha256 of `sha256sum package-lock.json src/*.js`), so scripts/setup and
// tests/test_scatter_bundle.py can tell whether the committed bundle was built from these sources.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { build } from "esbuild";

const files = ["package-lock.json", ...readdirSync("src").filter((f) => f.endsWith(".js")).sort().map((f) => `src/${f}`)];
const listing = files.map((f) => `${createHash("sha256").update(readFileSync(f)).digest("hex")}  ${f}\n`).join("");
const stamp = createHash("sha256").update(listing).digest("hex");

await build({
  entryPoints: ["src/index.js"],
  bundle: true,
  format: "esm",
  minify: true,
  target: "es2020",
  outfile: "dist/scatter.js",
  banner: { js: `/* xle-scatter: built by explorer/component/frontend/build.mjs from sources ${stamp} */` },
  logLevel: "info",
});
