// The seed's ch. 8 Client against a fake manager: the hello, Ping, the callbacks, the answers,
// and bad input from the wire, over the local socket and over WebSocket in both modes.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Client } from "../src/client.js";
import { makeEnvelope, makeMessage } from "../src/codec.js";
import { ENDPOINT_PREFIX, defaultEndpoint, parseEndpoint, userNameHash } from "../src/endpoint.js";
import {
  ResponseInfo_Code,
  type ActionCellStatus,
  type PluginHello,
  type Settings,
  type TriggerAction,
} from "../gen/logi/plugin/protocol/protocol_pb.js";
import { PLUGIN, isError, pingIsAnswered, withClient } from "./support/client.js";
import { FakeManager } from "./support/fake-manager.js";

/** Runs `body` with the environment variable `name` set to `value` (unset for `undefined`), then restores it. */
async function withEnv(name: string, value: string | undefined, body: () => Promise<void>): Promise<void> {
  const saved = process.env[name];
  const set = (to: string | undefined) => {
    if (to === undefined) delete process.env[name];
    else process.env[name] = to;
  };
  set(value);
  try {
    await body();
  } finally {
    set(saved);
  }
}

test("the hello carries the plugin's id, the code from `token`, its version and protocol 1", async () => {
  const manager = await FakeManager.local();
  try {
    await withEnv("token", "from-the-host", async () => {
      const client = new Client({ pluginId: "com.example.js", pluginVersion: "2.0.0", endpoint: manager.endpoint });
      let greeted = "";
      client.onHello = (hello) => (greeted = hello.managerVersion);
      const init = client.init();
      const hello = await manager.nextEnvelope();
      const body = hello.message as PluginHello;
      assert.equal(hello.id, 1);
      assert.equal(hello.response, undefined);
      assert.deepEqual(
        [body.$typeName, body.pluginId, body.pluginCode, body.pluginVersion, body.protocolVersion],
        ["logi.plugin.protocol.PluginHello", "com.example.js", "from-the-host", "2.0.0", 1],
      );
      manager.send(makeEnvelope(1, makeMessage("ManagerHello", { managerVersion: "9.9.9", languageCode: "fr-FR" }), { result: ResponseInfo_Code.SUCCESS }));
      assert.equal((await init).managerVersion, "9.9.9");
      assert.equal(greeted, "9.9.9");
      assert.equal(client.languageCode, "fr-FR");
      assert.ok(client.isConnected);
      client.close();
    });
  } finally {
    await manager.close();
  }
});

test("the endpoint comes from LOGI_PLUGIN_ENDPOINT when none is given", async () => {
  const manager = await FakeManager.local();
  try {
    await withEnv("LOGI_PLUGIN_ENDPOINT", manager.endpoint, async () => {
      const client = new Client(PLUGIN);
      void client.init().catch(() => {});
      assert.equal((await manager.nextEnvelope()).message?.$typeName, "logi.plugin.protocol.PluginHello");
      client.close();
    });
  } finally {
    await manager.close();
  }
});

test("without a code or `token` init fails naming the variable", async () => {
  await withEnv("token", undefined, async () => {
    const client = new Client({ pluginId: "p", pluginVersion: "1" });
    await assert.rejects(client.init(), /`token` environment variable/);
  });
});

test("a refused hello fails init with the manager's code and reason, and closes", async () => {
  const manager = await FakeManager.local();
  try {
    const client = new Client({ ...PLUGIN, endpoint: manager.endpoint });
    const init = client.init();
    await manager.nextEnvelope();
    manager.send(makeEnvelope(1, undefined, { result: ResponseInfo_Code.UNAUTHORIZED, what: "wrong code" }));
    await assert.rejects(init, /refused the hello: UNAUTHORIZED \(wrong code\)/);
    await manager.disconnected;
  } finally {
    await manager.close();
  }
});

test("an endpoint nobody listens on fails init naming it", async () => {
  const client = new Client({ ...PLUGIN, endpoint: "/nonexistent/logi.sock" });
  await assert.rejects(client.init(), /cannot connect to the local socket \/nonexistent\/logi.sock/);
});

test("a Ping is answered with Pong and SUCCESS under its id", async () => {
  await withClient(async (manager) => {
    await pingIsAnswered(manager, 7);
  });
});

test("a request the plugin has no callback for is answered NOT_IMPLEMENTED", async () => {
  await withClient(async (manager, client) => {
    manager.send(makeEnvelope(3, makeMessage("GetUserInfoList")));
    isError(await manager.nextEnvelope(), 3, ResponseInfo_Code.NOT_IMPLEMENTED);
    assert.equal(client.stats.errorAnswers, 1);
  });
});

test("a TriggerAction reaches onTriggerAction and sendResponseMessage answers it once", async () => {
  await withClient(async (manager, client) => {
    client.onTriggerAction = (message: TriggerAction, id: number) => {
      client.sendResponseMessage("ActionCellStatus", id, {
        actionInstanceId: message.actionInstanceId,
        actionId: message.actionId,
        text: "pressed",
      });
      assert.throws(() => client.sendResponseMessage(null, id), /no request 4 from the manager is waiting/);
    };
    manager.send(makeEnvelope(4, makeMessage("TriggerAction", { actionInstanceId: "i1", actionId: "a1" })));
    const answer = await manager.nextEnvelope();
    const status = answer.message as ActionCellStatus;
    assert.equal(answer.id, 4);
    assert.equal(answer.response?.result, ResponseInfo_Code.SUCCESS);
    assert.deepEqual([status.$typeName, status.actionInstanceId, status.text], ["logi.plugin.protocol.ActionCellStatus", "i1", "pressed"]);
  });
});

test("a callback's returned message is the SUCCESS answer, also when it resolves later", async () => {
  await withClient(async (manager, client) => {
    client.onReleaseAction = () => makeMessage("ActionCellStatus", { text: "now" });
    client.onUpdateAnalogControl = async (update) =>
      makeMessage("AnalogControlStatus", { currentValue: update.updateType.case === "delta" ? update.updateType.value : 0 });
    manager.send(makeEnvelope(5, makeMessage("ReleaseAction", { actionId: "a" })));
    assert.equal((await manager.nextEnvelope()).response?.result, ResponseInfo_Code.SUCCESS);
    manager.send(makeEnvelope(6, makeMessage("UpdateAnalogControl", { updateType: { case: "delta", value: 2 } })));
    const answer = await manager.nextEnvelope();
    assert.equal(answer.id, 6);
    assert.equal((answer.message as unknown as { currentValue: number }).currentValue, 2);
  });
});

test("a callback that throws gets its request answered EXCEPTION and the plugin goes on", async () => {
  await withClient(async (manager, client) => {
    const errors: string[] = [];
    client.onError = (error) => errors.push(error.message);
    client.onTriggerAction = () => {
      throw new Error("boom");
    };
    client.onVisibilityChanged = async () => {
      throw new Error("later boom");
    };
    manager.send(makeEnvelope(8, makeMessage("TriggerAction")));
    isError(await manager.nextEnvelope(), 8, ResponseInfo_Code.EXCEPTION);
    manager.send(makeEnvelope(9, makeMessage("VisibilityChanged")));
    isError(await manager.nextEnvelope(), 9, ResponseInfo_Code.EXCEPTION);
    await pingIsAnswered(manager, 10);
    assert.deepEqual(errors, ["boom", "later boom"]);
    assert.equal(client.stats.callbackErrors, 2);
  });
});

test("a request of an unknown type is answered NOT_IMPLEMENTED naming the URL", async () => {
  await withClient(async (manager) => {
    const unknown = makeEnvelope(11, undefined);
    unknown.message = { $typeName: "google.protobuf.Any", typeUrl: "type.googleapis.com/logi.plugin.protocol.Future", value: new Uint8Array() };
    manager.send(unknown);
    const answer = await manager.nextEnvelope();
    isError(answer, 11, ResponseInfo_Code.NOT_IMPLEMENTED);
    assert.match(answer.response?.what ?? "", /logi\.plugin\.protocol\.Future/);
    await pingIsAnswered(manager, 12);
  });
});

test("an envelope with neither a message nor an answer is answered INVALID_ARG, and at id 0 counted as a drop", async () => {
  await withClient(async (manager, client) => {
    manager.send(makeEnvelope(15, undefined));
    const answer = await manager.nextEnvelope();
    isError(answer, 15, ResponseInfo_Code.INVALID_ARG);
    assert.equal(answer.response?.what, "a request must carry a message");
    manager.send(makeEnvelope(0, undefined));
    await pingIsAnswered(manager, 16);
    assert.equal(client.stats.dropped, 1);
  });
});

test("a description the client writes itself is cut to 1024 bytes at a character boundary", async () => {
  await withClient(async (manager) => {
    const unknown = makeEnvelope(17, undefined);
    const name = "é".repeat(700);
    unknown.message = { $typeName: "google.protobuf.Any", typeUrl: `type.googleapis.com/logi.plugin.protocol.${name}`, value: new Uint8Array() };
    manager.send(unknown);
    const answer = await manager.nextEnvelope();
    isError(answer, 17, ResponseInfo_Code.NOT_IMPLEMENTED);
    const what = answer.response?.what ?? "";
    assert.ok(new TextEncoder().encode(what).length <= 1024, `${what.length} characters`);
    assert.ok(what.endsWith("é..."), what.slice(-10));
  });
});

test("a request whose body does not decode is answered INVALID_ARG", async () => {
  await withClient(async (manager, client) => {
    client.onTriggerAction = () => assert.fail("an unreadable request reached the callback");
    const bad = makeEnvelope(13, undefined);
    bad.message = { $typeName: "google.protobuf.Any", typeUrl: "type.googleapis.com/logi.plugin.protocol.TriggerAction", value: Uint8Array.of(0x0a, 0x09) };
    manager.send(bad);
    isError(await manager.nextEnvelope(), 13, ResponseInfo_Code.INVALID_ARG);
  });
});

test("a frame that is no envelope is answered INVALID_ARG with id 0, counted, and the plugin goes on", async () => {
  await withClient(async (manager, client) => {
    manager.sendRaw(Uint8Array.of(0xff, 0xff, 0xff));
    isError(await manager.nextEnvelope(), 0, ResponseInfo_Code.INVALID_ARG);
    assert.equal(client.stats.unreadable, 1);
    await pingIsAnswered(manager, 14);
  });
});

test("a frame announcing more than 8 MiB closes the connection without reading it", async () => {
  await withClient(async (manager, client) => {
    const closed = new Promise<string>((resolve) => (client.onClose = resolve));
    manager.sendRaw(Uint8Array.of(0x81, 0x80, 0x80, 0x04), false);
    assert.match(await closed, /announces 8388609 bytes, over the limit of 8388608 bytes/);
    assert.equal(client.isConnected, false);
  });
});

test("sendMessage sends a request whose answer reaches onSettings and onResponse; a stray answer is dropped", async () => {
  await withClient(async (manager, client) => {
    const settings: [string, number][] = [];
    const responses: number[] = [];
    client.onSettings = (message: Settings, id: number) => settings.push([message.settingValue, id]);
    client.onResponse = (id) => responses.push(id);
    const id = client.sendMessage("SettingsRequest", null, { settingName: "theme" });
    assert.equal(id, 2);
    const request = await manager.nextEnvelope();
    assert.deepEqual([request.id, request.response, request.message?.$typeName], [2, undefined, "logi.plugin.protocol.SettingsRequest"]);
    manager.send(makeEnvelope(2, makeMessage("Settings", { settingName: "theme", settingValue: "dark" }), { result: ResponseInfo_Code.SUCCESS }));
    manager.send(makeEnvelope(2, makeMessage("Settings", { settingValue: "again" }), { result: ResponseInfo_Code.SUCCESS }));
    await pingIsAnswered(manager, 15);
    assert.deepEqual(settings, [["dark", 2]]);
    assert.deepEqual(responses, [2]);
    assert.equal(client.stats.dropped, 1);
  });
});

test("sendMessage with id 0 sends a notification, and refuses an id in use", async () => {
  await withClient(async (manager, client) => {
    client.sendMessage("ActionCellStatus", 0, { actionId: "a", text: "on" });
    const status = await manager.nextEnvelope();
    assert.deepEqual([status.id, status.response, status.message?.$typeName], [0, undefined, "logi.plugin.protocol.ActionCellStatus"]);
    client.sendMessage("SettingsRequest", 40, { settingName: "x" });
    assert.throws(() => client.sendMessage("SettingsRequest", 40, {}), /request id 40 is already in use/);
    assert.throws(() => client.sendMessage("SettingsRequest", -1, {}), /message id -1 is not a whole number/);
    assert.throws(() => client.sendMessage("NoSuchType", 0, {}), /"NoSuchType" is not in proto/);
  });
});

test("notifications reach onSavedData and onRetryAfter and are never answered", async () => {
  await withClient(async (manager, client) => {
    const seen: string[] = [];
    client.onSavedData = (data) => seen.push(`saved ${data.settings.length}`);
    client.onRetryAfter = (retry) => seen.push(`retry ${retry.interval}`);
    manager.send(makeEnvelope(0, makeMessage("SavedData", { settings: [{ settingName: "a" }] })));
    manager.send(makeEnvelope(0, makeMessage("RetryAfter", { interval: 250 })));
    await pingIsAnswered(manager, 16);
    assert.deepEqual(seen, ["saved 1", "retry 250"]);
  });
});

test("an error answer carries the code by name or number and its text", async () => {
  await withClient(async (manager, client) => {
    let n = 0;
    client.onTriggerAction = (_message, id) =>
      client.sendResponseMessage(null, id, null, n++ === 0 ? { code: "NOT_FOUND", what: "no such thing" } : new Error("broke"));
    manager.send(makeEnvelope(17, makeMessage("TriggerAction")));
    const first = await manager.nextEnvelope();
    isError(first, 17, ResponseInfo_Code.NOT_FOUND);
    assert.equal(first.response?.what, "no such thing");
    manager.send(makeEnvelope(18, makeMessage("TriggerAction")));
    const second = await manager.nextEnvelope();
    isError(second, 18, ResponseInfo_Code.FAULTED);
    assert.equal(second.response?.what, "broke");
  });
});

for (const text of [false, true]) {
  const mode = text ? "JSON text" : "binary";
  test(`over WebSocket in ${mode}, every frame the plugin sends is ${mode} and Ping is answered`, async () => {
    const manager = await FakeManager.webSocket();
    try {
      const client = new Client({ ...PLUGIN, endpoint: manager.endpoint, useTextFormat: text });
      const init = client.init();
      const hello = await manager.next();
      assert.equal(hello.text, text);
      assert.equal(hello.incoming?.message?.$typeName, "logi.plugin.protocol.PluginHello");
      manager.send(makeEnvelope(1, makeMessage("ManagerHello"), { result: ResponseInfo_Code.SUCCESS }), text);
      await init;
      assert.equal(client.format, text ? "json" : "binary");
      manager.send(makeEnvelope(3, makeMessage("Ping")), text);
      const pong = await manager.next();
      assert.equal(pong.text, text);
      assert.equal(pong.incoming?.message?.$typeName, "logi.plugin.protocol.Pong");
      manager.sendRaw(text ? "{not json" : Uint8Array.of(0xff));
      const refusal = await manager.next();
      assert.equal(refusal.text, text);
      isError(refusal.incoming!, 0, ResponseInfo_Code.INVALID_ARG);
      client.close();
      await manager.disconnected;
    } finally {
      await manager.close();
    }
  });
}

test("the default local socket is the seed's name with the user's FNV-1a hash", () => {
  assert.equal(userNameHash(""), "cbf29ce484222325");
  assert.equal(userNameHash("a"), "af63dc4c8601ec8c");
  assert.equal(
    defaultEndpoint({ USER: "a", XDG_RUNTIME_DIR: "/run/user/7" }),
    `/run/user/7/${ENDPOINT_PREFIX}af63dc4c8601ec8c`,
  );
  assert.deepEqual(parseEndpoint("ws://127.0.0.1:1/x"), { kind: "websocket", url: "ws://127.0.0.1:1/x" });
  assert.deepEqual(parseEndpoint("/tmp/s"), { kind: "local", path: "/tmp/s" });
});
