/**
 * The life of a `rayts node --join HOST:PORT` process: check the token with the head, start a node
 * and its port, register, heartbeat, and exit non-zero with the reason when the cluster is lost. With
 * `--detach` the command starts this same process in the background and returns once it joined.
 */
import { rmSync } from "node:fs";
import { VERSION_LINE } from "../cli/version.ts";
import { RaytsError } from "../errors.ts";
import { packageRoutes } from "../shipping/package-routes.ts";
import { checkToken } from "../transport/client-peer.ts";
import { routeMessages } from "../transport/message-router.ts";
import { objectRoutes } from "../transport/object-routes.ts";
import { startTransportServer, type TransportServer } from "../transport/transport-server.ts";
import { workerRoutes } from "../transport/worker-routes.ts";
import type { ClusterFlags } from "./cluster-flags.ts";
import { DETACHED_SESSION_ENV, launchDetached, reportToLauncher } from "./detach.ts";
import { resolveToken } from "./discovery.ts";
import { DriverService } from "./driver-service.ts";
import { forwardArgs } from "./forward-args.ts";
import { nodeReport, startLocalNode } from "./local-node.ts";
import { NodeAgent } from "./node-agent.ts";
import { NodeLinks } from "./node-links.ts";
import { delegatePlacement } from "./pg-cluster.ts";
import { ProcessLog } from "./process-log.ts";
import {
  createSession,
  findSession,
  logPath,
  type Session,
  sessionAt,
  writeProcessRecord,
} from "./session-dir.ts";
import { onShutdown } from "./shutdown.ts";

/**
 * Runs `rayts node` with `flags` (`args` is the original command line, passed on when detaching).
 * Resolves with an exit code when the command is done, or undefined while the node runs.
 */
export async function runNode(flags: ClusterFlags, args: readonly string[]): Promise<number | undefined> {
  const head = flags.join!;
  const detachedSession = process.env[DETACHED_SESSION_ENV];
  delete process.env[DETACHED_SESSION_ENV];
  try {
    const token = resolveToken(flags.token, head);
    if (token === undefined) {
      throw new RaytsError(
        `Missing token for ${head}: pass --token (or set RAYTS_TOKEN) with the token rayts head printed`,
      );
    }
    const hello = (await checkToken(head, token).catch((err: unknown) => {
      throw new RaytsError(`Cannot join the cluster at ${head}: ${(err as Error).message}`, { cause: err });
    })) as { sessionName?: unknown };
    // On the head's machine the node joins the head's session directory; elsewhere it makes its own.
    const headSession = typeof hello.sessionName === "string" ? findSession(hello.sessionName) : undefined;
    if (flags.detach && detachedSession === undefined) {
      const report = await launchDetached("node", forwardArgs(args), headSession ?? createSession());
      if (report.t === "ready") {
        console.log(report.banner);
        return 0;
      }
      console.error(`rayts node: ${report.reason}`);
      return report.exitCode;
    }
    const session =
      detachedSession !== undefined ? sessionAt(detachedSession) : (headSession ?? createSession());
    return await serve(flags, token, session, detachedSession !== undefined);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    reportToLauncher({ t: "failed", reason, exitCode: 1 });
    console.error(`rayts node: ${reason}`);
    return 1;
  }
}

async function serve(
  flags: ClusterFlags,
  token: string,
  session: Session,
  detached: boolean,
): Promise<undefined> {
  const head = flags.join!;
  const log = new ProcessLog(logPath(session, "node", process.pid), "node", !detached);
  const node = startLocalNode(flags);
  process.on("exit", () => node.close());
  // Other nodes submit work here the way drivers submit it to the head's node.
  // Job packages this node does not hold are fetched from the head, where drivers upload them.
  const callers = new DriverService(node, (line) => log.write(line), { address: head, token });
  let server: TransportServer;
  try {
    server = startTransportServer({
      host: flags.host,
      port: flags.port,
      token,
      onPeer: (peer) => peer.onMessage(routeMessages({ driver: (m, p) => callers.accept(m, p) })),
      routes: (app) => {
        app.get("/api/hello", (c) => c.json({ role: "node", nodeId: node.nodeId, version: VERSION_LINE }));
        objectRoutes(app, () => node);
        workerRoutes(app, () => node.pool);
        packageRoutes(app, (line) => log.write(line));
      },
    });
  } catch (err) {
    node.close();
    throw new RaytsError(
      `Cannot listen on ${flags.host}:${flags.port}: ${err instanceof Error ? err.message : String(err)}; pick another port with --port (0 picks a free one)`,
      { cause: err },
    );
  }
  node.serveObjectsAt(server.address, token, (line) => log.write(line));
  let pidFile: string | undefined;
  const shutdown = onShutdown(async () => {
    log.write("Stopping");
    agent?.close();
    links?.close();
    callers.close();
    await server.stop();
    node.close();
    if (pidFile !== undefined) rmSync(pidFile, { force: true });
  });
  let agent: NodeAgent | undefined;
  let links: NodeLinks | undefined;
  try {
    agent = await NodeAgent.join({
      head,
      token,
      nodeId: node.nodeId,
      address: server.address,
      report: () => nodeReport(node),
      log: (line) => log.write(line),
      onLost: (reason) => {
        log.write(`Leaving: ${reason}`);
        void shutdown(1);
      },
    });
  } catch (err) {
    await server.stop();
    node.close();
    throw new RaytsError(
      `Cannot join the cluster at ${head}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  // Work submitted here (by tasks on this node, or forwarded) may go to any node the head reports.
  links = new NodeLinks({ source: agent, node, token, log: (line) => log.write(line) });
  node.cluster = links;
  // Placement groups are the head's node's: this node's API calls and group work go there.
  const headNodeId = agent.reply.headNodeId;
  if (typeof headNodeId === "string") delegatePlacement(node, links, headNodeId);
  // Named actors created or looked up here go to the head's table through its node.
  node.headNodeId = headNodeId;
  pidFile = writeProcessRecord(session, {
    role: "node",
    pid: process.pid,
    address: server.address,
    nodeId: node.nodeId,
    logFile: log.file,
    startedAt: new Date().toISOString(),
  });
  const banner = `Started rayts node ${node.nodeId} at ${server.address}, joined the cluster at ${head}
  Log: ${log.file}`;
  log.write(`Node ${node.nodeId} listening on ${server.address}, joined ${head}`);
  if (detached) reportToLauncher({ t: "ready", banner });
  else console.log(banner);
  return undefined;
}
