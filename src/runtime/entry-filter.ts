/**
 * Driver code never runs twice. Workers import the driver's entry script to find its remote
 * functions; before that import, this filter blanks the script's top-level statements that are not
 * declarations (expression statements such as `main()` or `console.log(…)`, `if`/`for`/`try`
 * blocks, top-level `await`s), keeping imports, exports, functions, classes, enums and variable
 * declarations. Blanked statements become spaces, so line and column numbers (stack traces) and the
 * source text of every kept function (their identity on workers) stay exactly the driver's.
 *
 * It is a tokenizer, not a parser: it tracks strings, template literals, comments, regular
 * expressions and bracket depth to find where each top-level statement starts and ends, with the
 * usual newline rule for scripts without semicolons.
 */

const KEEP = new Set([
  "import",
  "export",
  "function",
  "class",
  "const",
  "let",
  "var",
  "enum",
  "interface",
  "type",
  "declare",
  "namespace",
  "module",
  "abstract",
  "async",
]);

/** Tokens after which a `/` starts a regular expression rather than a division. */
const REGEX_AFTER = new Set([
  "(",
  ",",
  "=",
  ":",
  "[",
  "!",
  "&",
  "|",
  "?",
  "{",
  "}",
  ";",
  "+",
  "-",
  "*",
  "%",
  "<",
  ">",
  "~",
  "^",
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
  "=>",
  "",
]);

/** Characters that, starting the next line, continue the current statement. */
const CONTINUES = new Set([
  ".",
  ",",
  "?",
  ":",
  "+",
  "-",
  "*",
  "/",
  "%",
  "&",
  "|",
  "^",
  "=",
  "<",
  ">",
  "(",
  "[",
  "`",
]);

interface Statement {
  readonly start: number;
  readonly end: number;
  readonly first: string;
  /** An `await` at bracket depth 0 of the statement: driver code waiting for results. */
  readonly drives: boolean;
}

/** The source with every top-level non-declaration statement replaced by whitespace. */
export function stripDriverCode(source: string): string {
  const out = source.split("");
  for (const st of topLevelStatements(source)) {
    if (keeps(st, source)) continue;
    for (let i = st.start; i < st.end; i++) if (out[i] !== "\n" && out[i] !== "\r") out[i] = " ";
  }
  return out.join("");
}

/**
 * The statements `stripDriverCode` blanks, as one never-called async function to append to the
 * stripped script: the TypeScript transpiler drops imports that nothing uses as a value, so an import
 * used only by driver code (`if (import.meta.main) { … remote(() => basename(p)) … }`) would be missing
 * on the worker, where closures written there are rebuilt in the module's scope. Inside the function
 * the code uses every import exactly as the driver's copy does; it never runs.
 */
export function driverCodeHolder(source: string, name: string): string {
  // Runs of blanked statements with no kept one between them are copied as one slice of the source
  // (an `if` and its `else` may be split into two statements).
  const parts: string[] = [];
  let run: { start: number; end: number } | undefined;
  for (const st of topLevelStatements(source)) {
    if (keeps(st, source)) {
      if (run !== undefined) parts.push(source.slice(run.start, run.end));
      run = undefined;
    } else if (run === undefined) run = { start: st.start, end: st.end };
    else run.end = st.end;
  }
  if (run !== undefined) parts.push(source.slice(run.start, run.end));
  if (parts.length === 0) return "";
  return `\n;async function ${name}() {\n${parts.join("\n;\n")}\n}\n`;
}

function keeps(st: Statement, source: string): boolean {
  // `const x = await get(…)` is driver code even though it declares: it would wait forever on a
  // worker. (`const r = f.remote()` may stay: on a worker it submits nothing and goes on.)
  if (st.drives && ["const", "let", "var"].includes(st.first)) return false;
  if (st.first === "@") return true; // a decorated class
  if (st.first === "async") return /^async\s+function\b/.test(source.slice(st.start, st.start + 40));
  if (st.first === "let") return /^let\s*[[{\w$]/.test(source.slice(st.start, st.start + 8));
  return KEEP.has(st.first);
}

/**
 * Bracket depth (parentheses, brackets, braces) at `offset`, or -1 when `offset` is inside a string,
 * comment or regular expression. Used to tell a `remote(…)` call at a module's top level from one
 * inside a function body (a closure over that call's variables).
 */
export function depthAt(source: string, offset: number): number {
  const probe = { offset, depth: -1 };
  topLevelStatements(source, probe);
  return probe.depth;
}

/** Splits source into top-level statements (comments and blank space between them belong to none). */
export function topLevelStatements(source: string, probe?: { offset: number; depth: number }): Statement[] {
  const statements: Statement[] = [];
  const n = source.length;
  let i = 0;
  let depth = 0;
  let start = -1;
  let first = "";
  let drives = false;
  let prev = ""; // previous significant token, for the regex rule
  let sawNewline = false;
  const templateDepths: number[] = [];

  const end = (at: number) => {
    if (start >= 0) statements.push({ start, end: at, first, drives });
    start = -1;
    first = "";
    drives = false;
  };

  while (i < n) {
    if (probe !== undefined && probe.depth < 0 && i >= probe.offset) {
      if (i === probe.offset) probe.depth = depth;
      probe.offset = Number.POSITIVE_INFINITY;
    }
    const c = source[i] as string;
    // Whitespace and newlines.
    if (c === "\n") {
      sawNewline = true;
      i++;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\v" || c === "\uFEFF") {
      i++;
      continue;
    }
    // Comments.
    if (c === "/" && source[i + 1] === "/") {
      while (i < n && source[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && source[i + 1] === "*") {
      const close = source.indexOf("*/", i + 2);
      if (source.slice(i, close < 0 ? n : close).includes("\n")) sawNewline = true;
      i = close < 0 ? n : close + 2;
      continue;
    }
    if (c === "#" && i === 0 && source[1] === "!") {
      while (i < n && source[i] !== "\n") i++;
      continue;
    }
    // A newline at depth 0 ends a statement unless the next token continues it.
    if (sawNewline && depth === 0 && start >= 0 && !CONTINUES.has(c) && !continuesAfter(prev)) {
      end(lastNonSpace(source, i));
    }
    sawNewline = false;
    if (depth === 0 && start < 0) {
      if (c === ";") {
        i++;
        prev = ";";
        continue;
      }
      start = i;
      first = /[A-Za-z_$]/.test(c) ? (/^[A-Za-z_$][\w$]*/.exec(source.slice(i, i + 32))?.[0] ?? c) : c;
    }
    // Strings.
    if (c === '"' || c === "'") {
      i = skipString(source, i, c);
      prev = "str";
      continue;
    }
    if (c === "`") {
      i = skipTemplate(source, i + 1, templateDepths, depth);
      if (templateDepths.length > 0 && templateDepths[templateDepths.length - 1] === -1) {
        templateDepths.pop();
        depth++;
        templateDepths.push(depth);
      }
      prev = "str";
      continue;
    }
    if (c === "/" && REGEX_AFTER.has(prev)) {
      i = skipRegex(source, i);
      prev = "regex";
      continue;
    }
    if (c === "(" || c === "[" || c === "{") {
      depth++;
      prev = c;
      i++;
      continue;
    }
    if (c === ")" || c === "]" || c === "}") {
      if (c === "}" && templateDepths.length > 0 && templateDepths[templateDepths.length - 1] === depth) {
        // The end of a `${…}` substitution: back inside the template literal.
        templateDepths.pop();
        depth--;
        i = skipTemplate(source, i + 1, templateDepths, depth);
        if (templateDepths.length > 0 && templateDepths[templateDepths.length - 1] === -1) {
          templateDepths.pop();
          depth++;
          templateDepths.push(depth);
        }
        prev = "str";
        continue;
      }
      depth = Math.max(0, depth - 1);
      prev = c;
      i++;
      // A block statement or declaration body closing at depth 0 ends the statement.
      if (depth === 0 && c === "}" && start >= 0 && endsAtBrace(source, start, first, i)) end(i);
      continue;
    }
    if (c === ";" && depth === 0) {
      i++;
      end(i);
      prev = ";";
      continue;
    }
    const word = /^[A-Za-z_$][\w$]*/.exec(source.slice(i, i + 64));
    if (word !== null) {
      const w = word[0];
      // At depth 0 (outside every bracket, so outside every function and class body) the
      // statement itself waits for results: `const x = await get(…)`.
      if (depth === 0 && w === "await") drives = true;
      prev = w;
      i += w.length;
      continue;
    }
    const num = /^\d[\w.]*/.exec(source.slice(i, i + 64));
    if (num !== null) {
      prev = "num";
      i += num[0].length;
      continue;
    }
    const two = source.slice(i, i + 2);
    prev = two === "=>" || two === "++" || two === "--" ? two : c;
    i += prev.length;
  }
  end(lastNonSpace(source, n));
  return statements;
}

/** Statements whose closing `}` at depth 0 ends them (no `;` follows a function or class body). */
function endsAtBrace(source: string, start: number, first: string, after: number): boolean {
  const block = [
    "function",
    "class",
    "if",
    "for",
    "while",
    "try",
    "switch",
    "enum",
    "interface",
    "namespace",
    "module",
    "do",
    "{",
  ];
  if (block.includes(first)) {
    // `if (…) {…} else {…}`, `try {…} catch {…}` and `do {…} while (…)` go on past this brace.
    return !/^\s*(else|catch|finally|while)\b/.test(source.slice(after, after + 40));
  }
  if (
    first === "export" ||
    first === "async" ||
    first === "abstract" ||
    first === "declare" ||
    first === "@"
  ) {
    return /^(export\s+(default\s+)?)?(declare\s+)?(abstract\s+)?(async\s+)?(function|class|enum|interface|namespace)\b/.test(
      source.slice(start, start + 80),
    );
  }
  return false;
}

/** Tokens after which a newline does not end the statement (an operator or an opening bracket). */
const CONTINUES_AFTER = new Set([
  "=",
  "+",
  "-",
  "*",
  "/",
  "%",
  "&",
  "|",
  "^",
  ",",
  ".",
  "?",
  ":",
  "<",
  ">",
  "!",
  "=>",
  "(",
  "[",
  "{",
]);

function continuesAfter(prev: string): boolean {
  return CONTINUES_AFTER.has(prev);
}

function lastNonSpace(source: string, at: number): number {
  let j = at;
  while (j > 0 && /\s/.test(source[j - 1] as string)) j--;
  return j;
}

function skipString(source: string, i: number, quote: string): number {
  let j = i + 1;
  while (j < source.length) {
    const c = source[j];
    if (c === "\\") j += 2;
    else if (c === quote || c === "\n") return j + 1;
    else j++;
  }
  return j;
}

/**
 * Skips template text from `i` (just after a backtick or a substitution's `}`): returns the index
 * after the closing backtick, or after `${` (pushing -1 so the caller opens a substitution).
 */
function skipTemplate(source: string, i: number, stack: number[], _depth: number): number {
  let j = i;
  while (j < source.length) {
    const c = source[j];
    if (c === "\\") j += 2;
    else if (c === "`") return j + 1;
    else if (c === "$" && source[j + 1] === "{") {
      stack.push(-1);
      return j + 2;
    } else j++;
  }
  return j;
}

function skipRegex(source: string, i: number): number {
  let j = i + 1;
  let inClass = false;
  while (j < source.length) {
    const c = source[j];
    if (c === "\\") j += 2;
    else if (c === "\n") return j;
    else if (c === "[") {
      inClass = true;
      j++;
    } else if (c === "]") {
      inClass = false;
      j++;
    } else if (c === "/" && !inClass) {
      j++;
      while (j < source.length && /[a-z]/i.test(source[j] as string)) j++;
      return j;
    } else j++;
  }
  return j;
}
