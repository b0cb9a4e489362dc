/**
 * Gitignore-style patterns for `runtimeEnv.excludes`: `#` comments and blank lines are skipped, `!`
 * re-includes, a trailing `/` matches directories only, a pattern with a `/` elsewhere is anchored
 * at the root, one without matches a name at any depth; `*` and `?` stay within one path segment,
 * `**` crosses segments. The last pattern that matches decides.
 */

interface Rule {
  readonly re: RegExp;
  readonly negate: boolean;
  readonly dirOnly: boolean;
}

function globToRegExp(glob: string): string {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "*") {
      if (glob[i + 1] === "*") {
        // `**/` matches zero or more directories; a lone `**` anything.
        if (glob[i + 2] === "/") {
          out += "(?:.*/)?";
          i += 2;
        } else {
          out += ".*";
          i += 1;
        }
      } else out += "[^/]*";
    } else if (c === "?") out += "[^/]";
    else if (c === "\\" && i + 1 < glob.length) out += `\\${glob[++i]}`;
    else out += /[.+^${}()|[\]\\]/.test(c) ? `\\${c}` : c;
  }
  return out;
}

function compileRule(line: string): Rule | undefined {
  let p = line.trim();
  if (p === "" || p.startsWith("#")) return undefined;
  const negate = p.startsWith("!");
  if (negate) p = p.slice(1);
  const dirOnly = p.endsWith("/");
  if (dirOnly) p = p.replace(/\/+$/, "");
  const anchored = p.includes("/");
  p = p.replace(/^\/+/, "");
  if (p === "") return undefined;
  const body = globToRegExp(p);
  const re = new RegExp(anchored ? `^${body}$` : `^(?:.*/)?${body}$`);
  return { re, negate, dirOnly };
}

/** A predicate telling whether `relPath` (with `/` separators) is left out. */
export type Excluder = (relPath: string, isDir: boolean) => boolean;

/**
 * Compiles `patterns` once.
 *
 * @example
 * const excluded = compileExcludes(["*.log", "build/", "!keep.log"]);
 * excluded("a/b.log", false); // true
 */
export function compileExcludes(patterns: readonly string[]): Excluder {
  const rules = patterns.map(compileRule).filter((r): r is Rule => r !== undefined);
  return (relPath, isDir) => {
    let excluded = false;
    for (const r of rules) {
      if (r.dirOnly && !isDir) continue;
      if (r.re.test(relPath)) excluded = !r.negate;
    }
    return excluded;
  };
}
