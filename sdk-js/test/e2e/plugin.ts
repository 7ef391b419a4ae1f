// A small plugin on the seed's ch. 8 Client, for the conformance kit: a counter action and a
// dial. Launched as the host launches plugins (`token`, `LOGI_PLUGIN_ENDPOINT`); `--json` makes
// it speak JSON text over a ws:// endpoint; `--browser` makes it connect as in a browser (the
// endpoint and code passed as options, a WebSocket with only the browser's API). A press also logs it (a message of the plugin's own,
// for the kit's `retry-after-holds`). It exits when the connection ends: the kit plays one
// manager, so reconnecting is turned off.
import { Client } from "../../src/client.js";
import { BrowserWebSocket } from "../support/browser-websocket.js";
import { makeMessage } from "../../src/codec.js";
import { LogEvent_LOG_LEVEL } from "../../gen/logi/plugin/protocol/protocol_pb.js";

const browser = process.argv.includes("--browser");
const client = new Client({
  pluginId: "com.example.js-counter",
  pluginVersion: "0.1.0",
  useTextFormat: process.argv.includes("--json"),
  reconnect: false,
  // A page has no environment: it would be given these; here they are the host's.
  ...(browser && {
    pluginCode: process.env["token"],
    endpoint: process.env["LOGI_PLUGIN_ENDPOINT"],
    WebSocket: BrowserWebSocket,
  }),
});

let presses = 0;
let value = 50;

/** The dial's status, clamped to its range. */
function dial(controlId: string, instanceId: string) {
  return makeMessage("AnalogControlStatus", {
    analogControlId: controlId,
    analogControlInstanceId: instanceId,
    minValue: 0,
    maxValue: 100,
    currentValue: value,
  });
}

client.onTriggerAction = (action) => {
  ++presses;
  client.sendMessage("LogEvent", 0, { logLevel: LogEvent_LOG_LEVEL.INFO, message: `pressed ${presses} times` });
  return makeMessage("ActionCellStatus", {
    actionInstanceId: action.actionInstanceId,
    actionId: action.actionId,
    text: `${presses}`,
  });
};
client.onReleaseAction = () => undefined;
client.onUpdateAnalogControl = (update) => {
  const { updateType } = update;
  value = updateType.case === "delta" ? value + updateType.value : updateType.case === "value" ? updateType.value : value;
  value = Math.min(100, Math.max(0, value));
  return dial(update.analogControlId, update.instanceId);
};
client.onGetAnalogControlValue = (get) => dial(get.analogControlId, get.instanceId);
client.onVisibilityChanged = (change) =>
  change.controlId.includes("dial")
    ? dial(change.controlId, change.actionInstanceId)
    : makeMessage("ActionCellStatus", { actionId: change.controlId, actionInstanceId: change.actionInstanceId, text: `${presses}` });
client.onError = (error) => console.error(`plugin: ${error.message}`);
client.onStopped = (reason) => {
  console.error(`plugin: connection ended: ${reason}`);
  process.exit(0);
};

client.init().catch((error: Error) => {
  console.error(`plugin: ${error.message}`);
  process.exit(1);
});
