// Requests the plugin sends, correlated with their answers: a promise that resolves with the
// answer, or rejects naming the message when no answer comes in time or the connection ends.
import assert from "node:assert/strict";
import { test } from "node:test";

import { RequestClosedError, RequestTimeoutError } from "../src/client.js";
import { makeEnvelope, makeMessage } from "../src/codec.js";
import { ResponseInfo_Code, type Settings } from "../gen/logi/plugin/protocol/protocol_pb.js";
import { pingIsAnswered, until, withClient } from "./support/client.js";

test("request resolves with the manager's answer to it, whatever its code", async () => {
  await withClient(async (manager, client) => {
    const theme = client.request("SettingsRequest", { settingName: "theme" });
    const missing = client.request("SettingsRequest", { settingName: "missing" });
    const [first, second] = [await manager.nextEnvelope(), await manager.nextEnvelope()];
    // Answered out of order: each answer finds its own request.
    manager.send(makeEnvelope(second.id, undefined, { result: ResponseInfo_Code.NOT_FOUND, what: "no setting missing" }));
    manager.send(makeEnvelope(first.id, makeMessage("Settings", { settingName: "theme", settingValue: "dark" }), { result: ResponseInfo_Code.SUCCESS }));
    const answer = await theme;
    assert.deepEqual([answer.id, answer.response.result, (answer.message as Settings).settingValue], [first.id, ResponseInfo_Code.SUCCESS, "dark"]);
    const refused = await missing;
    assert.deepEqual([refused.response.result, refused.response.what], [ResponseInfo_Code.NOT_FOUND, "no setting missing"]);
  });
});

test("a request with no answer in time is rejected naming the message, and a late answer is dropped", async () => {
  await withClient(async (manager, client) => {
    const asked = client.request("SettingsRequest", { settingName: "theme" }, { timeoutMs: 50 });
    const request = await manager.nextEnvelope();
    await assert.rejects(asked, (error: unknown) => {
      assert.ok(error instanceof RequestTimeoutError);
      assert.equal(error.message, `no answer to logi.plugin.protocol.SettingsRequest (request ${request.id}) within 50 ms`);
      return true;
    });
    manager.send(makeEnvelope(request.id, makeMessage("Settings"), { result: ResponseInfo_Code.SUCCESS }));
    await pingIsAnswered(manager, 30);
    assert.deepEqual([client.stats.timeouts, client.stats.dropped], [1, 1]);
  });
});

test("a request sent with sendMessage that times out is reported to onError", async () => {
  await withClient(
    async (_manager, client) => {
      const errors: Error[] = [];
      client.onError = (error) => errors.push(error);
      const id = client.sendMessage("SettingsRequest", null, { settingName: "theme" });
      await until(() => errors.length > 0, "the timeout was reported");
      assert.ok(errors[0] instanceof RequestTimeoutError);
      assert.equal(errors[0].message, `no answer to logi.plugin.protocol.SettingsRequest (request ${id}) within 40 ms`);
    },
    { requestTimeoutMs: 40, reconnect: false },
  );
});

test("a request in flight when the connection ends is rejected naming it and why", async () => {
  await withClient(
    async (manager, client) => {
      const asked = client.request("SettingsRequest", { settingName: "theme" });
      const request = await manager.nextEnvelope();
      manager.drop();
      await assert.rejects(asked, (error: unknown) => {
        assert.ok(error instanceof RequestClosedError);
        assert.match(error.message, new RegExp(`^no answer to logi\\.plugin\\.protocol\\.SettingsRequest \\(request ${request.id}\\): the connection ended \\(local socket .*\\)$`));
        return true;
      });
    },
    { reconnect: false },
  );
});
