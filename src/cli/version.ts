/** The version of rayts, from package.json (inlined into the binary by the bundler). */
import pkg from "../../package.json" with { type: "json" };

/** `rayts --version` output, e.g. `rayts 0.1.0`. */
export const VERSION_LINE: string = `rayts ${pkg.version}`;
