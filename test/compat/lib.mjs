// Shared helpers for the Keyroom compatibility scripts (node:test files in this folder).
//
// Nothing in here talks to the server on its own: it reads the environment, loads the official
// client, and provides timeouts, byte helpers and JWT decoding.

import { createRequire } from "node:module";
import { randomBytes as nodeRandomBytes, randomUUID } from "node:crypto";
import assert from "node:assert/strict";

const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------------------------
// The official client.
//
// `import "@meshagent/meshagent"` does NOT work in 0.39.9: the package's "import" condition points
// at dist/esm/index.js, which is CommonJS code inside a folder marked {"type":"module"}, so Node
// fails with "Cannot find module './agent'". The "require" condition (dist/node/index.js) is the
// working build, so we load it through createRequire. See CLIENT-NOTES.md.
// ---------------------------------------------------------------------------------------------
function loadClient() {
  try {
    return require("@meshagent/meshagent");
  } catch (error) {
    const hint =
      "cannot load @meshagent/meshagent; run `npm ci` in test/compat first " +
      `(${error && error.message ? error.message : String(error)})`;
    throw new Error(hint);
  }
}

export const mesh = loadClient();
export const CLIENT_VERSION = require("@meshagent/meshagent/package.json").version;

// The client silently falls back to these variables (Meshagent token, ParticipantToken.toJwt
// signing key, RoomClient URL). Remove them so that only what the scripts pass explicitly is used.
for (const name of [
  "MESHAGENT_API_KEY",
  "MESHAGENT_SECRET",
  "MESHAGENT_TOKEN",
  "MESHAGENT_ROOM",
  "MESHAGENT_ROOM_URL",
  "MESHAGENT_API_URL",
]) {
  delete process.env[name];
}

// ---------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------
const REQUIRED_VARS = [
  "KEYROOM_URL",
  "KEYROOM_API_KEY",
  "KEYROOM_PROJECT_ID",
  "KEYROOM_MEMBER_API_KEY",
  "KEYROOM_OTHER_API_KEY",
  "KEYROOM_OTHER_PROJECT_ID",
];

let cachedEnv;

/**
 * Reads the connection info passed by the .NET test. Throws one clear error naming every missing
 * variable. Result: { url, wsUrl, apiKey, projectId, memberApiKey, otherApiKey, otherProjectId }.
 */
export function readEnv() {
  if (cachedEnv) return cachedEnv;
  const missing = REQUIRED_VARS.filter((name) => !process.env[name] || !process.env[name].trim());
  if (missing.length > 0) {
    throw new Error(
      `missing environment variable(s): ${missing.join(", ")}. ` +
        "These scripts are normally started by the .NET compat tests; to run one by hand see test/compat/README.md.",
    );
  }
  const url = process.env.KEYROOM_URL.trim().replace(/\/+$/, "");
  if (!/^https?:\/\//.test(url)) {
    throw new Error(`KEYROOM_URL must start with http:// or https:// (got ${JSON.stringify(url)})`);
  }
  cachedEnv = Object.freeze({
    url,
    // ws base, i.e. what the client derives from MESHAGENT_API_URL: http->ws, https->wss
    wsUrl: url.replace(/^http/, "ws"),
    apiKey: process.env.KEYROOM_API_KEY.trim(),
    projectId: process.env.KEYROOM_PROJECT_ID.trim(),
    memberApiKey: process.env.KEYROOM_MEMBER_API_KEY.trim(),
    otherApiKey: process.env.KEYROOM_OTHER_API_KEY.trim(),
    otherProjectId: process.env.KEYROOM_OTHER_PROJECT_ID.trim(),
  });
  return cachedEnv;
}

let preflightResult;

/**
 * Checks once that something answers HTTP at KEYROOM_URL (any status counts). Every test calls
 * this first, so a missing or unreachable server makes each test fail at once with one clear
 * message instead of waiting for its own timeout.
 */
export async function serverReady({ timeoutMs = 20000 } = {}) {
  const env = readEnv();
  if (!preflightResult) {
    preflightResult = (async () => {
      try {
        // /healthz is the cheapest endpoint; a refused connection still fails at once, and the generous
        // timeout only matters on a loaded machine (CI runs four test assemblies on two cores).
        const response = await fetch(env.url + "/healthz", { signal: AbortSignal.timeout(timeoutMs) });
        await response.arrayBuffer().catch(() => undefined);
        return null;
      } catch (error) {
        return `Keyroom server not reachable at ${env.url}: ${describeError(error)}`;
      }
    })();
  }
  const problem = await preflightResult;
  if (problem) throw new Error(problem);
  return env;
}

/** A Meshagent REST client for the given bearer key (defaults to the admin key). */
export function restClient(apiKey = readEnv().apiKey) {
  return new mesh.Meshagent({ baseUrl: readEnv().url, token: apiKey });
}

// ---------------------------------------------------------------------------------------------
// Timeouts and error helpers
// ---------------------------------------------------------------------------------------------
export const DEFAULT_STEP_MS = 10_000;

/** Describes an error including its `cause` chain (fetch puts ECONNREFUSED etc. there). */
export function describeError(error) {
  const parts = [];
  let current = error;
  for (let depth = 0; current != null && depth < 5; depth += 1) {
    if (current instanceof Error || (typeof current === "object" && "message" in current)) {
      const name = current.name && current.name !== "Error" ? `${current.name}: ` : "";
      const code = current.code !== undefined ? ` [code ${current.code}]` : "";
      parts.push(`${name}${current.message}${code}`);
      current = current.cause;
    } else {
      parts.push(String(current));
      break;
    }
  }
  return parts.join(" <- caused by: ");
}

export class StepTimeoutError extends Error {
  constructor(label, ms) {
    super(`${label}: no result after ${ms} ms (the server never answered?)`);
    this.name = "StepTimeoutError";
  }
}

/** Races a promise against a timer (the timer is always cleared). */
export async function withTimeout(promise, ms, label) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new StepTimeoutError(label, ms)), ms);
  });
  try {
    return await Promise.race([Promise.resolve(promise), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs one client call with a timeout (10 s by default). Errors are re-thrown unchanged except
 * that the message is prefixed with the step label, so failures read
 * "listSecrets: Failed to list project secrets. Status code: 500, ...".
 * The original error stays available as `.cause`, and `.original` for assertions.
 */
export async function step(label, fn, ms = DEFAULT_STEP_MS) {
  try {
    return await withTimeout(typeof fn === "function" ? fn() : fn, ms, label);
  } catch (error) {
    if (error instanceof StepTimeoutError) throw error;
    const wrapped = new Error(`${label}: ${describeError(error)}`, { cause: error });
    wrapped.original = error;
    throw wrapped;
  }
}

/**
 * Expects `fn` to reject within `ms`. Returns the (original, unwrapped) error.
 * A resolve or a timeout fails with a message naming the step.
 */
export async function expectReject(label, fn, ms = DEFAULT_STEP_MS) {
  let value;
  try {
    value = await withTimeout(typeof fn === "function" ? fn() : fn, ms, label);
  } catch (error) {
    if (error instanceof StepTimeoutError) {
      throw new assert.AssertionError({ message: `${label}: expected an error but got no answer within ${ms} ms` });
    }
    return error;
  }
  throw new assert.AssertionError({
    message: `${label}: expected an error but the call succeeded with ${preview(value)}`,
  });
}

/**
 * Expects a Meshagent REST call to fail with the given HTTP status. The client formats these as
 * RoomException("Failed to <action>. Status code: <n>, body: <text>").
 */
export async function expectHttpStatus(label, fn, status, ms = DEFAULT_STEP_MS) {
  const error = await expectReject(label, fn, ms);
  const message = error && error.message ? error.message : String(error);
  const match = /Status code: (\d{3})/.exec(message);
  if (!match) {
    throw new assert.AssertionError({
      message: `${label}: expected HTTP ${status} but the call failed without an HTTP status: ${describeError(error)}`,
    });
  }
  assert.equal(Number(match[1]), status, `${label}: expected HTTP ${status}, got ${match[1]} (${message})`);
  return error;
}

/** Polls `predicate` until it returns a truthy value; fails after `ms`. */
export async function waitFor(label, predicate, ms = DEFAULT_STEP_MS, intervalMs = 25) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() >= deadline) {
      throw new assert.AssertionError({ message: `${label}: condition not met within ${ms} ms` });
    }
    await sleep(intervalMs);
  }
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function preview(value) {
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return String(value);
    return text.length > 200 ? text.slice(0, 200) + "…" : text;
  } catch {
    return String(value);
  }
}

// ---------------------------------------------------------------------------------------------
// Bytes, names, JWTs
// ---------------------------------------------------------------------------------------------
export function randomBytes(length) {
  return new Uint8Array(nodeRandomBytes(length));
}

/** A short unique name usable as a room name / identity / secret id: [a-z0-9-] only. */
export function uniqueName(prefix) {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

function toBuffer(bytes) {
  if (Buffer.isBuffer(bytes)) return bytes;
  if (bytes instanceof Uint8Array) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes instanceof ArrayBuffer) return Buffer.from(bytes);
  throw new TypeError(`expected bytes, got ${bytes === null ? "null" : typeof bytes}`);
}

/** Byte-exact comparison with a short message (never dumps megabytes into the report). */
export function assertBytesEqual(actual, expected, label = "bytes") {
  assert.ok(actual != null, `${label}: got ${actual} instead of bytes`);
  const a = toBuffer(actual);
  const e = toBuffer(expected);
  if (a.length !== e.length) {
    throw new assert.AssertionError({ message: `${label}: length ${a.length}, expected ${e.length}` });
  }
  const diff = a.findIndex((byte, index) => byte !== e[index]);
  if (diff !== -1) {
    throw new assert.AssertionError({
      message: `${label}: first difference at byte ${diff} (0x${a[diff].toString(16)} vs 0x${e[diff].toString(16)})`,
    });
  }
}

export function utf8(text) {
  return new TextEncoder().encode(text);
}

export function fromUtf8(bytes) {
  return new TextDecoder().decode(bytes);
}

function base64UrlDecode(part) {
  return Buffer.from(part.replace(/-/g, "+").replace(/_/g, "/"), "base64");
}

/** Decodes a JWT without verifying it: { header, payload, signature }. */
export function decodeJwt(jwt) {
  assert.equal(typeof jwt, "string", "JWT must be a string");
  const parts = jwt.split(".");
  assert.equal(parts.length, 3, `JWT must have 3 dot-separated parts, got ${parts.length}`);
  return {
    header: JSON.parse(base64UrlDecode(parts[0]).toString("utf8")),
    payload: JSON.parse(base64UrlDecode(parts[1]).toString("utf8")),
    signature: parts[2],
  };
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP (for malformed-input and auth checks the client cannot express)
// ---------------------------------------------------------------------------------------------
/**
 * fetch() against KEYROOM_URL. `token: null` sends no Authorization header; default is the admin
 * key. `body` objects are JSON-encoded; strings are sent as-is with Content-Type application/json
 * unless `headers` overrides it. Returns { status, contentType, text, json }.
 */
export async function rawRequest(path, { method = "GET", token, body, headers = {}, timeoutMs = DEFAULT_STEP_MS } = {}) {
  const env = readEnv();
  const finalHeaders = { ...headers };
  const bearer = token === undefined ? env.apiKey : token;
  if (bearer !== null) finalHeaders["Authorization"] = `Bearer ${bearer}`;
  let payload;
  if (body !== undefined) {
    payload = typeof body === "string" ? body : JSON.stringify(body);
    if (!Object.keys(finalHeaders).some((k) => k.toLowerCase() === "content-type")) {
      finalHeaders["Content-Type"] = "application/json";
    }
  }
  const label = `${method} ${path}`;
  let response;
  try {
    response = await fetch(new URL(path, env.url), {
      method,
      headers: finalHeaders,
      body: payload,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new Error(`${label}: ${describeError(error)}`, { cause: error });
  }
  const text = await response.text();
  let json;
  try {
    json = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, contentType: response.headers.get("content-type") ?? "", text, json };
}

// ---------------------------------------------------------------------------------------------
// Process guards (room script)
// ---------------------------------------------------------------------------------------------
export const processProblems = [];

/**
 * Records unhandled rejections / uncaught exceptions instead of letting the client crash the
 * process silently. node:test additionally attributes them to the running test and fails it;
 * the room script ends with a test asserting this list is empty, so anything that escaped a test
 * (for example after it finished) still shows up as a failure with a readable message.
 */
export function installProcessGuards() {
  const record = (kind) => (error) => {
    const entry = `${kind}: ${describeError(error)}`;
    processProblems.push(entry);
    process.stderr.write(`# [compat] ${entry}\n`);
  };
  process.on("unhandledRejection", record("unhandledRejection"));
  process.on("uncaughtException", record("uncaughtException"));
}
