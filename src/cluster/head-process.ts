/**
 * The life of a `rayts head` process: session directory, token, the head service on its port, its own
 * node, the banner, and a clean stop on SIGINT/SIGTERM. With `--detach` the command starts this same
 * process in the background and returns once it is ready.
 */

import { rmSync } from "node:fs";
import { RaytsError } from "../errors.ts";
import { generateToken } from "../transport/token.ts";
import type { ClusterFlags } from "./cluster-flags.ts";
import { DETACHED_SESSION_ENV, launchDetached, reportToLauncher } from "./detach.ts";
import { DriverService } from "./driver-service.ts";
import { forwardArgs } from "./forward-args.ts";
import { headBanner } from "./head-banner.ts";
import { HeadService } from "./head-service.ts";
import { nodeReport, startLocalNode } from "./local-node.ts";
import { NodeLinks } from "./node-links.ts";
import { attachClusterPlacement } from "./pg-cluster.ts";
import { ProcessLog } from "./process-log.ts";
import {
  createSession,
  logPath,
  type Session,
  sessionAt,
  writeHeadRecord,
  writeProcessRecord,
  writeToken,
} from "./session-dir.ts";
import { onShutdown } from "./shutdown.ts";

/**
 * Runs `rayts head` with `flags` (`args` is the original command line, passed on when detaching).
 * Resolves with an exit code when the command is done, or undefined while the head runs.
 */
export async function runHead(flags: ClusterFlags, args: readonly string[]): Promise<number | undefined> {
  const detachedSession = process.env[DETACHED_SESSION_ENV];
  if (flags.detach && detachedSession === undefined) {
    const report = await launchDetached("head", forwardArgs(args), createSession());
    if (report.t === "ready") {
      console.log(report.banner);
      return 0;
    }
    console.error(`rayts head: ${report.reason}`);
    return report.exitCode;
  }
  const session = detachedSession !== undefined ? sessionAt(detachedSession) : createSession();
  delete process.env[DETACHED_SESSION_ENV];
  try {
    return await serve(flags, session, detachedSession !== undefined);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    reportToLauncher({ t: "failed", reason, exitCode: 1 });
    console.error(`rayts head: ${reason}`);
    return 1;
  }
}

async function serve(flags: ClusterFlags, session: Session, detached: boolean): Promise<undefined> {
  const log = new ProcessLog(logPath(session, "head", process.pid), "head", !detached);
  const token = flags.token ?? (process.env.RAYTS_TOKEN || generateToken());
  const service = startService(flags, token, session, log);
  let node: ReturnType<typeof startLocalNode>;
  try {
    node = startLocalNode(flags);
  } catch (err) {
    await service.close();
    throw err;
  }
  process.on("exit", () => node.close());
  service.addOwnNode({ nodeId: node.nodeId, pid: process.pid, report: () => nodeReport(node) });
  const links = new NodeLinks({
    source: {
      alive: () => service.table.view(),
      onChange: (fn) => service.table.onChange((e) => e.t !== "dead" && fn()),
    },
    node,
    token,
    log: (line) => log.write(line),
  });
  node.cluster = links;
  attachClusterPlacement(node, service.table, links);
  service.reportPlacementGroups(() => node.placementGroups.table());
  node.serveObjectsAt(service.address, token, (line) => log.write(line));
  const drivers = new DriverService(node, (line) => log.write(line));
  service.serveObjects(node);
  service.serveWorkers(node.pool);
  service.serveDrivers((hello, peer) => drivers.accept(hello, peer));
  const tokenFile = writeToken(session, token);
  writeHeadRecord(session, {
    address: service.address,
    pid: process.pid,
    sessionName: session.name,
    startedAt: new Date().toISOString(),
  });
  const pidFile = writeProcessRecord(session, {
    role: "head",
    pid: process.pid,
    address: service.address,
    nodeId: node.nodeId,
    logFile: log.file,
    startedAt: new Date().toISOString(),
  });
  onShutdown(async () => {
    log.write("Stopping");
    drivers.close();
    links.close();
    await service.close();
    node.close();
    rmSync(pidFile, { force: true });
  });
  log.write(`Head ${node.nodeId} listening on ${service.address} (session ${session.name})`);
  const banner = headBanner(service.address, token, session.dir, tokenFile);
  if (detached) reportToLauncher({ t: "ready", banner });
  else console.log(banner);
  return undefined;
}

function startService(flags: ClusterFlags, token: string, session: Session, log: ProcessLog): HeadService {
  try {
    return HeadService.start({
      host: flags.host,
      port: flags.port,
      token,
      sessionName: session.name,
      log: (line) => log.write(line),
    });
  } catch (err) {
    throw new RaytsError(
      `Cannot listen on ${flags.host}:${flags.port}: ${err instanceof Error ? err.message : String(err)}; pick another port with --port (0 picks a free one)`,
      { cause: err },
    );
  }
}
