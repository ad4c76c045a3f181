// Copies the few files of swagger-ui-dist that /docs needs into public/, so the reference page works
// offline and is served by Workers static assets instead of a CDN. Runs on `npm install` (postinstall).
import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const source = dirname(require.resolve("swagger-ui-dist/package.json"));
const target = join(import.meta.dirname, "..", "public", "docs");
mkdirSync(target, { recursive: true });
for (const file of ["swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-bundle.js.LICENSE.txt"]) copyFileSync(join(source, file), join(target, file));
