/**
 * Where a plugin finds its manager, as the Rust transports read it (transports/src/endpoint.rs):
 * the host launches a plugin with `token` (its per-launch secret, seed 7.1) and
 * `LOGI_PLUGIN_ENDPOINT` (a local-socket path or a `ws://` URL); without an endpoint the
 * platform's default local socket is used. A browser has no environment: there the endpoint
 * and the code come from the client's options.
 *
 * @module
 */

/** The environment variable holding the plugin's per-launch secret (seed 7.1). */
export const TOKEN_ENV = "token";

/** The environment variable holding the manager's endpoint: a local-socket path or a `ws://` URL. */
export const ENDPOINT_ENV = "LOGI_PLUGIN_ENDPOINT";

/** The name of the default local socket, before the user's hash (seed 9.1.3). */
export const ENDPOINT_PREFIX = "logitech_plugin_framework_agent-";

/** A manager's address: a local socket (Unix path or Windows pipe) or a WebSocket URL. */
export type Endpoint = { kind: "local"; path: string } | { kind: "websocket"; url: string };

/** Reads an endpoint as `LOGI_PLUGIN_ENDPOINT` holds it: a `ws://` URL, or else a path. */
export function parseEndpoint(text: string): Endpoint {
  return text.startsWith("ws://") ? { kind: "websocket", url: text } : { kind: "local", path: text };
}

/** Environment variables by name. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** The process's environment, or `null` where the runtime has none (a browser). */
function processEnv(): Environment | null {
  return (globalThis as { process?: { env?: Environment } }).process?.env ?? null;
}

/**
 * `LOGI_PLUGIN_ENDPOINT` if set and not empty, else the default local socket. Throws, naming
 * the client's `endpoint` option, where there is no environment (`env` null): a browser can
 * open no local socket.
 */
export function endpointFromEnv(env: Environment | null = processEnv()): Endpoint {
  if (env === null) {
    throw new Error(
      `no endpoint: pass the \`endpoint\` option (a ws:// URL); this runtime has no environment to read ${ENDPOINT_ENV} from, and no default local socket`,
    );
  }
  const text = env[ENDPOINT_ENV];
  return text ? parseEndpoint(text) : { kind: "local", path: defaultEndpoint(env) };
}

/** The plugin's secret from `token`, or `undefined` when it is unset or empty or there is no environment. */
export function tokenFromEnv(env: Environment | null = processEnv()): string | undefined {
  return env?.[TOKEN_ENV] || undefined;
}

/** The 64-bit FNV-1a hash of the user's name in hex, the seed's `<USER_NAME_HASH>`. */
export function userNameHash(userName: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(userName)) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, "0");
}

/** The logged-in user's name, from `USER`, `LOGNAME` or `USERNAME`. */
function currentUserName(env: Environment): string {
  return env["USER"] || env["LOGNAME"] || env["USERNAME"] || "unknown";
}

/** The default local socket for the current user on this platform. */
export function defaultEndpoint(env: Environment = processEnv() ?? {}): string {
  const name = `${ENDPOINT_PREFIX}${userNameHash(currentUserName(env))}`;
  const platform = (globalThis as { process?: { platform?: string } }).process?.platform;
  if (platform === "win32") {
    return `\\\\.\\pipe\\${name}`;
  }
  const dir = platform === "darwin" ? "/tmp" : env["XDG_RUNTIME_DIR"] || "/tmp";
  return `${dir.replace(/\/+$/, "")}/${name}`;
}
