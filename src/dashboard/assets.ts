/**
 * The dashboard's one stylesheet and one small script, served by the Worker itself (no CDN: it works
 * offline), from this origin so that the Content-Security-Policy can forbid everything inline.
 */

export const STYLESHEET = `
:root{--fg:#1f2328;--muted:#59636e;--bg:#fff;--panel:#f6f8fa;--line:#d1d9e0;--link:#0550ae;--focus:#0969da;
--ok:#116329;--ok-bg:#dafbe1;--bad:#82071e;--bad-bg:#ffebe9;--warn:#7d4e00;--warn-bg:#fff8c5;
--success:#2da44e;--http_error:#cf222e;--timeout:#bf8700;--network_error:#6639ba}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--link)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.875em}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:var(--bg);padding:4px 8px;z-index:1}
header{background:#24292f;color:#fff}
header nav{max-width:72rem;margin:0 auto;padding:.5rem 1rem;display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:center}
header a{color:#fff;text-decoration:none;padding:.25rem 0}
header a[aria-current]{text-decoration:underline;text-underline-offset:4px}
header .brand{font-weight:700;margin-right:auto}
header form{margin:0}
header button{background:transparent;color:#fff;border:1px solid #8c959f}
main{max-width:72rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem;overflow-wrap:anywhere}
h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
button,.button{font:inherit;font-size:.9375rem;padding:.375rem .875rem;border-radius:6px;border:1px solid var(--line);background:var(--panel);color:var(--fg);cursor:pointer;text-decoration:none;display:inline-block;min-height:2.25rem}
button.primary,.button.primary{background:#1f883d;border-color:#1a7f37;color:#fff}
button.danger{background:var(--bad-bg);border-color:#cf222e;color:var(--bad)}
button:disabled{opacity:.6;cursor:not-allowed}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.75rem 0}
.actions form{margin:0}
.notice{padding:.75rem 1rem;border-radius:6px;margin:0 0 1rem;border:1px solid}
.notice.ok{background:var(--ok-bg);border-color:#4ac26b;color:var(--ok)}
.notice.bad{background:var(--bad-bg);border-color:#ff8182;color:var(--bad)}
.secret{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
.secret code{background:var(--bg);padding:.25rem .5rem;border:1px solid var(--line);border-radius:4px;overflow-wrap:anywhere}
.badge{display:inline-block;padding:0 .5rem;border-radius:2rem;font-size:.8125rem;font-weight:600;white-space:nowrap}
.badge.on{background:var(--ok-bg);color:var(--ok)}
.badge.off{background:var(--bad-bg);color:var(--bad)}
.badge.warn{background:var(--warn-bg);color:var(--warn)}
.types{display:flex;flex-wrap:wrap;gap:.25rem}
.types code{background:var(--panel);border:1px solid var(--line);border-radius:4px;padding:0 .25rem}
.muted{color:var(--muted)}
.url{overflow-wrap:anywhere}
.tabs{display:flex;gap:.5rem;flex-wrap:wrap;margin:0 0 1rem}
.tabs a{padding:.25rem .75rem;border:1px solid var(--line);border-radius:2rem;text-decoration:none}
.tabs a[aria-current]{background:var(--fg);color:var(--bg);border-color:var(--fg)}
table{width:100%;border-collapse:collapse;font-size:.9375rem}
th,td{text-align:left;vertical-align:top;padding:.5rem;border-bottom:1px solid var(--line)}
th{background:var(--panel);font-weight:600}
td.error{overflow-wrap:anywhere;max-width:24rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;overflow-wrap:anywhere}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.5rem;margin:1rem 0}
.card{border:1px solid var(--line);border-radius:6px;padding:.5rem .75rem}
.card strong{display:block;font-size:1.25rem}
.dot{display:inline-block;width:.75rem;height:.75rem;border-radius:2px;margin-right:.25rem;vertical-align:-1px}
.o-success{background:var(--success);fill:var(--success)}
.o-http_error{background:var(--http_error);fill:var(--http_error)}
.o-timeout{background:var(--timeout);fill:var(--timeout)}
.o-network_error{background:var(--network_error);fill:var(--network_error)}
.chart svg{width:100%;height:auto;display:block}
.chart .axis{stroke:var(--line)}.chart text{fill:var(--muted);font-size:11px}
.legend{display:flex;flex-wrap:wrap;gap:.25rem 1rem;font-size:.875rem;margin:.25rem 0 0;padding:0;list-style:none}
form.stacked{max-width:40rem}
.field{margin:0 0 1rem}
.field label{display:block;font-weight:600;margin-bottom:.25rem}
.field input[type=text],.field input[type=url],.field input[type=password],.field input[type=search]{width:100%;font:inherit;padding:.375rem .5rem;border:1px solid #818b98;border-radius:6px}
.field .hint{font-size:.875rem;color:var(--muted);margin:.25rem 0 0}
.field .problem{color:var(--bad);font-size:.875rem;margin:.25rem 0 0;font-weight:600}
.field [aria-invalid=true]{border-color:#cf222e;border-width:2px}
.check{display:flex;gap:.5rem;align-items:center;font-weight:400}
.pager{display:flex;gap:1rem;margin:1rem 0}
pre.json{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:.75rem;overflow:auto;max-height:32rem}
.signin{max-width:24rem;margin:3rem auto}
@media (max-width:44rem){
 table.cards-on-phone thead{position:absolute;left:-999px}
 table.cards-on-phone tr{display:block;border:1px solid var(--line);border-radius:6px;margin:0 0 .75rem;padding:.25rem .5rem}
 table.cards-on-phone td{display:grid;grid-template-columns:8.5rem 1fr;gap:.5rem;border:0;padding:.25rem 0;max-width:none}
 table.cards-on-phone td::before{content:attr(data-label);color:var(--muted);font-weight:600}
}
`;

/** Progressive enhancement only: every page works without it. */
export const SCRIPT = `
"use strict";
for (const button of document.querySelectorAll("button[data-copy]")) {
  button.hidden = !navigator.clipboard;
  button.addEventListener("click", async () => {
    await navigator.clipboard.writeText(document.getElementById(button.dataset.copy).textContent);
    button.textContent = "Copied";
  });
}
for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => { if (!confirm(form.dataset.confirm)) event.preventDefault(); });
}
`;

/** A short hash of the content (FNV-1a), in the files' names so that browsers may cache them for good. */
function fingerprint(text: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, "0");
}

export const ASSET_PATHS = { stylesheet: `/dashboard/${fingerprint(STYLESHEET)}.css`, script: `/dashboard/${fingerprint(SCRIPT)}.js` };
