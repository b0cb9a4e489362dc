import { dashboardUrl } from "./dashboard.ts";

/** What `rayts head` prints once it is ready: the address, the token and copy-pasteable next steps. */

/** The banner for a head at `address`. */
export function headBanner(address: string, token: string, sessionDir: string, tokenFile: string): string {
  return `Started rayts head at ${address}
  Session: ${sessionDir}
  Token:   ${token}  (also in ${tokenFile}, mode 0600)

Next steps:
  Join a node (on this or another machine):
    rayts node --join ${address} --token ${token}
  Run a script against this cluster:
    RAYTS_ADDRESS=${address} RAYTS_TOKEN=${token} rayts script.ts
  See the cluster:
    rayts status --address ${address}
  Dashboard (read-only, in a browser):
    ${dashboardUrl(address, token)}
  Stop the head and the nodes started on this machine:
    rayts stop`;
}
