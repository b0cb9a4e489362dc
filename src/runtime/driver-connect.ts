/**
 * A driver connected to a running cluster [Ray's `ray.init(address=…)`]: finds the address and the
 * token (see `cluster/discovery.ts`), checks the token, opens the control socket to the head, says
 * `driver` (its namespace), and attaches the head node's shm segment, so on the same machine `get` of
 * a large object is a view over shared memory and `put` writes straight into it. Then it ships its
 * code: the job's package (`shipping/job-package.ts`) is uploaded to the head unless the head has it,
 * and the entry script is registered with it; every other node fetches the package by hash.
 *
 * A driver that cannot attach the segment (another machine, a segment it cannot open, or
 * `RAYTS_SHM_ATTACH=never`, which tests use on one machine) still runs: its objects move over HTTP
 * (see `peer-link.ts`), and the head's node loads its code from the package, not from its paths.
 */
import { statSync } from "node:fs";
import { hostname } from "node:os";
import { resolve } from "node:path";
import { getEntryScript } from "../cli/entry-script.ts";
import { resolveAddress, resolveToken } from "../cluster/discovery.ts";
import type { DriverWelcome } from "../cluster/driver-service.ts";
import { ObjectStoreFullError, RaytsError } from "../errors.ts";
import { validateInitOptions } from "../options/compile.ts";
import type { InitOptions } from "../options/types.ts";
import { packageRootOf, scanPackage, uploadJobPackage } from "../shipping/job-package.ts";
import { ShmArena } from "../store/shm-arena.ts";
import { checkToken } from "../transport/client-peer.ts";
import { routeMessages } from "../transport/message-router.ts";
import type { Peer } from "../transport/peer.ts";
import { connectPeerOffThread } from "../transport/thread-peer.ts";
import { UnauthorizedError } from "../transport/transport-errors.ts";
import { makeActorHandle } from "./actor-handle.ts";
import type { StartedDriver } from "./context.ts";
import { Core } from "./core.ts";
import { randomId } from "./ids.ts";
import { DRIVER_LOG, PeerLink } from "./peer-link.ts";
import { setJobRuntimeEnv } from "./remote.ts";

/** Connects this process's driver to the cluster `options.address` (else `RAYTS_ADDRESS`) names. */
export async function connectDriver(options: InitOptions | undefined): Promise<StartedDriver> {
  const o = validateInitOptions(options);
  const given = o.address ?? (process.env.RAYTS_ADDRESS || undefined);
  const address = resolveAddress(given);
  if (address === undefined) {
    throw new RaytsError(
      "Cannot connect to auto: no head runs on this machine; start one with rayts head, or give its HOST:PORT",
    );
  }
  const token = o.token ?? resolveToken(undefined, address);
  const embeddedOnly = (["numCpus", "numGpus", "resources", "objectStoreMemory"] as const).filter(
    (k) => o[k] !== undefined,
  );
  if (embeddedOnly.length > 0) {
    process.stderr.write(
      `rayts: warning: init() ${embeddedOnly.join(", ")} ${embeddedOnly.length === 1 ? "applies" : "apply"} to the embedded cluster only and ${embeddedOnly.length === 1 ? "is" : "are"} ignored by a driver of ${address}; a cluster's resources are set with rayts head and rayts node (--num-cpus, --num-gpus, --resources, --object-store-memory)\n`,
    );
  }
  try {
    // Without a token, still say first whether anything answers there.
    await checkToken(address, token ?? "").catch((err: unknown) => {
      if (token !== undefined || !(err instanceof UnauthorizedError)) throw err;
      throw new RaytsError("no token; pass --token or RAYTS_TOKEN (the head printed it), or init({ token })");
    });
  } catch (err) {
    throw new RaytsError(
      `Cannot connect to ${address}: ${err instanceof Error ? err.message : String(err)}`,
      {
        cause: err,
      },
    );
  }
  const peer = await connectPeerOffThread(address, { token: token ?? "" });
  const namespace = o.namespace ?? `anon-${randomId(12)}`;
  let welcome: DriverWelcome;
  let arena: ShmArena | undefined;
  let link: PeerLink | undefined;
  try {
    welcome = (await peer.request({
      t: "driver",
      namespace,
      pid: process.pid,
      cwd: process.cwd(),
    })) as DriverWelcome;
    arena = attach(welcome);
    const entry = getEntryScript();
    if (entry !== undefined) {
      link = new PeerLink(
        peer,
        welcome.nodeId,
        arena?.headerAddress ?? 0,
        arena ? undefined : { address, token: token ?? "" },
      );
      await shipCode(link, entry, address, token ?? "", o.runtimeEnv?.workingDir, arena !== undefined);
    }
  } catch (err) {
    peer.close("the driver could not start");
    throw err instanceof RaytsError
      ? err
      : new RaytsError(`Cannot connect to ${address}: ${err instanceof Error ? err.message : String(err)}`, {
          cause: err,
        });
  }
  link ??= new PeerLink(
    peer,
    welcome.nodeId,
    arena?.headerAddress ?? 0,
    arena ? undefined : { address, token: token ?? "" },
  );
  warnOnErrors(peer);
  printLogs(peer, o.logToDriver !== false);
  const jobEnv = o.runtimeEnv?.envVars;
  const core = new Core({
    api: link,
    caller: welcome.callerId,
    arena,
    alloc: (size) => {
      const off = arena === undefined ? -1 : arena.alloc(size);
      if (off < 0) {
        const s = arena?.stats();
        throw new ObjectStoreFullError(
          `Object store is full: ${s?.used ?? 0} bytes used of ${s?.capacity ?? 0}, ${size} asked for; raise --object-store-memory of the head or drop and free() refs`,
        );
      }
      return off;
    },
    jobId: randomId(8),
    namespace,
    workerId: `${welcome.nodeId.slice(0, 8)}-driver-${welcome.callerId}`,
    jobEnv,
    currentTask: () => undefined,
    makeActorHandle,
  });
  core.owner = welcome.address ?? "";
  setJobRuntimeEnv(core, o.runtimeEnv);
  return {
    core,
    embedded: undefined,
    // The mapping stays: zero-copy views handed out may outlive the runtime (they must stay valid).
    stop: () => link.close(),
  };
}

/** True when `RAYTS_SHM_ATTACH=never`: the driver acts as one on another machine (tests). */
const NEVER_ATTACH = process.env.RAYTS_SHM_ATTACH === "never";

/** The head node's segment, attached when it is on this machine; undefined when it cannot be. */
function attach(welcome: DriverWelcome): ShmArena | undefined {
  if (welcome.shmName === undefined || NEVER_ATTACH || welcome.hostname !== hostname()) return undefined;
  try {
    return ShmArena.attach(welcome.shmName);
  } catch {
    // Same host name, another machine (or container): objects go over HTTP.
    return undefined;
  }
}

/**
 * Ships the job's code: its package (the nearest `package.json`'s directory, or `workingDir` when the
 * job gives a directory) uploaded to the head unless it holds it, then the entry script registered
 * with it. The head's node loads the script by its path when the driver shares its machine (`local`),
 * from its unpacked copy of the package otherwise.
 */
async function shipCode(
  link: PeerLink,
  entry: string,
  address: string,
  token: string,
  workingDir: string | undefined,
  local: boolean,
): Promise<void> {
  const dir =
    workingDir !== undefined && isDirectory(workingDir) ? resolve(workingDir) : packageRootOf(entry);
  const pkg = scanPackage(dir, (line) => process.stderr.write(`${line}\n`));
  await uploadJobPackage(address, token, pkg);
  await link.addEntryScript(entry, { hash: pkg.hash, root: pkg.root, size: pkg.size }, local);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Prints the console output of this driver's work, relayed by the nodes that ran it (`logToDriver`). */
function printLogs(peer: Peer, print: boolean): void {
  peer.onMessage(
    routeMessages({
      [DRIVER_LOG]: (m) => {
        if (print && typeof m.text === "string")
          (m.err === true ? process.stderr : process.stdout).write(m.text);
      },
    }),
  );
}

function warnOnErrors(peer: Peer): void {
  peer.onError((err) => process.stderr.write(`rayts: warning: the head refused a request: ${err.message}\n`));
  peer.onClose((reason) => {
    if (reason !== "the driver is done")
      process.stderr.write(`rayts: connection to the head closed: ${reason}\n`);
  });
}
