// The handler API on the mock host: what each hook answers, what it stores, what it logs, and
// what the plugin refuses without a hook (the Rust SDK's sdk/tests/handler.rs, in JS).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  ResponseInfo_Code,
  type AnalogControlStatus,
  type AnalogControlStatusList,
  type PluginActionConfigurationSchemeResponse,
  type UserInfoList,
} from "../gen/logi/plugin/protocol/protocol_pb.js";
import { Plugin, Refusal, Status, type Action, type AnalogControl, type Cx, type Login } from "../src/index.js";
import { MockHost } from "../src/mock.js";
import { counter } from "./counter.js";
import { withHost as on } from "./support/host.js";

/** An instance's own label, set by its configuration form. */
interface Label {
  text: string;
}

/** A key whose instances each keep their own label; it logs each press. */
const labelled: Action<Record<string, never>> = {
  id: "labelled",
  keyDown(cx) {
    cx.log.info(`pressed ${cx.instanceId}`);
    return Status.text(cx.instance<Label>({ text: "" }).text);
  },
  appeared(cx) {
    return Status.text(`shown in ${cx.language}`);
  },
  configurationScheme() {
    return '{"type":"object","properties":{"label":{"type":"string"}}}';
  },
  configured(cx, form) {
    const label = (form as { label?: unknown }).label;
    if (typeof label !== "string") {
      return new Refusal("INVALID_ARG", "`label` must be a string");
    }
    cx.instance<Label>({ text: "" }).text = label;
  },
};

/** A plugin with the labelled key only. */
function labels(): Plugin<Record<string, never>> {
  return new Plugin({ pluginId: "com.example.labels", pluginVersion: "1.0.0" }).action(labelled);
}

test("each instance keeps its own settings", () =>
  on(labels(), async (host) => {
    assert.equal((await host.configure("labelled", "key-1", { label: "one" })).code, ResponseInfo_Code.SUCCESS);
    assert.equal((await host.configure("labelled", "key-2", { label: "two" })).code, ResponseInfo_Code.SUCCESS);
    assert.equal((await host.press("labelled", "key-1")).text, "one");
    assert.equal((await host.press("labelled", "key-2")).text, "two");
    assert.equal(host.setting("instance/key-1"), '{"text":"one"}');
    assert.equal(host.setting("instance/key-2"), '{"text":"two"}');
  }));

test("a refusal's code and reason are the answer on the wire, and nothing is stored", () =>
  on(labels(), async (host) => {
    const answer = await host.configure("labelled", "key-1", { label: 3 });
    assert.equal(answer.code, ResponseInfo_Code.INVALID_ARG);
    assert.equal(answer.why, "`label` must be a string");
    assert.equal(host.setting("instance/key-1"), undefined);
  }));

test("a thrown refusal is answered as one returned", () =>
  on(
    new Plugin({ pluginId: "com.example.busy", pluginVersion: "1.0.0" }).action({
      id: "busy",
      keyDown() {
        throw new Refusal("UNREACHABLE", "the printer is offline");
      },
    }),
    async (host) => {
      const answer = await host.press("busy", "key-1");
      assert.equal(answer.code, ResponseInfo_Code.UNREACHABLE);
      assert.equal(answer.why, "the printer is offline");
    },
  ));

test("a form that is not JSON is refused INVALID_ARG", () =>
  on(labels(), async (host) => {
    const answer = await host.request("PluginActionConfigurationResponse", {
      actionInstanceId: "key-1",
      actionId: "labelled",
      formResult: "{not json",
    });
    assert.equal(answer.code, ResponseInfo_Code.INVALID_ARG);
    assert.match(answer.why, /^the form is not JSON/);
  }));

test("the configuration form's schema is the hook's", () =>
  on(labels(), async (host) => {
    const answer = await host.request("PluginActionConfigurationSchemeRequest", {
      actionId: "labelled",
      actionInstanceId: "key-1",
    });
    assert.equal(answer.code, ResponseInfo_Code.SUCCESS, answer.why);
    const scheme = answer.message as PluginActionConfigurationSchemeResponse;
    assert.equal(scheme.actionInstanceId, "key-1");
    assert.deepEqual(JSON.parse(scheme.jsonSchema ?? ""), {
      type: "object",
      properties: { label: { type: "string" } },
    });
  }));

test("log lines reach the manager's log as LogEvents", () =>
  on(labels(), async (host) => {
    await host.press("labelled", "key-7");
    assert.ok(host.logs().includes("INFO: pressed key-7"), host.logs().join("\n"));
  }));

test("a hook that throws is answered EXCEPTION and logged", () =>
  on(
    new Plugin({ pluginId: "com.example.broken", pluginVersion: "1.0.0" }).action({
      id: "broken",
      keyDown() {
        throw new TypeError("cannot read 'x' of undefined");
      },
    }),
    async (host) => {
      const answer = await host.press("broken", "key-1");
      assert.equal(answer.code, ResponseInfo_Code.EXCEPTION);
      assert.match(answer.why, /keyDown of action "broken".*cannot read 'x' of undefined/);
      assert.ok(
        host.logs().some((line) => line.startsWith("ERROR: ") && line.includes("cannot read 'x' of undefined")),
        host.logs().join("\n"),
      );
    },
  ));

test("an action the plugin does not have is refused NOT_FOUND naming it", () =>
  on(labels(), async (host) => {
    const answer = await host.press("missing", "key-1");
    assert.equal(answer.code, ResponseInfo_Code.NOT_FOUND);
    assert.ok(answer.why.includes('"missing"'), answer.why);
  }));

test("a request no hook can answer is refused NOT_IMPLEMENTED", () =>
  on(labels(), async (host) => {
    // No analog control: their updates have no callback at all.
    assert.equal((await host.turn("dial", "dial-1", 1)).code, ResponseInfo_Code.NOT_IMPLEMENTED);
    // An action without a release hook changes nothing on release; without login hooks, a login is refused.
    assert.equal((await host.request("InitLogin", { redirectUrl: "" })).code, ResponseInfo_Code.NOT_IMPLEMENTED);
  }));

/** A dial that shows its value and range, with no buffer. */
class Dial implements AnalogControl<Record<string, never>> {
  readonly id = "dial";
  readonly buffer = "none";
  turned(_cx: Cx<Record<string, never>>, turn: { delta: number }): Status {
    return Status.text("turned").withValue(turn.delta).withRange(-10, 10);
  }
}

test("a control, a class instance, answers with its value and range", () =>
  on(new Plugin({ pluginId: "com.example.dial", pluginVersion: "1.0.0" }).control(new Dial()), async (host) => {
    const answer = await host.turn("dial", "dial-1", 3);
    assert.equal(answer.value, 3);
    const status = answer.message as AnalogControlStatus;
    assert.equal(status.$typeName, "logi.plugin.protocol.AnalogControlStatus");
    assert.deepEqual([status.minValue, status.maxValue, status.analogControlInstanceId], [-10, 10, "dial-1"]);
  }));

test("a resync answers the status of every instance it shows", () =>
  on(labels(), async (host) => {
    const shown = (instance: string, visible: boolean) => ({ controlId: "labelled", actionInstanceId: instance, visible });
    const answer = await host.request("VisibilityChangedList", {
      visibility: [shown("key-1", true), shown("key-2", false), shown("key-3", true)],
    });
    const list = answer.message as AnalogControlStatusList;
    assert.deepEqual(
      list.actionStatuses.map((status) => status.actionInstanceId),
      ["key-1", "key-3"],
    );
    assert.equal(list.actionStatuses[0]?.text, "shown in en-US");
  }));

test("a hook that changed settings inside a RetryAfter window is refused NOT_READY at once, and logged", () =>
  on(counter(), async (host) => {
    await host.retryAfter(1000);
    const answer = await host.press("count", "key-1");
    assert.equal(answer.code, ResponseInfo_Code.NOT_READY);
    assert.match(answer.why, /slow down .* ms more: nothing was changed/);
    assert.equal(host.setting("plugin"), undefined);
    // The log line is the plugin's own message: held until the window ends.
    await host.advance(1000);
    assert.ok(
      host.logs().some((line) => line.startsWith("WARNING: ") && line.includes("nothing was changed")),
      host.logs().join("\n"),
    );
    assert.equal((await host.press("count", "key-1")).text, "1");
  }));

test("presses refused inside one RetryAfter window are logged once, and again in the next window", () =>
  on(counter(), async (host) => {
    const refusals = () => host.logs().filter((line) => line.includes("nothing was changed")).length;
    await host.retryAfter(1000);
    for (let press = 0; press < 3; press++) {
      assert.equal((await host.press("count", "key-1")).code, ResponseInfo_Code.NOT_READY);
    }
    await host.advance(1000);
    assert.equal(refusals(), 1, host.logs().join("\n"));
    await host.retryAfter(1000);
    await host.press("count", "key-1");
    await host.advance(1000);
    assert.equal(refusals(), 2, host.logs().join("\n"));
  }));

test("a hook that changed nothing inside a RetryAfter window is answered as usual", () =>
  on(labels(), async (host) => {
    await host.retryAfter(1000);
    assert.equal((await host.show("labelled", "key-1")).text, "shown in en-US");
  }));

/** Keeps who is logged in, in the plugin's settings. */
interface Users {
  names: string[];
}

const account: Login<Users> = {
  token(cx, state) {
    cx.settings.names.push(state);
  },
  users(cx) {
    return cx.settings.names.map((name) => ({ username: name }));
  },
};

test("the login hooks answer the account requests and refuse what they leave out", () =>
  on(
    new Plugin<Users>({ pluginId: "com.example.account", pluginVersion: "1.0.0", settings: { names: [] } }).login(account),
    async (host) => {
      const token = await host.request("OauthResponse", { state: "ada", token: "secret" });
      assert.equal(token.code, ResponseInfo_Code.SUCCESS, token.why);
      const users = (await host.request("GetUserInfoList", {})).message as UserInfoList;
      assert.equal(users.userInfo[0]?.username, "ada");
      assert.equal((await host.request("InitLogin", { redirectUrl: "http://localhost/done" })).code, ResponseInfo_Code.NOT_IMPLEMENTED);
      assert.deepEqual(host.settings<Users>(), { names: ["ada"] });
    },
  ));

test("an async hook's status is the answer, and what it changed is stored first", () =>
  on(
    new Plugin<{ presses: number }>({ pluginId: "com.example.later", pluginVersion: "1.0.0", settings: { presses: 0 } }).action({
      id: "later",
      async keyDown(cx) {
        await Promise.resolve();
        cx.settings.presses++;
        return Status.text(`pressed ${cx.settings.presses}`);
      },
    }),
    async (host) => {
      assert.equal((await host.press("later", "key-1")).text, "pressed 1");
      assert.equal(host.setting("plugin"), '{"presses":1}');
    },
  ));

test("a hook that returns nothing is answered SUCCESS with no status", () =>
  on(
    new Plugin({ pluginId: "com.example.quiet", pluginVersion: "1.0.0" }).action({ id: "quiet", keyDown() {} }),
    async (host) => {
      const answer = await host.press("quiet", "key-1");
      assert.equal(answer.code, ResponseInfo_Code.SUCCESS, answer.why);
      assert.equal(answer.message, undefined);
    },
  ));

test("a setting changed again while the hook ran once more is answered CONFLICT, and nothing is shown", async () => {
  let host: MockHost | undefined;
  let runs = 0;
  const plugin = new Plugin<{ n: number }>({ pluginId: "com.example.race", pluginVersion: "1.0.0", settings: { n: 0 } }).action({
    id: "race",
    keyDown(cx) {
      runs++;
      // Another copy of the plugin writes each time this hook runs.
      host?.setSetting("plugin", JSON.stringify({ n: 100 + runs }));
      cx.settings.n++;
      return Status.text(String(cx.settings.n));
    },
  });
  host = await MockHost.start(plugin);
  try {
    const answer = await host.press("race", "key-1");
    assert.equal(answer.code, ResponseInfo_Code.CONFLICT, answer.why);
    assert.match(answer.why, /setting "plugin" changed again/);
    assert.equal(runs, 2);
    assert.equal(host.setting("plugin"), '{"n":102}');
  } finally {
    await host.close();
  }
});
