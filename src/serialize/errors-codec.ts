import { raytsErrorClass } from "../errors.ts";

type ErrorCtor = new (message?: string, options?: { cause?: unknown }) => Error;

const builtins: Record<string, ErrorCtor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/**
 * Rebuilds an error that crossed the wire: rayts errors as their own class (so `instanceof` and
 * `code` work), builtin ones as the matching builtin, anything else as `Error` keeping its `name`.
 * The remote `stack` replaces the local one.
 */
export function rebuildError(
  name: string,
  message: unknown,
  stack: unknown,
  cause: { value: unknown } | undefined,
  props: Record<string, unknown>,
): Error {
  const text = typeof message === "string" ? message : String(message ?? "");
  const options = cause ? { cause: cause.value } : undefined;
  let error: Error;
  const rayts = raytsErrorClass(name);
  if (rayts) error = new rayts(text, options);
  else if (name === "AggregateError") {
    const errors = Array.isArray(props.errors) ? props.errors : [];
    error = new AggregateError(errors, text, options);
  } else error = new (Object.hasOwn(builtins, name) ? builtins[name]! : Error)(text, options);
  if (error.name !== name) define(error, "name", name, false);
  if (typeof stack === "string") define(error, "stack", stack, false);
  else if (stack === undefined) delete error.stack;
  for (const key of Object.keys(props)) {
    if (key === "errors" && name === "AggregateError") continue;
    define(error, key, props[key], true);
  }
  return error;
}

function define(target: object, key: string, value: unknown, enumerable: boolean): void {
  Object.defineProperty(target, key, { value, enumerable, writable: true, configurable: true });
}
