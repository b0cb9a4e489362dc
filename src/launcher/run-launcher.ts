/** Shared by the `up`, `down` and `exec` commands: load the cluster file, run, report errors. */
import { RaytsError } from "../errors.ts";
import { type ClusterConfig, loadClusterConfig } from "./cluster-config.ts";
import * as launcher from "./launcher.ts";

/** Loads `file` and runs `body`; a rayts error is one line on stderr and exit code 1. */
export async function runLauncher(
  name: string,
  file: string,
  body: (l: typeof launcher, config: ClusterConfig) => Promise<number>,
): Promise<number> {
  try {
    return await body(launcher, loadClusterConfig(file));
  } catch (err) {
    if (!(err instanceof RaytsError)) throw err;
    console.error(`rayts ${name}: ${err.message}`);
    return 1;
  }
}
