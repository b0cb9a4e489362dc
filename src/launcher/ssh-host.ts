/**
 * The ssh provider's host: an existing machine reached with the system's `ssh` client. rayts copies
 * its own binary there once per content hash (`~/.rayts/bin/rayts-<hash>`, with `~/.rayts/bin/rayts`
 * pointing at the newest), so nothing needs installing, and runs the host agent with that binary
 * (`rayts __launcher-host`). Everything travels over ssh's stdin/stdout: no scp or sftp needed.
 */
import { existsSync, statSync } from "node:fs";
import { RaytsError } from "../errors.ts";
import type { SshAuth } from "./cluster-config.ts";
import type { ClusterHost } from "./cluster-host.ts";
import { type AgentRequest, type AgentResult, RESULT_MARK } from "./host-agent.ts";
import { type CommandResult, runStreamed, STDOUT } from "./node-output.ts";

/** The rayts binary the ssh provider copies, and its content hash. */
export interface RaytsBinary {
  readonly path: string;
  readonly hash: string;
}

/**
 * This program's compiled binary: the running executable when compiled, else `dist/rayts` of the
 * sources being run. Throws a clear error when there is none.
 */
export async function findRaytsBinary(): Promise<RaytsBinary> {
  let path: string;
  if (Bun.isStandaloneExecutable) path = process.execPath;
  else {
    path = new URL("../../dist/rayts", import.meta.url).pathname;
    if (!existsSync(path)) {
      throw new RaytsError(
        `The ssh provider copies the compiled rayts binary to each host, and this rayts runs from sources without ${path}: build it with \`bun run build\` or run the compiled rayts`,
      );
    }
  }
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return { path, hash: hasher.digest("hex").slice(0, 20) };
}

/** `uname -s` and `uname -m` for this process's platform and architecture. */
const PLATFORMS: Record<string, string> = { linux: "Linux", darwin: "Darwin" };
const ARCHES: Record<string, string> = {
  x64: "x86_64",
  arm64: process.platform === "darwin" ? "arm64" : "aarch64",
};

/** `s` quoted for a POSIX shell. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A remote path for the remote shell: `~/x` becomes `"$HOME"/x`, the rest is quoted. */
export function remotePath(path: string): string {
  if (path === "~") return `"$HOME"`;
  if (path.startsWith("~/")) return `"$HOME"/${shellQuote(path.slice(2))}`;
  return shellQuote(path);
}

export class SshHost implements ClusterHost {
  readonly address: string;
  readonly binary: string;
  readonly #auth: SshAuth;
  readonly #local: RaytsBinary;
  /** The binary's path there, for the remote shell. */
  readonly #remoteBin: string;

  constructor(address: string, auth: SshAuth, binary: RaytsBinary) {
    if (Bun.which("ssh") === null) {
      throw new RaytsError("The ssh provider needs the ssh client on this machine: install openssh-client");
    }
    this.address = address;
    this.#auth = auth;
    this.#local = binary;
    this.binary = binary.hash;
    this.#remoteBin = `"$HOME"/.rayts/bin/rayts-${binary.hash}`;
  }

  /** The `ssh` command line running `command` there. */
  sshCommand(command: string, tty = false): string[] {
    const a = this.#auth;
    return [
      "ssh",
      ...["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"],
      ...["-o", "BatchMode=yes", "-o", "ConnectTimeout=20", "-p", String(a.port)],
      ...(a.privateKey === undefined ? [] : ["-i", a.privateKey, "-o", "IdentitiesOnly=yes"]),
      ...(tty ? ["-t"] : []),
      `${a.user}@${this.address}`,
      command,
    ];
  }

  async prepare(prefix: string): Promise<void> {
    const bin = this.#remoteBin;
    const link = `ln -sfn rayts-${this.binary} "$HOME"/.rayts/bin/rayts`;
    const check = await runStreamed(
      this.sshCommand(`echo "@@uname $(uname -sm)"; test -x ${bin} && ${link} && echo present`),
      { prefix, hide: (line) => line === "present" || line.startsWith("@@uname ") },
    );
    if (check.code === 255) throw this.#unreachable(check);
    const uname = check.stdout.find((l) => l.startsWith("@@uname "))?.slice("@@uname ".length);
    const mine = `${PLATFORMS[process.platform] ?? process.platform} ${ARCHES[process.arch] ?? process.arch}`;
    if (uname !== undefined && uname !== mine) {
      throw new RaytsError(
        `${this.address} is ${uname} and this rayts binary is for ${mine}: run rayts up from a machine of the same kind (the binary is copied as it is)`,
      );
    }
    if (check.stdout.includes("present")) {
      STDOUT(`${prefix}rayts ${this.binary} is already there; not copied`);
      return;
    }
    const size = statSync(this.#local.path).size;
    STDOUT(`${prefix}copying rayts ${this.binary} (${Math.round(size / 1048576)} MiB)`);
    const part = `${bin}.part.$$`;
    const copy = await runStreamed(
      this.sshCommand(
        `mkdir -p "$HOME"/.rayts/bin && cat > ${part} && chmod 755 ${part} && mv -f ${part} ${bin} && ${link}`,
      ),
      { prefix, input: Bun.file(this.#local.path) },
    );
    if (copy.code !== 0) {
      throw new RaytsError(
        `Copying rayts to ${this.address} failed (exit code ${copy.code}): ${copy.stderr.join(" ").trim() || "no output"}`,
      );
    }
  }

  run(command: string, prefix: string): Promise<CommandResult> {
    return runStreamed(this.sshCommand(`cd "$HOME" && ${command}`), { prefix });
  }

  async agent(req: AgentRequest, prefix: string): Promise<AgentResult> {
    const r = await runStreamed(this.sshCommand(`${this.#remoteBin} __launcher-host`), {
      prefix,
      input: JSON.stringify(req),
      hide: (line) => line.startsWith(RESULT_MARK),
    });
    if (r.code === 255) throw this.#unreachable(r);
    const line = r.stdout.findLast((l) => l.startsWith(RESULT_MARK));
    if (r.code !== 0 || line === undefined) {
      throw new RaytsError(
        `rayts on ${this.address} failed (exit code ${r.code}): ${r.stderr.join("\n").trim() || "no output"}`,
      );
    }
    return JSON.parse(line.slice(RESULT_MARK.length)) as AgentResult;
  }

  async mount(remote: string, local: string): Promise<void> {
    const target = remotePath(remote);
    let r: CommandResult;
    if (statSync(local).isDirectory()) {
      const tar = Bun.spawn(["tar", "-C", local, "-cf", "-", "."], { stdout: "pipe", stderr: "pipe" });
      r = await runStreamed(this.sshCommand(`mkdir -p ${target} && tar -C ${target} -xf -`), {
        prefix: "",
        input: tar.stdout,
      });
      if ((await tar.exited) !== 0) {
        throw new RaytsError(`Cannot pack ${local}: ${(await new Response(tar.stderr).text()).trim()}`);
      }
    } else {
      r = await runStreamed(this.sshCommand(`mkdir -p "$(dirname ${target})" && cat > ${target}`), {
        prefix: "",
        input: Bun.file(local),
      });
    }
    if (r.code !== 0) {
      throw new RaytsError(
        `Copying ${local} to ${this.address}:${remote} failed (exit code ${r.code}): ${r.stderr.join(" ").trim() || "no output"}`,
      );
    }
  }

  async exec(command: string, env: Record<string, string>): Promise<number> {
    const exports = Object.entries(env)
      .map(([k, v]) => `export ${k}=${shellQuote(v)}; `)
      .join("");
    const script = `${exports}export PATH="$HOME/.rayts/bin:$PATH"; cd "$HOME" && ${command}`;
    const proc = Bun.spawn(this.sshCommand(script, process.stdin.isTTY === true), {
      stdio: ["inherit", "inherit", "inherit"],
    });
    return proc.exited;
  }

  #unreachable(r: CommandResult): RaytsError {
    return new RaytsError(
      `Cannot reach ${this.#auth.user}@${this.address}:${this.#auth.port} over ssh: ${r.stderr.join(" ").trim() || "ssh exited with 255"}; check provider and auth in the cluster file`,
    );
  }
}
