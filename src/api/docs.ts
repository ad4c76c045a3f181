import { Hono } from "hono";
import { pageSecurityHeaders } from "./security-headers";

/**
 * An interactive reference rendered from /openapi.json by Swagger UI, served from our own static assets
 * (public/docs). The API token typed into "Authorize" stays in the page's memory: `persistAuthorization`
 * is off, which is the only way Swagger UI writes it to localStorage. Swagger UI sets inline styles, so
 * styles may be inline; scripts may not.
 */
export const docs = new Hono();

const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

docs.use("/docs", pageSecurityHeaders(DOCS_CSP));

docs.get("/docs", (c) =>
  c.html(`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Doorbell API reference</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="reference"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>`),
);

docs.get("/docs/init.js", (c) =>
  c.body('SwaggerUIBundle({ url: "/openapi.json", dom_id: "#reference", tryItOutEnabled: true, persistAuthorization: false });\n', 200, {
    "content-type": "text/javascript; charset=utf-8",
    "x-content-type-options": "nosniff",
  }),
);
