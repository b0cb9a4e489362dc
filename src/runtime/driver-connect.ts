/**
 * A driver connected to a running cluster [Ray's `ray.init(address=…)`]: finds the address and the
 * token (see `cluster/discovery.ts`), checks the token, opens the control socket to the head, says
 * `driver` (its namespace and entry script), and attaches the head node's shm segment, so on the same
 * machine `get` of a large object is a view over shared memory and `put` writes straight into it.
 */
import { hostname } from "node:os";
import { getEntryScript } from "../cli/entry-script.ts";
import { resolveAddress, resolveToken } from "../cluster/discovery.ts";
import type { DriverWelcome } from "../cluster/driver-service.ts";
import { ObjectStoreFullError, RaytsError } from "../errors.ts";
import { validateInitOptions } from "../options/compile.ts";
import type { InitOptions } from "../options/types.ts";
import { ShmArena } from "../store/shm-arena.ts";
import { checkToken } from "../transport/client-peer.ts";
import type { Peer } from "../transport/peer.ts";
import { connectPeerOffThread } from "../transport/thread-peer.ts";
import { UnauthorizedError } from "../transport/transport-errors.ts";
import { makeActorHandle } from "./actor-handle.ts";
import type { StartedDriver } from "./context.ts";
import { Core } from "./core.ts";
import { randomId } from "./ids.ts";
import { PeerLink } from "./peer-link.ts";
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
  try {
    welcome = (await peer.request({
      t: "driver",
      namespace,
      pid: process.pid,
      entryScript: getEntryScript(),
    })) as DriverWelcome;
    arena = attach(address, welcome);
  } catch (err) {
    peer.close("the driver could not start");
    throw err instanceof RaytsError
      ? err
      : new RaytsError(`Cannot connect to ${address}: ${err instanceof Error ? err.message : String(err)}`, {
          cause: err,
        });
  }
  const link = new PeerLink(peer, welcome.nodeId, arena?.headerAddress ?? 0);
  warnOnErrors(peer);
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
  setJobRuntimeEnv(core, o.runtimeEnv);
  return {
    core,
    embedded: undefined,
    // The mapping stays: zero-copy views handed out may outlive the runtime (they must stay valid).
    stop: () => link.close(),
  };
}

/** The head node's segment, attached (drivers on another machine are not supported yet). */
function attach(address: string, welcome: DriverWelcome): ShmArena | undefined {
  if (welcome.shmName === undefined) return undefined;
  if (welcome.hostname !== hostname()) {
    throw new RaytsError(
      `Cannot connect to ${address}: the head runs on ${welcome.hostname}, and drivers on another machine are not supported yet; run the driver on the head's machine`,
    );
  }
  return ShmArena.attach(welcome.shmName);
}

function warnOnErrors(peer: Peer): void {
  peer.onError((err) => process.stderr.write(`rayts: warning: the head refused a request: ${err.message}\n`));
  peer.onClose((reason) => {
    if (reason !== "the driver is done")
      process.stderr.write(`rayts: connection to the head closed: ${reason}\n`);
  });
}
