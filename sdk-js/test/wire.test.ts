// What the client answers on the wire to input the Rust core refuses: the same answer the Rust
// SDK gives (src/session/link.rs: an unreadable envelope is answered INVALID_ARG with id 0, a
// readable one whose message is not with its own id).
import assert from "node:assert/strict";
import { test } from "node:test";

import { Client } from "../src/client.js";
import { makeEnvelope, makeMessage } from "../src/codec.js";
import { ResponseInfo_Code } from "../gen/logi/plugin/protocol/protocol_pb.js";
import { PLUGIN, acceptHello, isError, pingIsAnswered, withClient } from "./support/client.js";
import { FakeManager } from "./support/fake-manager.js";

test("a JSON request nested deeper than 64 levels is answered INVALID_ARG with id 0, and the plugin goes on", async () => {
  const manager = await FakeManager.webSocket();
  const client = new Client({ ...PLUGIN, endpoint: manager.endpoint, useTextFormat: true });
  try {
    const init = client.init();
    await acceptHello(manager, true);
    await init;
    manager.sendRaw(
      `{"id":5,"message":{"@type":"type.googleapis.com/logi.plugin.protocol.TriggerAction","bogus":${"[".repeat(63)}${"]".repeat(63)}}}`,
    );
    const answer = await manager.nextEnvelope();
    isError(answer, 0, ResponseInfo_Code.INVALID_ARG);
    assert.match(answer.response?.what ?? "", /nesting deeper than 64 levels/);
    assert.equal(client.stats.unreadable, 1);
    await pingIsAnswered(manager, 6, true);
  } finally {
    client.close();
    await manager.close();
  }
});

test("a binary request whose type URL is not UTF-8 is answered NOT_IMPLEMENTED with its id", async () => {
  await withClient(async (manager, client) => {
    const typeUrl = [0xff, ...new TextEncoder().encode("/logi.plugin.protocol.Ping")];
    const any = [0x0a, typeUrl.length, ...typeUrl];
    manager.sendRaw(Uint8Array.of(0x08, 9, 0x12, any.length, ...any));
    isError(await manager.nextEnvelope(), 9, ResponseInfo_Code.NOT_IMPLEMENTED);
    assert.equal(client.stats.errorAnswers, 1);
    manager.send(makeEnvelope(10, makeMessage("Ping")));
    assert.equal((await manager.nextEnvelope()).message?.$typeName, "logi.plugin.protocol.Pong");
  });
});
