/**
 * How code reaches workers. `remote(fn)` records where it was called from (the module) and a hash of
 * the source; a worker imports that module, whose own `remote()` calls register the very same
 * functions with their imports and top-level constants intact. Driver code in the entry script is
 * halted while a worker loads it (see `loading-mode.ts`). Functions that no module import registers
 * (a `remote()` inside `main()`, say) are rebuilt from their source text: inside their module's scope
 * when the module registered an evaluator (the entry script does, see `loader/entry-loader.ts`), else
 * on their own.
 */
import { readFileSync } from "node:fs";
import { isFilteredEntry } from "../loader/entry-loader.ts";
import { depthAt } from "./entry-filter.ts";
import type { FunctionDescriptor } from "./protocol.ts";

const registry = new Map<string, unknown>();
const occurrences = new Map<string, number>();
const registeredWaiters = new Map<string, Array<() => void>>();
const moduleLoads = new Map<string, Promise<void>>();
const srcRoot = new URL("..", import.meta.url).pathname;
/**
 * Job packages unpacked on this node: module paths under a package's root on the driver's machine
 * load from its copy here (`dir`), and functions registered from the copy get the driver's paths in
 * their ids, so descriptors mean the same module on every node.
 */
const moduleRoots = new Map<string, string>();
/** Direct-`eval` evaluators of modules loaded through the entry filter, by the driver's path. */
const scopes = new Map<string, (src: string) => unknown>();
const scopeWaiters = new Map<string, Array<() => void>>();

/** Called by the hook the entry filter puts at the top of an entry script (see `entry-loader.ts`). */
function registerScope(file: string, evaluator: (src: string) => unknown): void {
  const path = sharedModulePath(file);
  if (!scopes.has(path)) scopes.set(path, evaluator);
  const ws = scopeWaiters.get(path);
  scopeWaiters.delete(path);
  for (const w of ws ?? []) w();
}
(globalThis as Record<symbol, unknown>)[Symbol.for("rayts.scope")] = registerScope;

/** Maps modules under `root` (a directory on the driver's machine) to `dir` (its copy on this node). */
export function addModuleRoot(root: string, dir: string): void {
  moduleRoots.set(root, dir);
}

/** Where `module` (a path on the driver's machine) loads from on this node. */
export function localModulePath(module: string): string {
  for (const [root, dir] of moduleRoots) {
    if (module.startsWith(`${root}/`)) return dir + module.slice(root.length);
  }
  return module;
}

/** The driver's path of a module this node loaded from a package copy (else `file` itself). */
function sharedModulePath(file: string): string {
  for (const [root, dir] of moduleRoots) {
    if (file.startsWith(`${dir}/`)) return root + file.slice(dir.length);
  }
  return file;
}

/** Makes the descriptor of a function or class given to `remote()` and registers it in this thread. */
export function describe(
  target: object,
  kind: "function" | "class",
  callerStack: string | undefined,
): FunctionDescriptor {
  const source = Function.prototype.toString.call(target);
  const caller = callerFrame(callerStack);
  // A remote() reached through another function (a factory, a loop body, main()) closes over that
  // call's variables, which a worker cannot see: such functions are rebuilt from their source, so
  // they run with their own code only or fail clearly, never with values a worker made up.
  const site = caller === undefined ? "top" : callSite(caller);
  const module = caller !== undefined && site === "top" ? sharedModulePath(caller.file) : undefined;
  // A remote( written inside a function of the module: rebuilt in the module's scope where it can be,
  // so the module's imports, helpers and constants resolve and only the enclosing call's locals fail.
  const scope = caller !== undefined && site === "nested" ? sharedModulePath(caller.file) : undefined;
  const base = `${module ?? (scope === undefined ? "<eval>" : `<eval>@${scope}`)}|${Bun.hash(source).toString(16)}`;
  const n = (occurrences.get(base) ?? 0) + 1;
  occurrences.set(base, n);
  const id = `${base}|${n}`;
  const name = (target as { name?: string }).name || (kind === "class" ? "AnonymousActor" : "anonymous");
  const ctor = (target as { constructor?: { name?: string } }).constructor?.name;
  const generator =
    kind === "function" && (ctor === "GeneratorFunction" || ctor === "AsyncGeneratorFunction");
  if (module !== undefined) register(id, target);
  return scope === undefined
    ? { id, module, source, name, kind, generator }
    : { id, module, source, name, kind, generator, scope };
}

function register(id: string, target: unknown): void {
  if (!registry.has(id)) registry.set(id, target);
  const ws = registeredWaiters.get(id);
  if (ws !== undefined) {
    registeredWaiters.delete(id);
    for (const w of ws) w();
  }
}

interface Frame {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** Where `remote()` was called: the first stack frame outside rayts' own sources. */
function callerFrame(stack: string | undefined): Frame | undefined {
  if (stack === undefined) return undefined;
  for (const text of stack.split("\n")) {
    const m = /\(?((?:file:\/\/)?\/[^()\s]*?):(\d+):(\d+)\)?\s*$/.exec(text);
    if (m === null) continue;
    let file = m[1] ?? "";
    if (file.startsWith("file://")) file = decodeURIComponent(file.slice(7));
    if (file.startsWith(srcRoot) || file.startsWith("/$bunfs/") || file.includes("/~BUN/")) continue;
    return { file, line: Number(m[2]), column: Number(m[3]) };
  }
  return undefined;
}

const sources = new Map<string, string | undefined>();

/**
 * Where the frame's call is: `top` for a `remote(` call written at bracket depth 0 of a top-level
 * statement of its module (`const f = remote(…)`, or a source that cannot be read), `nested` for a
 * `remote(` call inside a function body or block of the module, `other` for a frame that is not a
 * `remote(` call at all (reached through a helper, or a factory's tail call).
 */
function callSite(f: Frame): "top" | "nested" | "other" {
  let source = sources.get(f.file);
  if (!sources.has(f.file)) {
    try {
      source = readFileSync(f.file, "utf8");
    } catch {
      source = undefined;
    }
    sources.set(f.file, source);
  }
  if (source === undefined) return "top";
  let offset = 0;
  for (let l = 1; l < f.line; l++) {
    const nl = source.indexOf("\n", offset);
    if (nl < 0) return "top";
    offset = nl + 1;
  }
  offset += f.column - 1;
  const callee = /^[A-Za-z_$][\w$]*/.exec(source.slice(offset, offset + 64))?.[0];
  if (callee !== "remote") return "other";
  return depthAt(source, offset) === 0 ? "top" : "nested";
}

/**
 * The function or class a descriptor names if it is registered in this thread already (what
 * {@link resolve} would find first), without waiting a turn; undefined otherwise.
 */
export function resolvedNow(desc: FunctionDescriptor): unknown {
  return registry.get(desc.id);
}

/**
 * Resolves a descriptor to the function or class in this thread: already registered, registered by
 * importing its module, or evaluated from source as a last resort.
 */
export async function resolve(desc: FunctionDescriptor): Promise<{ target: unknown; evaluated: boolean }> {
  const found = registry.get(desc.id);
  if (found !== undefined) return { target: found, evaluated: desc.module === undefined };
  if (desc.module !== undefined) {
    await loadModule(desc.module, desc.id);
    const loaded = registry.get(desc.id);
    if (loaded !== undefined) return { target: loaded, evaluated: false };
  }
  const inScope = desc.scope === undefined ? undefined : await scopeOf(desc.scope);
  const target = inScope === undefined ? evaluate(desc) : evaluateIn(inScope, desc);
  registry.set(desc.id, target);
  return { target, evaluated: true };
}

/**
 * Starts importing a module ahead of need (a worker preloads the driver's entry script as soon as it
 * starts, in parallel with the driver, so the first task does not wait for it).
 */
export function preloadModule(module: string): void {
  void startLoad(module);
}

function loadModule(module: string, id: string): Promise<void> {
  return Promise.race([startLoad(module), registered(id)]);
}

function startLoad(module: string): Promise<void> {
  let load = moduleLoads.get(module);
  if (load === undefined) {
    // The import may never settle (top-level `await get(…)` is halted forever in loading mode), so
    // wait for it only until it settles or halts; registrations made before that point are kept.
    load = import(localModulePath(module)).then(
      () => {},
      () => {},
    );
    moduleLoads.set(module, load);
  }
  return load;
}

function registered(id: string): Promise<void> {
  return new Promise((resolve) => {
    const ws = registeredWaiters.get(id);
    if (ws === undefined) registeredWaiters.set(id, [resolve]);
    else ws.push(resolve);
  });
}

/**
 * The evaluator of a module loaded through the entry filter (this thread's entry scripts), loading the
 * module if needed; undefined for other modules, which have none.
 */
async function scopeOf(module: string): Promise<((src: string) => unknown) | undefined> {
  const found = scopes.get(module);
  if (found !== undefined || !isFilteredEntry(localModulePath(module))) return found;
  // The hook runs first in the module's body, before any halt, so one of the two always settles.
  await Promise.race([
    startLoad(module),
    new Promise<void>((resolve) => {
      const ws = scopeWaiters.get(module);
      if (ws === undefined) scopeWaiters.set(module, [resolve]);
      else ws.push(resolve);
    }),
  ]);
  return scopes.get(module);
}

/**
 * Rebuilds a closure inside its module's scope. A top-level declaration (or import) of the module with
 * the same name and source is that very function or class; anything else is evaluated there, so it
 * sees the module's bindings but not the locals of the function that made it.
 */
function evaluateIn(scope: (src: string) => unknown, desc: FunctionDescriptor): unknown {
  if (/^[A-Za-z_$][\w$]*$/.test(desc.name)) {
    try {
      const named = scope(desc.name);
      if (typeof named === "function" && Function.prototype.toString.call(named) === desc.source)
        return named;
    } catch {
      // Not a binding of the module (or not initialized yet): evaluate the source below.
    }
  }
  try {
    return scope(`"use strict"; (${desc.source});`);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    const holder = scope(`"use strict"; ({${desc.source}});`) as Record<string, unknown> | undefined;
    const first = holder === undefined ? undefined : Object.values(holder)[0];
    if (first === undefined)
      throw new TypeError(`Cannot load ${desc.name} on the worker: its source is not a function`);
    return first;
  }
}

function evaluate(desc: FunctionDescriptor): unknown {
  const src = desc.source;
  try {
    return new Function(`"use strict"; return (${src});`)();
  } catch {
    // A method shorthand (`name(x) { … }`) is not an expression on its own.
    const holder = new Function(`"use strict"; return ({${src}});`)() as Record<string, unknown>;
    const first = Object.values(holder)[0];
    if (first === undefined)
      throw new TypeError(`Cannot load ${desc.name} on the worker: its source is not a function`);
    return first;
  }
}

/**
 * A module's driver code halted on this worker: no more registrations will come from it, so wake
 * every waiter (each re-checks the registry, then falls back to the source). Deferred one macrotask so
 * registrations made synchronously before the halt are already in.
 */
export function moduleHalted(): void {
  setTimeout(() => {
    for (const [id, ws] of registeredWaiters) {
      registeredWaiters.delete(id);
      for (const w of ws) w();
    }
  }, 0);
}

/**
 * Turns a ReferenceError raised by remote code into one that says how to fix it: the identifier did
 * not reach the worker.
 */
export function explainReferenceError(err: unknown, desc: FunctionDescriptor, evaluated: boolean): unknown {
  if (!(err instanceof ReferenceError)) return err;
  const m =
    /^(?:Can't find variable: |Cannot access ')?([\w$]+)(?:' before initialization| is not defined)?/.exec(
      err.message,
    );
  const ident = m?.[1] ?? "an identifier";
  const where = evaluated
    ? desc.module !== undefined
      ? `${desc.name} in ${desc.module} is defined after the module's first .remote(), put, get or wait call, where workers stop running its top level, so it was rebuilt from its source text alone`
      : desc.scope !== undefined
        ? `${desc.name} is made by a remote() call inside a function or block of ${desc.scope} (a factory, a loop, main()), so it closes over that call's variables, which do not travel; it was rebuilt from its source text in that module's scope, where its imports, helpers and top-level constants are, but not the locals of the code that made it`
        : `${desc.name} is made by a remote() call inside a function (a factory, a loop, main()), so it closes over that call's variables, which do not travel; it was rebuilt from its source text alone`
    : `${desc.name} was loaded from ${desc.module}`;
  const fix = evaluated
    ? desc.module !== undefined
      ? `move the remote() definition (and what it uses) above that first call, or put the driver code inside if (import.meta.main) { … }`
      : `write const ${desc.name === "anonymous" ? "f" : desc.name} = remote(…) at the top level of its module, and pass "${ident}" as an argument or make it a top-level constant`
    : `define or import "${ident}" at the top level of that module, before the script's first .remote(), put, get or wait`;
  const wrapped = new ReferenceError(`Remote code cannot reach "${ident}" on the worker: ${where}; ${fix}`, {
    cause: err,
  });
  wrapped.stack = `${wrapped.name}: ${wrapped.message}\n${(err.stack ?? "").split("\n").slice(1).join("\n")}`;
  return wrapped;
}
