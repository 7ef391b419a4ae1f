// Module resolution hooks for a child process: the package's own modules (dist/src, dist/gen)
// cannot import Node's built-ins or `ws`, as in a browser. Registered by no-node-child.ts.
import { builtinModules } from "node:module";

/** Whether `specifier` is a Node-only module: a built-in (`node:net`, `net`) or `ws`. */
function nodeOnly(specifier: string): boolean {
  return specifier.startsWith("node:") || builtinModules.includes(specifier) || specifier === "ws";
}

/** Refuses a Node-only module to the package's own modules; everything else resolves as usual. */
export async function resolve(
  specifier: string,
  context: { parentURL?: string },
  next: (specifier: string, context: unknown) => Promise<unknown>,
): Promise<unknown> {
  const parent = context.parentURL ?? "";
  if (/\/dist\/(src|gen)\//.test(parent) && nodeOnly(specifier)) {
    throw new Error(`${specifier} is not available in a browser (imported by ${parent})`);
  }
  return next(specifier, context);
}
