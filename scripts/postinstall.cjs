// After `npm install`: builds the native library and dist/rayts with the Bun that npm just installed.
// CommonJS and plain Node on purpose: this is the one file that runs before Bun is known to work.
"use strict";
const { spawnSync } = require("node:child_process");
const { dirname, join } = require("node:path");

const projectDir = join(__dirname, "..");

function bunPath() {
  try {
    return join(dirname(require.resolve("bun/package.json", { paths: [projectDir] })), "bin", "bun.exe");
  } catch {
    console.error(
      "rayts: Cannot build: package bun is not installed; run npm install without --omit=optional",
    );
    process.exit(1);
  }
}

const result = spawnSync(bunPath(), [join(projectDir, "build.ts"), "--if-stale"], {
  cwd: projectDir,
  stdio: "inherit",
});
if (result.error) {
  console.error(`rayts: Cannot start Bun: ${result.error.message}; reinstall with npm install`);
  process.exit(1);
}
process.exit(result.status ?? 1);
