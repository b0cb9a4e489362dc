/**
 * The head's read-only dashboard (`GET /` and `GET /dashboard`, behind the token like every route:
 * open `http://HOST:PORT/?token=T`): one self-contained HTML page, no scripts or external assets,
 * showing what `rayts status` shows (nodes, resources, pending demand, placement groups, object
 * store). It reloads itself every few seconds; the query string, and so the token, is kept.
 */
import type { ClusterStatus } from "./cluster-protocol.ts";
import { formatStatus } from "./status-format.ts";

/** Seconds between reloads of the page. */
const REFRESH_SECONDS = 5;

/** The URL that opens the dashboard of the head at `address`. */
export function dashboardUrl(address: string, token: string): string {
  return `http://${address}/?token=${encodeURIComponent(token)}`;
}

/** The page for `status`. */
export function dashboardHtml(status: ClusterStatus): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="${REFRESH_SECONDS}">
<meta name="referrer" content="no-referrer">
<title>rayts ${escapeHtml(status.address)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
pre { background: #f4f4f4; padding: 1em; border-radius: 4px; overflow-x: auto; }
</style>
</head>
<body>
<h1>rayts cluster</h1>
<p>Read-only; reloads every ${REFRESH_SECONDS} s. The same report as <code>rayts status</code>.</p>
<pre>${escapeHtml(formatStatus(status))}</pre>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
