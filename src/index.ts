/**
 * Module `rayts`: Ray's distributed computing model for TypeScript. Tasks (`remote(fn)`), actors
 * (`remote(Class)`), a shared-memory object store (`put`, `get`, `wait`) and a cluster that starts
 * inside your process when you run `rayts job.ts`.
 *
 * @example
 * import { get, remote } from "rayts";
 * const square = remote((x: number) => x * x);
 * console.log(await get([1, 2, 3].map((x) => square.remote(x)))); // [1, 4, 9]
 */
import "./runtime/driver-start.ts";

export * from "./public-api.ts";
