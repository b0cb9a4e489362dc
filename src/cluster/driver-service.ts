/**
 * Serving drivers on a node [Ray's core worker ⇄ raylet link, for drivers]: the head serves drivers,
 * and every node serves the head's node, which forwards tasks to it as a driver would. A driver's Peer says
 * `driver` first (its job's namespace and, on this machine, its entry script); the head answers with
 * a caller id of its own and the node's shm segment name, then serves the driver's `c` (cast) and
 * `r` (call) messages with the node's dispatch table. When the socket closes, everything the driver
 * held (references, pins) is released.
 *
 * @example
 * const drivers = new DriverService(node, log);
 * headService.serveDrivers((hello, peer) => drivers.accept(hello, peer));
 */
import { hostname } from "node:os";
import type { Node } from "../node.ts";
import type { CompiledRuntimeEnv } from "../options/runtime-env.ts";
import type { CallerId } from "../runtime/node-api.ts";
import { callNodeApi, castNodeApi } from "../runtime/node-api-dispatch.ts";
import {
  type CallReply,
  DRIVER_CALL,
  DRIVER_CAST,
  DRIVER_ENTRY,
  DRIVER_LOG,
  DRIVER_SHIP,
} from "../runtime/peer-link.ts";
import type { Payload } from "../runtime/protocol.ts";
import type { JobPackageRef } from "../shipping/job-package.ts";
import { isPackageHash, type PackageSource, placeFile, preparePackage } from "../shipping/package-cache.ts";
import { absoluteEnv } from "../shipping/ship-env.ts";
import type { Message } from "../transport/message.ts";
import { routeMessages } from "../transport/message-router.ts";
import type { Peer } from "../transport/peer.ts";
import { InvalidMessageError } from "../transport/transport-errors.ts";
import * as check from "./_validate.ts";

/** Remote drivers' caller ids start here, far above the node's worker ids. */
export const FIRST_DRIVER_CALLER = 1_000_000;

/** The head's answer to a driver's hello. */
export interface DriverWelcome {
  readonly callerId: CallerId;
  readonly nodeId: string;
  readonly shmName: string | undefined;
  readonly hostname: string;
  /** The node's address (`host:port`): the owner of the objects the driver makes. */
  readonly address?: string;
}

export class DriverService {
  readonly #node: Node;
  readonly #log: (line: string) => void;
  readonly #drivers = new Map<CallerId, Peer>();
  readonly #packages: PackageSource | undefined;
  #nextCaller = FIRST_DRIVER_CALLER;

  /** `packages`: where this node fetches job packages it does not hold (the head; none on the head). */
  constructor(node: Node, log: (line: string) => void, packages?: PackageSource) {
    this.#node = node;
    this.#log = log;
    this.#packages = packages;
    node.logRelay = (caller, taskId, text, err, actorId) => {
      const peer = this.#drivers.get(caller);
      if (peer === undefined) return false;
      peer.send(
        actorId === undefined
          ? { t: DRIVER_LOG, taskId, text, err }
          : { t: DRIVER_LOG, taskId, text, err, actorId },
      );
      return true;
    };
  }

  /** Drivers connected now. */
  get size(): number {
    return this.#drivers.size;
  }

  /** Handles a `driver` hello on `peer` and serves the driver from then on. */
  accept(hello: Message, peer: Peer): DriverWelcome {
    const namespace = check.str(hello.namespace, "namespace");
    const pid = check.int(hello.pid, "pid");
    const entryScript =
      hello.entryScript === undefined ? undefined : check.str(hello.entryScript, "entryScript", 4096);
    const cwd = hello.cwd === undefined ? undefined : check.str(hello.cwd, "cwd", 4096);
    const caller = this.#nextCaller++;
    if (entryScript !== undefined) this.#node.addEntryScript(entryScript);
    this.#drivers.set(caller, peer);
    peer.onMessage(
      routeMessages({
        [DRIVER_CAST]: (m) => this.#cast(caller, m, cwd),
        [DRIVER_CALL]: (m) => this.#call(caller, m),
        // Another node forwarding tasks registers its drivers' entry scripts here too.
        [DRIVER_ENTRY]: (m) => this.#entry(m),
        [DRIVER_SHIP]: (m) => this.#ship(m),
      }),
    );
    peer.onClose((reason) => {
      this.#drivers.delete(caller);
      this.#node.driverGone(caller);
      this.#log(`Driver ${caller} (pid ${pid}) disconnected: ${reason}`);
    });
    this.#log(`Driver ${caller} connected from ${peer.remote} (pid ${pid}, namespace ${namespace})`);
    return {
      callerId: caller,
      nodeId: this.#node.nodeId,
      shmName: this.#node.shmName,
      hostname: hostname(),
      address: this.#node.address,
    };
  }

  /** Closes every driver's connection (the head is stopping). */
  close(): void {
    for (const peer of this.#drivers.values()) peer.close("the head is stopping");
  }

  #cast(caller: CallerId, m: Message, cwd: string | undefined): void {
    const { method, args } = request(m);
    ownPayloads(method, args);
    if (cwd !== undefined) driverPaths(method, args, cwd);
    try {
      castNodeApi(this.#node, caller, method, args);
    } catch (err) {
      // A submission that fails seals its results with the error, as for a worker's.
      this.#node.castFailed(`driver ${caller}`, method, args, err);
    }
  }

  /**
   * An entry script, with the job's package: unpacked here (fetched by hash when missing) before the
   * answer, unless `local` (a driver on this node's machine: its paths work here as they are).
   */
  async #entry(m: Message): Promise<CallReply> {
    const path = check.str(m.path, "path", 4096);
    const pkg = m.pkg === undefined || m.pkg === null ? undefined : packageRef(m.pkg);
    try {
      // Known already (from its driver, or another node passing it on): nothing to prepare again.
      if (pkg !== undefined && this.#node.entryPackage(path)?.hash === pkg.hash) return {};
      if (pkg === undefined || m.local === true) {
        this.#node.addEntryScript(path, pkg);
        return {};
      }
      const dir = await preparePackage(pkg, this.#packages);
      this.#node.addEntryScript(path, pkg, dir);
      this.#log(`Job package ${pkg.hash} (${pkg.root}) ready in ${dir}`);
      return { v: dir };
    } catch (err) {
      this.#log(
        `Job package ${pkg?.hash} (${pkg?.root}) failed: ${err instanceof Error ? err.message : String(err)}`,
      );
      return { e: this.#errorBytes(err) };
    }
  }

  /** Something another node shipped here for a runtime environment: its path on this node. */
  async #ship(m: Message): Promise<CallReply> {
    if (!isPackageHash(m.hash)) throw new InvalidMessageError("Invalid hash: expected hex digits");
    const hash = m.hash;
    const size = check.int(m.size, "size");
    try {
      if (m.kind === "file") return { v: placeFile(hash, check.str(m.name, "name")) };
      if (m.kind !== "dir") throw new InvalidMessageError('Invalid kind: expected "dir" or "file"');
      const root = check.str(m.root, "root", 4096);
      return { v: await preparePackage({ hash, root, size }, undefined, false) };
    } catch (err) {
      if (err instanceof InvalidMessageError) throw err;
      return { e: this.#errorBytes(err) };
    }
  }

  #errorBytes(err: unknown): Uint8Array {
    const payload = this.#node.errorPayload(err instanceof Error ? err : new Error(String(err)));
    return (payload as Payload & { t: 0 }).bytes;
  }

  async #call(caller: CallerId, m: Message): Promise<CallReply> {
    const { method, args } = request(m);
    try {
      return { v: await callNodeApi(this.#node, caller, method, args) };
    } catch (err) {
      const payload = this.#node.errorPayload(err instanceof Error ? err : new Error(String(err)));
      return { e: (payload as Payload & { t: 0 }).bytes };
    }
  }
}

function packageRef(v: unknown): JobPackageRef {
  if (typeof v !== "object" || v === null)
    throw new InvalidMessageError("Invalid pkg: expected a job package");
  const o = v as Record<string, unknown>;
  if (!isPackageHash(o.hash)) throw new InvalidMessageError("Invalid pkg.hash: expected hex digits");
  const root = check.str(o.root, "pkg.root", 4096);
  if (!root.startsWith("/")) throw new InvalidMessageError("Invalid pkg.root: expected an absolute path");
  return { hash: o.hash, root, size: check.int(o.size, "pkg.size") };
}

function request(m: Message): { method: string; args: unknown[] } {
  if (typeof m.m !== "string") throw new InvalidMessageError("Invalid m: expected the method name");
  if (!Array.isArray(m.a)) throw new InvalidMessageError(`Invalid a of ${m.m}: expected an argument array`);
  return { method: m.m, args: m.a as unknown[] };
}

/**
 * Inline payloads decoded from a frame are views into the whole frame; the node keeps them and may
 * post them to a worker, which would clone the frame. Give each its own exact buffer.
 */
function ownPayloads(method: string, args: unknown[]): void {
  if (method === "putObject") args[1] = own(args[1]);
  else if (method === "submitTask" || method === "createActor" || method === "submitActorCall") {
    const spec = args[0] as { args?: unknown } | undefined;
    if (spec !== null && typeof spec === "object") spec.args = own(spec.args);
  }
}

/**
 * Relative paths in a driver's runtime environments name files where the driver runs, not where
 * this node runs: resolved against the driver's directory.
 */
function driverPaths(method: string, args: unknown[], cwd: string): void {
  if (method !== "submitTask" && method !== "createActor") return;
  const spec = args[0] as { opts?: { runtimeEnv?: unknown } } | undefined;
  const env = spec?.opts?.runtimeEnv;
  if (env === null || typeof env !== "object") return;
  (spec?.opts as { runtimeEnv: unknown }).runtimeEnv = absoluteEnv(env as CompiledRuntimeEnv, cwd);
}

function own(p: unknown): unknown {
  const bytes = (p as { t?: unknown; bytes?: unknown } | undefined)?.bytes;
  if ((p as { t?: unknown } | undefined)?.t !== 0 || !(bytes instanceof Uint8Array)) return p;
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return p;
  return { t: 0, bytes: bytes.slice() };
}
