// Keyroom REST compatibility, driven by the official @meshagent/meshagent client (0.39.9).
//
//   KEYROOM_URL=http://127.0.0.1:5000 KEYROOM_API_KEY=ma-... KEYROOM_PROJECT_ID=... \
//   KEYROOM_MEMBER_API_KEY=ma-... KEYROOM_OTHER_API_KEY=ma-... KEYROOM_OTHER_PROJECT_ID=... \
//   node --test --test-force-exit --test-reporter=tap rest.test.mjs
//
// Every call goes through step()/expectReject() (10 s limit) and every test has its own timeout,
// so nothing can hang. Tests that build on an earlier one (the room and API-key sequences) fail
// with a message naming the prerequisite when it did not run or failed.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import {
  mesh,
  readEnv,
  serverReady,
  restClient,
  step,
  expectReject,
  expectHttpStatus,
  rawRequest,
  uniqueName,
  decodeJwt,
  utf8,
  fromUtf8,
  describeError,
  withTimeout,
} from "./lib.mjs";

const { ParticipantToken, ApiScope, parseApiKey } = mesh;

const T = { timeout: 30_000 };
const state = {};
const cleanups = [];

function need(value, what) {
  if (value === undefined || value === null) {
    throw new Error(`prerequisite missing: ${what} (an earlier test failed or did not run)`);
  }
  return value;
}

function b64(text) {
  return Buffer.from(text, "utf8").toString("base64");
}

/** docs/rest-contract.md: errors are application/problem+json with `status` and an extension `code`. */
function assertProblem(response, status, code, label) {
  assert.equal(response.status, status, `${label}: status ${response.status}: ${response.text.slice(0, 200)}`);
  assert.match(response.contentType, /^application\/problem\+json/, `${label}: content-type was ${response.contentType}`);
  assert.ok(response.json && typeof response.json === "object", `${label}: problem body is not JSON`);
  assert.equal(response.json.status, status, `${label}: problem status`);
  assert.equal(response.json.code, code, `${label}: problem code`);
}

after(async () => {
  for (const cleanup of cleanups.reverse()) {
    try {
      await withTimeout(cleanup(), 5000, "cleanup");
    } catch {
      // best effort: the server may be gone or the object already deleted
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Environment and roles
// ---------------------------------------------------------------------------------------------

test("environment: the API keys parse and belong to the expected projects", () => {
  const env = readEnv();
  const admin = parseApiKey(env.apiKey);
  assert.equal(admin.projectId, env.projectId, "KEYROOM_API_KEY does not encode KEYROOM_PROJECT_ID");
  assert.ok(admin.secret.length > 0, "KEYROOM_API_KEY has an empty secret part");
  const member = parseApiKey(env.memberApiKey);
  assert.equal(member.projectId, env.projectId, "KEYROOM_MEMBER_API_KEY does not encode KEYROOM_PROJECT_ID");
  const other = parseApiKey(env.otherApiKey);
  assert.equal(other.projectId, env.otherProjectId, "KEYROOM_OTHER_API_KEY does not encode KEYROOM_OTHER_PROJECT_ID");
  assert.notEqual(env.otherProjectId, env.projectId, "the 'other' project must be a different project");
});

test("getProjectRole returns admin for the admin key and member for the member key", T, async () => {
  const env = await serverReady();
  const role = await step("getProjectRole(admin key)", () => restClient().getProjectRole(env.projectId));
  assert.equal(role, "admin");
  const memberRole = await step("getProjectRole(member key)", () =>
    restClient(env.memberApiKey).getProjectRole(env.projectId),
  );
  assert.equal(memberRole, "member");
});

// ---------------------------------------------------------------------------------------------
// Project secrets through the legacy helpers (createSecret / listSecrets / updateSecret / deleteSecret)
// ---------------------------------------------------------------------------------------------

test("createSecret (keys) then listSecrets returns it with an id and the data parsed", T, async () => {
  const env = await serverReady();
  const client = restClient();
  const name = uniqueName("compat-keys");
  const data = {
    DATABASE_URL: "postgres://app:pa55@db.internal:5432/app?sslmode=require",
    STRIPE_SECRET_KEY: `sk_test_${uniqueName("x")}`,
  };
  // createSecret resolves to undefined in 0.39.9 (it discards the id returned by the server),
  // so the id is taken from the listing.
  await step("createSecret", () => client.createSecret(env.projectId, { name, type: "keys", data }));

  const secrets = await step("listSecrets", () => client.listSecrets(env.projectId));
  const matches = secrets.filter((s) => s.name === name);
  assert.equal(matches.length, 1, `expected exactly one secret named ${name}, got ${matches.length}`);
  const [secret] = matches;
  assert.equal(typeof secret.id, "string");
  assert.ok(secret.id.length > 0, "secret id is empty");
  cleanups.push(() => client.deleteProjectSecret(env.projectId, secret.id));
  assert.equal(secret.type, "keys");
  assert.deepEqual(secret.data, data);

  const infos = await step("listProjectSecrets", () => client.listProjectSecrets(env.projectId));
  const info = infos.find((s) => s.id === secret.id);
  assert.ok(info, "listProjectSecrets does not contain the new id");
  assert.equal(info.name, name);
  assert.equal(info.type, "keys");
  assert.equal(info.delegatedTo, null);

  state.keysSecret = { id: secret.id, name, data };
});

test("getProjectSecret returns data_base64 that decodes to the stored JSON", T, async () => {
  const env = await serverReady();
  const secret = need(state.keysSecret, "keys secret from the createSecret test");
  const got = await step("getProjectSecret", () => restClient().getProjectSecret(env.projectId, secret.id));
  assert.equal(got.id, secret.id);
  assert.equal(got.name, secret.name);
  assert.equal(got.type, "keys");
  assert.match(got.dataBase64, /^[A-Za-z0-9+/]*={0,2}$/, "data_base64 must be standard base64 (+/ and padding)");
  assert.deepEqual(JSON.parse(Buffer.from(got.dataBase64, "base64").toString("utf8")), secret.data);
  assert.deepEqual(JSON.parse(fromUtf8(got.data)), secret.data);
});

test("updateSecret changes the value and getProjectSecret shows the new value", T, async () => {
  const env = await serverReady();
  const secret = need(state.keysSecret, "keys secret from the createSecret test");
  const client = restClient();
  const data = { DATABASE_URL: "postgres://app:rotated@db.internal:5432/app", STRIPE_SECRET_KEY: "sk_test_rotated" };
  await step("updateSecret", () =>
    client.updateSecret(env.projectId, { id: secret.id, name: secret.name, type: "keys", data }),
  );
  const got = await step("getProjectSecret", () => client.getProjectSecret(env.projectId, secret.id));
  assert.deepEqual(JSON.parse(Buffer.from(got.dataBase64, "base64").toString("utf8")), data);
  assert.equal(got.name, secret.name);

  const listed = (await step("listSecrets", () => client.listSecrets(env.projectId))).find((s) => s.id === secret.id);
  assert.ok(listed, "updated secret missing from listSecrets");
  assert.deepEqual(listed.data, data);
  secret.data = data;
});

test("docker secret: createSecret then listSecrets returns server, username, password and email", T, async () => {
  const env = await serverReady();
  const client = restClient();
  const name = uniqueName("compat-docker");
  const pull = {
    name,
    type: "docker",
    server: "registry.example.com",
    username: "robot$ci",
    password: "p@ss:word/with+chars=",
    email: "ci@example.com",
  };
  await step("createSecret(docker)", () => client.createSecret(env.projectId, pull));
  const listed = (await step("listSecrets", () => client.listSecrets(env.projectId))).filter((s) => s.name === name);
  assert.equal(listed.length, 1, `expected exactly one secret named ${name}`);
  const [secret] = listed;
  cleanups.push(() => client.deleteProjectSecret(env.projectId, secret.id));
  assert.equal(secret.type, "docker");
  assert.equal(secret.server, pull.server);
  assert.equal(secret.username, pull.username);
  assert.equal(secret.password, pull.password);
  assert.equal(secret.email, pull.email);

  const raw = await step("getProjectSecret(docker)", () => client.getProjectSecret(env.projectId, secret.id));
  assert.equal(raw.type, "docker");
  assert.deepEqual(JSON.parse(fromUtf8(raw.data)), {
    server: pull.server,
    username: pull.username,
    password: pull.password,
    email: pull.email,
  });
});

test("createProjectSecret returns an id; updateProjectSecret and getProjectSecret round-trip the bytes", T, async () => {
  const env = await serverReady();
  const client = restClient();
  const name = uniqueName("compat-managed");
  // type "keys" with a valid flat JSON object, so that listSecrets() (which parses every secret
  // in the project) keeps working for the other tests.
  const first = utf8(JSON.stringify({ SERVICE_API_TOKEN: "replace-me" }));
  const id = await step("createProjectSecret", () =>
    client.createProjectSecret({ projectId: env.projectId, name, type: "keys", data: first }),
  );
  assert.equal(typeof id, "string");
  assert.ok(id.length > 0, "createProjectSecret returned an empty id");
  cleanups.push(() => client.deleteProjectSecret(env.projectId, id));

  let got = await step("getProjectSecret", () => client.getProjectSecret(env.projectId, id));
  assert.equal(got.dataBase64, Buffer.from(first).toString("base64"));
  assert.equal(got.name, name);

  const second = utf8(JSON.stringify({ SERVICE_API_TOKEN: "rotated", EXTRA: "ü–✓" }));
  await step("updateProjectSecret", () =>
    client.updateProjectSecret({ projectId: env.projectId, secretId: id, name, type: "keys", data: second }),
  );
  got = await step("getProjectSecret after update", () => client.getProjectSecret(env.projectId, id));
  assert.equal(got.dataBase64, Buffer.from(second).toString("base64"));

  await step("deleteProjectSecret", () => client.deleteProjectSecret(env.projectId, id));
  await expectHttpStatus("getProjectSecret after deleteProjectSecret", () => client.getProjectSecret(env.projectId, id), 404);
});

test("deleteSecret removes the secret: getProjectSecret then fails with 404", T, async () => {
  const env = await serverReady();
  const secret = need(state.keysSecret, "keys secret from the createSecret test");
  const client = restClient();
  await step("deleteSecret", () => client.deleteSecret(env.projectId, secret.id));
  await expectHttpStatus("getProjectSecret after deleteSecret", () => client.getProjectSecret(env.projectId, secret.id), 404);
  const infos = await step("listProjectSecrets", () => client.listProjectSecrets(env.projectId));
  assert.ok(!infos.some((s) => s.id === secret.id), "deleted secret is still listed");
});

test("getProjectSecret of an unknown id fails with 404", T, async () => {
  const env = await serverReady();
  await expectHttpStatus(
    "getProjectSecret(unknown id)",
    () => restClient().getProjectSecret(env.projectId, uniqueName("does-not-exist")),
    404,
  );
});

// ---------------------------------------------------------------------------------------------
// Rooms and connect
// ---------------------------------------------------------------------------------------------

test("createRoom returns id and name; repeating it with ifNotExists returns the same room", T, async () => {
  const env = await serverReady();
  const client = restClient();
  const name = uniqueName("compat-room");
  const room = await step("createRoom", () =>
    client.createRoom({
      projectId: env.projectId,
      name,
      ifNotExists: true,
      metadata: { purpose: "compat" },
      annotations: { "keyroom.test": "rest" },
    }),
  );
  assert.equal(room.name, name);
  assert.equal(typeof room.id, "string");
  assert.ok(room.id.length > 0, "room id is empty");
  cleanups.push(() => client.deleteRoom(env.projectId, room.id));

  const again = await step("createRoom(ifNotExists, same name)", () =>
    client.createRoom({ projectId: env.projectId, name, ifNotExists: true }),
  );
  assert.equal(again.id, room.id, "createRoom with if_not_exists must return the existing room");
  assert.equal(again.name, name);
  state.room = room;
});

test("listRooms includes the created room", T, async () => {
  const env = await serverReady();
  const room = need(state.room, "room from the createRoom test");
  const rooms = await step("listRooms", () => restClient().listRooms(env.projectId, { limit: 1000 }));
  const found = rooms.find((r) => r.id === room.id);
  assert.ok(found, `listRooms does not contain ${room.name}`);
  assert.equal(found.name, room.name);
});

test("getRoom finds the room by name", T, async () => {
  const env = await serverReady();
  const room = need(state.room, "room from the createRoom test");
  const got = await step("getRoom", () => restClient().getRoom(env.projectId, room.name));
  assert.equal(got.id, room.id);
  assert.equal(got.name, room.name);
  assert.deepEqual(got.metadata, { purpose: "compat" });
  assert.deepEqual(got.annotations, { "keyroom.test": "rest" });
});

test("updateRoom (by id) changes metadata and annotations", T, async () => {
  const env = await serverReady();
  const room = need(state.room, "room from the createRoom test");
  const client = restClient();
  await step("updateRoom", () =>
    client.updateRoom(env.projectId, room.id, room.name, {
      metadata: { purpose: "compat", revision: 2 },
      annotations: { "keyroom.test": "rest-updated" },
    }),
  );
  const got = await step("getRoom after update", () => client.getRoom(env.projectId, room.name));
  assert.equal(got.id, room.id);
  assert.deepEqual(got.metadata, { purpose: "compat", revision: 2 });
  assert.deepEqual(got.annotations, { "keyroom.test": "rest-updated" });
});

test("connectRoom returns jwt, room_name, project_id and room_url ws://.../rooms/<name>", T, async () => {
  const env = await serverReady();
  const room = need(state.room, "room from the createRoom test");
  const info = await step("connectRoom", () => restClient().connectRoom(env.projectId, room.name));
  assert.equal(info.roomName, room.name);
  assert.equal(info.projectId, env.projectId);
  const expectedScheme = env.url.startsWith("https:") ? "wss://" : "ws://";
  assert.ok(info.roomUrl.startsWith(expectedScheme), `room_url ${info.roomUrl} must start with ${expectedScheme}`);
  assert.ok(info.roomUrl.endsWith(`/rooms/${room.name}`), `room_url ${info.roomUrl} must end with /rooms/${room.name}`);
  assert.ok(!info.roomUrl.includes("token="), "room_url must not contain the token");
  assert.equal(typeof info.jwt, "string");
  state.connect = info;
});

test("connectRoom JWT: HS256 with name, sub, kid, a room grant for the room and an api grant with secrets", T, async () => {
  const env = readEnv();
  const info = need(state.connect, "connection info from the connectRoom test");
  const room = need(state.room, "room from the createRoom test");
  const { header, payload } = decodeJwt(info.jwt);
  assert.equal(header.alg, "HS256");
  assert.equal(typeof payload.name, "string");
  assert.ok(payload.name.length > 0, "JWT name claim is empty");
  assert.equal(payload.sub, env.projectId, "JWT sub must be the project id");
  assert.equal(typeof payload.kid, "string", "JWT must carry the signing key id in the kid claim");
  assert.ok(Array.isArray(payload.grants), "JWT grants must be an array");

  // The same through the client's own decoder.
  const token = await ParticipantToken.fromJwt(info.jwt, { verify: false });
  assert.equal(token.name, payload.name);
  assert.equal(token.grantScope("room"), room.name, "room grant must name the room");
  const api = token.getApiGrant();
  assert.ok(api instanceof ApiScope, "JWT has no api grant (ApiScope object)");
  assert.ok(api.secrets, "api grant must include secrets");

  assert.equal(token.grantScope("role"), "user", "role grant must be user");

  // docs/rest-contract.md: kid = the caller's API key id, signed with that key's secret;
  // an admin caller gets ApiScope.full().
  const admin = parseApiKey(env.apiKey);
  assert.equal(payload.kid, admin.id, "connect JWT must be signed by the calling API key (kid)");
  const verified = await ParticipantToken.fromJwt(info.jwt, { token: admin.secret, verify: true });
  assert.equal(verified.name, payload.name);
  assert.ok(api.admin, "an admin caller's connect JWT must carry ApiScope.full() (admin grant)");
});

test("connectRoom with the member key: JWT signed by that key, api grant without secrets", T, async () => {
  const env = await serverReady();
  const room = need(state.room, "room from the createRoom test");
  const info = await step("connectRoom(member key)", () => restClient(env.memberApiKey).connectRoom(env.projectId, room.name));
  const { payload } = decodeJwt(info.jwt);
  const member = parseApiKey(env.memberApiKey);
  assert.equal(payload.kid, member.id, "member connect JWT must be signed by the member key");
  await ParticipantToken.fromJwt(info.jwt, { token: member.secret, verify: true });
  const token = await ParticipantToken.fromJwt(info.jwt, { verify: false });
  assert.equal(token.grantScope("room"), room.name);
  const api = token.getApiGrant();
  assert.ok(api instanceof ApiScope, "member JWT has no api grant");
  assert.ok(!api.secrets, "a member's connect JWT must not grant secrets (userDefault without secrets)");
  assert.ok(!api.admin, "a member's connect JWT must not grant admin");
});

test("createRoom without ifNotExists for an existing name fails with 409", T, async () => {
  const env = await serverReady();
  const room = need(state.room, "room from the createRoom test");
  await expectHttpStatus(
    "createRoom(existing name, ifNotExists=false)",
    () => restClient().createRoom({ projectId: env.projectId, name: room.name }),
    409,
  );
});

test("deleteRoom (by id) removes the room: getRoom then fails with 404", T, async () => {
  const env = await serverReady();
  const room = need(state.room, "room from the createRoom test");
  const client = restClient();
  await step("deleteRoom", () => client.deleteRoom(env.projectId, room.id));
  await expectHttpStatus("getRoom after deleteRoom", () => client.getRoom(env.projectId, room.name), 404);
  const rooms = await step("listRooms", () => client.listRooms(env.projectId, { limit: 1000 }));
  assert.ok(!rooms.some((r) => r.id === room.id), "deleted room is still listed");
});

test("deleteRoom also deletes the room's secrets (a room re-created with that name starts empty)", T, async () => {
  const env = await serverReady();
  const client = restClient();
  const roomName = uniqueName("compat-rdel");
  const room = await step("createRoom", () => client.createRoom({ projectId: env.projectId, name: roomName, ifNotExists: true }));
  const id = await step("createRoomSecret", () =>
    client.createRoomSecret({ projectId: env.projectId, roomName, data: utf8("gone with the room"), secretId: "doomed" }),
  );
  await step("deleteRoom", () => client.deleteRoom(env.projectId, room.id));
  const again = await step("createRoom again", () => client.createRoom({ projectId: env.projectId, name: roomName, ifNotExists: true }));
  cleanups.push(() => client.deleteRoom(env.projectId, again.id));
  await expectHttpStatus("getRoomSecret in the re-created room", () =>
    client.getRoomSecret({ projectId: env.projectId, roomName, secretId: id }), 404);
  const listed = await step("listRoomSecrets in the re-created room", () => client.listRoomSecrets({ projectId: env.projectId, roomName }));
  assert.deepEqual(listed, [], "the re-created room still has secrets");
});

// ---------------------------------------------------------------------------------------------
// Room secrets over REST (the toolkit side is in room-secrets.test.mjs)
// ---------------------------------------------------------------------------------------------

test("room secrets REST: createRoomSecret / getRoomSecret / listRoomSecrets / updateRoomSecret / deleteRoomSecret", T, async () => {
  const env = await serverReady();
  const client = restClient();
  const roomName = uniqueName("compat-rsec");
  const room = await step("createRoom", () => client.createRoom({ projectId: env.projectId, name: roomName, ifNotExists: true }));
  cleanups.push(() => client.deleteRoom(env.projectId, room.id));

  const identity = uniqueName("svc");
  const value = new Uint8Array([0, 1, 2, 253, 254, 255]);
  const id = await step("createRoomSecret", () =>
    client.createRoomSecret({
      projectId: env.projectId,
      roomName,
      data: value,
      secretId: "service-api-token",
      name: "service-api-token",
      type: "application/octet-stream",
      forIdentity: identity,
    }),
  );
  assert.equal(id, "service-api-token", "createRoomSecret must return the given secret_id");

  const got = await step("getRoomSecret", () =>
    client.getRoomSecret({ projectId: env.projectId, roomName, secretId: id, forIdentity: identity }),
  );
  assert.equal(got.id, id);
  assert.equal(got.name, "service-api-token");
  assert.equal(got.type, "application/octet-stream");
  assert.equal(got.dataBase64, Buffer.from(value).toString("base64"));

  const listed = await step("listRoomSecrets", () =>
    client.listRoomSecrets({ projectId: env.projectId, roomName, forIdentity: identity }),
  );
  assert.ok(listed.some((s) => s.id === id), "listRoomSecrets does not contain the secret");

  const updated = utf8("rotated value");
  await step("updateRoomSecret", () =>
    client.updateRoomSecret({ projectId: env.projectId, roomName, secretId: id, data: updated, forIdentity: identity }),
  );
  const got2 = await step("getRoomSecret after update", () =>
    client.getRoomSecret({ projectId: env.projectId, roomName, secretId: id, forIdentity: identity }),
  );
  assert.equal(fromUtf8(got2.data), "rotated value");

  await step("deleteRoomSecret", () =>
    client.deleteRoomSecret({ projectId: env.projectId, roomName, secretId: id, forIdentity: identity }),
  );
  await expectHttpStatus(
    "getRoomSecret after deleteRoomSecret",
    () => client.getRoomSecret({ projectId: env.projectId, roomName, secretId: id, forIdentity: identity }),
    404,
  );
});

test("room secrets REST: the minimal createRoomSecret body {data_base64} returns a generated id", T, async () => {
  const env = await serverReady();
  const client = restClient();
  const roomName = uniqueName("compat-rsec-min");
  const room = await step("createRoom", () => client.createRoom({ projectId: env.projectId, name: roomName, ifNotExists: true }));
  cleanups.push(() => client.deleteRoom(env.projectId, room.id));
  const id = await step("createRoomSecret(minimal)", () =>
    client.createRoomSecret({ projectId: env.projectId, roomName, data: new Uint8Array([1, 2, 3]) }),
  );
  assert.equal(typeof id, "string");
  assert.ok(id.length > 0, "generated id is empty");
  const got = await step("getRoomSecret", () => client.getRoomSecret({ projectId: env.projectId, roomName, secretId: id }));
  assert.equal(got.dataBase64, "AQID");
  await step("deleteRoomSecret", () => client.deleteRoomSecret({ projectId: env.projectId, roomName, secretId: id }));
});

// ---------------------------------------------------------------------------------------------
// API keys
// ---------------------------------------------------------------------------------------------

test("createApiKey returns a ma- key of this project that can call listSecrets", T, async () => {
  const env = await serverReady();
  const client = restClient();
  const name = uniqueName("compat-key");
  const created = await step("createApiKey", () => client.createApiKey(env.projectId, name, "created by rest.test.mjs"));
  assert.equal(typeof created.id, "string", `createApiKey response needs an id: ${JSON.stringify(created)}`);
  assert.equal(typeof created.value, "string", "createApiKey response needs value (the ma-... key)");
  assert.ok(created.value.startsWith("ma-"), `key value must start with ma-, got ${created.value.slice(0, 6)}…`);
  cleanups.push(() => client.deleteApiKey(env.projectId, created.id));
  const parsed = parseApiKey(created.value);
  assert.equal(parsed.projectId, env.projectId, "new key must encode this project");
  assert.equal(parsed.id, created.id, "the id encoded in the key must equal the returned id");
  assert.equal(created.name, name);

  const secrets = await step("listSecrets with the new key", () => restClient(created.value).listSecrets(env.projectId));
  assert.ok(Array.isArray(secrets));
  state.apiKey = { ...created, name };
});

test("listApiKeys includes the new key (without its secret value)", T, async () => {
  const env = await serverReady();
  const key = need(state.apiKey, "API key from the createApiKey test");
  const listing = await step("listApiKeys", () => restClient().listApiKeys(env.projectId));
  assert.ok(Array.isArray(listing.tokens), `listApiKeys must return {tokens:[...]}, got ${JSON.stringify(listing).slice(0, 200)}`);
  const entry = listing.tokens.find((t) => t && t.id === key.id);
  assert.ok(entry, "listApiKeys does not contain the new key id");
  assert.equal(entry.name, key.name);
  assert.ok(!JSON.stringify(listing).includes(parseApiKey(key.value).secret), "listApiKeys must not reveal key secrets");
});

test("deleteApiKey revokes the key: using it then fails with 401", T, async () => {
  const env = await serverReady();
  const key = need(state.apiKey, "API key from the createApiKey test");
  const client = restClient();
  await step("deleteApiKey", () => client.deleteApiKey(env.projectId, key.id));
  await expectHttpStatus("listSecrets with the deleted key", () => restClient(key.value).listSecrets(env.projectId), 401);
  const listing = await step("listApiKeys", () => client.listApiKeys(env.projectId));
  assert.ok(!(listing.tokens ?? []).some((t) => t && t.id === key.id), "deleted key is still listed");
});

// ---------------------------------------------------------------------------------------------
// Authentication and authorization
// ---------------------------------------------------------------------------------------------

test("a request without Authorization fails with 401", T, async () => {
  const env = await serverReady();
  const response = await rawRequest(`/accounts/projects/${env.projectId}/secrets`, { token: null });
  assertProblem(response, 401, "unauthenticated", "GET secrets without a bearer");
});

test("an invalid bearer key fails with 401 (garbage, and a real key id with a wrong secret)", T, async () => {
  const env = await serverReady();
  await expectHttpStatus("listProjectSecrets(garbage key)", () => restClient("ma-not-a-key").listProjectSecrets(env.projectId), 401);
  const admin = parseApiKey(env.apiKey);
  const forged = mesh.encodeApiKey({ id: admin.id, projectId: admin.projectId, secret: admin.secret + "x" });
  await expectHttpStatus("listProjectSecrets(wrong secret)", () => restClient(forged).listProjectSecrets(env.projectId), 401);
});

test("the member key cannot create a project secret (403)", T, async () => {
  const env = await serverReady();
  const name = uniqueName("compat-member");
  await expectHttpStatus(
    "createProjectSecret with the member key",
    () =>
      restClient(env.memberApiKey).createProjectSecret({
        projectId: env.projectId,
        name,
        type: "keys",
        data: utf8(JSON.stringify({ A: "b" })),
      }),
    403,
  );
  const raw = await rawRequest(`/accounts/projects/${env.projectId}/secrets`, {
    method: "POST",
    token: env.memberApiKey,
    body: { name, type: "keys", data_base64: b64('{"A":"b"}') },
  });
  assertProblem(raw, 403, "permission_denied", "POST secrets with the member key");
  const infos = await step("listProjectSecrets(admin)", () => restClient().listProjectSecrets(env.projectId));
  assert.ok(!infos.some((s) => s.name === name), "the refused secret was stored anyway");
});

test("another project's admin key cannot read this project's secret (404)", T, async () => {
  const env = await serverReady();
  const client = restClient();
  const name = uniqueName("compat-xproj");
  const id = await step("createProjectSecret", () =>
    client.createProjectSecret({ projectId: env.projectId, name, type: "keys", data: utf8(JSON.stringify({ A: "b" })) }),
  );
  cleanups.push(() => client.deleteProjectSecret(env.projectId, id));
  // The client takes the project id as a parameter, so the other project's key is simply pointed
  // at this project's path: GET /accounts/projects/{this project}/secrets/{id}.
  const other = restClient(env.otherApiKey);
  await expectHttpStatus("getProjectSecret with the other project's key", () => other.getProjectSecret(env.projectId, id), 404);
  // docs/rest-contract.md: another project's resources are 404, never 403
  await expectHttpStatus("listProjectSecrets with the other project's key", () => other.listProjectSecrets(env.projectId), 404);
  const raw = await rawRequest(`/accounts/projects/${env.projectId}/secrets/${id}`, { token: env.otherApiKey });
  assertProblem(raw, 404, "not_found", "GET this project's secret with the other project's key");
  // and its own project does not contain it
  const own = await step("listProjectSecrets(other project)", () => other.listProjectSecrets(env.otherProjectId));
  assert.ok(!own.some((s) => s.id === id), "secret leaked into the other project");
});

// ---------------------------------------------------------------------------------------------
// Malformed input (raw fetch: the client cannot produce these)
// ---------------------------------------------------------------------------------------------

test("malformed JSON body is rejected with 400 application/problem+json", T, async () => {
  const env = await serverReady();
  const response = await rawRequest(`/accounts/projects/${env.projectId}/secrets`, {
    method: "POST",
    body: '{"name": "broken", "type": "keys", "data_base64": ',
  });
  assertProblem(response, 400, "invalid_request", "malformed JSON body");
});

test("data_base64 that is not valid base64 is rejected with 400", T, async () => {
  const env = await serverReady();
  const name = uniqueName("compat-badb64");
  const response = await rawRequest(`/accounts/projects/${env.projectId}/secrets`, {
    method: "POST",
    body: { name, type: "keys", data_base64: "this is *not* base64!" },
  });
  assert.equal(response.status, 400, `status ${response.status}: ${response.text.slice(0, 200)}`);
  const infos = await step("listProjectSecrets", () => restClient().listProjectSecrets(env.projectId));
  assert.ok(!infos.some((s) => s.name === name), "the rejected secret was stored anyway");
});

test("a keys secret whose value is not a flat JSON object of strings is rejected with 400", T, async () => {
  const env = await serverReady();
  const cases = {
    "number value": '{"A": 1}',
    "nested object": '{"A": {"B": "c"}}',
    "null value": '{"A": null}',
    "top-level array": '["A", "B"]',
    "top-level string": '"A"',
    "not JSON": "A=b\nC=d",
    "name starting with a digit": '{"1BAD": "x"}',
    "name with a dash": '{"HAS-DASH": "x"}',
    "empty name": '{"": "x"}',
  };
  const failures = [];
  for (const [label, text] of Object.entries(cases)) {
    const name = uniqueName("compat-badkeys");
    const response = await rawRequest(`/accounts/projects/${env.projectId}/secrets`, {
      method: "POST",
      body: { name, type: "keys", data_base64: b64(text) },
    });
    if (response.status !== 400) {
      failures.push(`${label}: status ${response.status} ${response.text.slice(0, 120)}`);
      if (response.json && typeof response.json.id === "string") {
        const id = response.json.id;
        cleanups.push(() => restClient().deleteProjectSecret(env.projectId, id));
      }
    }
  }
  assert.deepEqual(failures, [], "every malformed keys value must be rejected with 400");
});

test("a docker secret that is not {server, username, password, email?} strings is rejected with 400", T, async () => {
  const env = await serverReady();
  const cases = {
    "missing password": { server: "r.example.com", username: "u" },
    "number password": { server: "r.example.com", username: "u", password: 5 },
    "not an object": ["r.example.com", "u", "p"],
  };
  const failures = [];
  for (const [label, value] of Object.entries(cases)) {
    const response = await rawRequest(`/accounts/projects/${env.projectId}/secrets`, {
      method: "POST",
      body: { name: uniqueName("compat-baddocker"), type: "docker", data_base64: b64(JSON.stringify(value)) },
    });
    if (response.status !== 400) {
      failures.push(`${label}: status ${response.status} ${response.text.slice(0, 120)}`);
      if (response.json && typeof response.json.id === "string") {
        const id = response.json.id;
        cleanups.push(() => restClient().deleteProjectSecret(env.projectId, id));
      }
    }
  }
  assert.deepEqual(failures, [], "every malformed docker value must be rejected with 400");
});

test("a project secret value over the size limit is rejected with 413 (default 64 KiB)", T, async () => {
  const env = await serverReady();
  // KEYROOM_SECRET_MAX_BYTES may be set when the server runs with a non-default limit.
  const limit = Number(process.env.KEYROOM_SECRET_MAX_BYTES || 64 * 1024);
  const client = restClient();
  const filler = (size) => {
    const prefix = '{"BIG":"';
    const suffix = '"}';
    return prefix + "x".repeat(size - prefix.length - suffix.length) + suffix;
  };
  const atLimit = uniqueName("compat-atlimit");
  const id = await step("createProjectSecret(exactly at the limit)", () =>
    client.createProjectSecret({ projectId: env.projectId, name: atLimit, type: "keys", data: utf8(filler(limit)) }),
  );
  cleanups.push(() => client.deleteProjectSecret(env.projectId, id));
  const name = uniqueName("compat-toolarge");
  const response = await rawRequest(`/accounts/projects/${env.projectId}/secrets`, {
    method: "POST",
    body: { name, type: "keys", data_base64: b64(filler(limit + 1)) },
  });
  assertProblem(response, 413, "too_large", "secret one byte over the limit");
});

test("a secret create body missing name, type or data_base64 is rejected with 400", T, async () => {
  const env = await serverReady();
  const bodies = {
    "empty object": {},
    "no data_base64": { name: uniqueName("compat-nodata"), type: "keys" },
    "no name": { type: "keys", data_base64: b64('{"A":"b"}') },
  };
  const failures = [];
  for (const [label, body] of Object.entries(bodies)) {
    const response = await rawRequest(`/accounts/projects/${env.projectId}/secrets`, { method: "POST", body });
    if (response.status !== 400) {
      failures.push(`${label}: status ${response.status} ${response.text.slice(0, 120)}`);
      if (response.json && typeof response.json.id === "string") {
        const id = response.json.id;
        cleanups.push(() => restClient().deleteProjectSecret(env.projectId, id));
      }
    }
  }
  assert.deepEqual(failures, [], "every incomplete body must be rejected with 400");
});
