import type { OptionKind } from "./_check.ts";
import * as check from "./_check.ts";
import type { PlacementGroupLike } from "./types.ts";

/**
 * A validated scheduling strategy with every default filled: node affinity has `soft` (default false)
 * and a lower-case `nodeId`; placement-group scheduling has `bundleIndex` (-1 = any bundle) and
 * `captureChildTasks` (default false). The placement group object is kept as given, not copied.
 */
export type CompiledSchedulingStrategy =
  | "DEFAULT"
  | "SPREAD"
  | { readonly nodeId: string; readonly soft: boolean }
  | {
      readonly placementGroup: PlacementGroupLike;
      readonly bundleIndex: number;
      readonly captureChildTasks: boolean;
    };

const NODE_KEYS = ["nodeId", "soft"] as const;
const GROUP_KEYS = ["placementGroup", "bundleIndex", "captureChildTasks"] as const;
const HEX = /^[0-9a-f]+$/i;

/** Checks a `scheduling` option's shape and fills its defaults. */
export function compileScheduling(kind: OptionKind, value: unknown): CompiledSchedulingStrategy {
  const key = "scheduling";
  if (value === "DEFAULT" || value === "SPREAD") return value;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(
      `${check.label(kind, key)} must be "DEFAULT", "SPREAD", { nodeId, soft? } or { placementGroup, bundleIndex?, captureChildTasks? }: got ${check.describe(value)}`,
    );
  }
  const spec = check.object(kind, key, value);
  if ("placementGroup" in spec) {
    check.knownKeys(kind, key, spec, GROUP_KEYS);
    const pg = spec.placementGroup;
    if (typeof pg !== "object" || pg === null || typeof (pg as { id?: unknown }).id !== "string") {
      throw new TypeError(
        `${check.label(kind, `${key}.placementGroup`)} must be a placement group (an object with a string id): got ${check.describe(pg)}`,
      );
    }
    return Object.freeze({
      placementGroup: pg as PlacementGroupLike,
      bundleIndex:
        spec.bundleIndex === undefined ? -1 : check.integer(kind, `${key}.bundleIndex`, spec.bundleIndex, -1),
      captureChildTasks:
        spec.captureChildTasks === undefined
          ? false
          : check.boolean(kind, `${key}.captureChildTasks`, spec.captureChildTasks),
    });
  }
  if ("nodeId" in spec) {
    check.knownKeys(kind, key, spec, NODE_KEYS);
    const nodeId = check.string(kind, `${key}.nodeId`, spec.nodeId);
    if (!HEX.test(nodeId)) {
      throw new TypeError(
        `${check.label(kind, `${key}.nodeId`)} must be a hex node id: got ${check.describe(nodeId)}; take it from nodes()`,
      );
    }
    const soft = spec.soft === undefined ? false : check.boolean(kind, `${key}.soft`, spec.soft);
    return Object.freeze({ nodeId: nodeId.toLowerCase(), soft });
  }
  throw new TypeError(
    `${check.label(kind, key)} must name a nodeId or a placementGroup: got an object with keys ${Object.keys(spec).join(", ") || "(none)"}`,
  );
}
