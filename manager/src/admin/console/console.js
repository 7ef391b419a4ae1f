// The developer console. It speaks only the manager's public surfaces:
// - the admin API: provd's /provd/pg_mgr and /provd/configure, and /logi/call (client-library
//   calls as JSON envelopes) and /logi/events (the host's events, server-sent);
// - the marketplace bridge (its "MessageName <json>" lines), when the manager opened it.
"use strict";

const CLIENT = "type.googleapis.com/logi.protocol.plugin_manager.";
const JSON_TYPE = "application/vnd.proformatique.provd+json";
const LOG_LINES = 400;
// A card shows as many of its plugin's log lines as the manager keeps.
const PLUGIN_LOG_LINES = 200;

const plugins = new Map(); // plugin id -> PluginDetails (canonical JSON)
let marketplace = null; // the open marketplace WebSocket
let callId = 0;

const $ = (selector, root = document) => root.querySelector(selector);

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

function log(kind, text) {
  const time = new Date().toLocaleTimeString();
  $("#log").prepend(element("li", { class: kind, text: `${time} ${kind} ${text}` }));
  while ($("#log").children.length > LOG_LINES) $("#log").lastElementChild.remove();
}

// One admin API request; its JSON answer, or an Error saying the manager's reason.
async function api(method, path, body) {
  const init = { method, headers: { Accept: JSON_TYPE } };
  if (body !== undefined) {
    init.headers["Content-Type"] = JSON_TYPE;
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  const value = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = value && value.error;
    throw new Error(error ? `${error.code}: ${error.message}` : `HTTP ${response.status}`);
  }
  return value;
}

// One client-library call (seed chapter 9); the answer's message, if any.
async function call(name, fields = {}) {
  const envelope = { id: ++callId, message: { "@type": CLIENT + name, ...fields } };
  log("call", `${name} ${JSON.stringify(fields)}`);
  try {
    const answer = await api("POST", "/logi/call", envelope);
    log("answer", `${name} ${JSON.stringify(answer.message || answer.response)}`);
    return answer.message;
  } catch (error) {
    log("error", `${name}: ${error.message}`);
    throw error;
  }
}

function stateText(details) {
  const state = (details.containerState || "CONTAINER_STATE_UNSPECIFIED")
    .replace("CONTAINER_STATE_", "");
  return `${state}${details.connected ? " · connected" : ""}`;
}

function render() {
  const list = $("#plugins");
  list.replaceChildren();
  if (plugins.size === 0) list.append(element("p", { class: "empty", text: "No plugin yet." }));
  for (const details of plugins.values()) list.append(card(details));
}

function card(details) {
  const id = details.pluginId;
  const section = element("section", { class: "plugin", "data-plugin": id },
    element("h2", { text: `${details.name || id} ` }, element("small", { text: details.version || "" })),
    element("p", {
      class: "state", "data-state": "", "data-value": details.containerState || "",
      text: stateText(details),
    }));
  if (details.problem) section.append(element("p", { class: "problem", text: details.problem }));
  const capabilities = element("div", { class: "capabilities" });
  section.append(capabilities);
  const login = element("button", { type: "button", "data-login": "", text: "Log in" });
  const logout = element("button", { type: "button", "data-logout": "", text: "Log out" });
  const reload = element("button", { type: "button", "data-reload": "", text: "Reload" });
  login.addEventListener("click", () => logIn(id));
  logout.addEventListener("click", () => call("InvokeLogout", { pluginId: id }).catch(() => {}));
  reload.addEventListener("click", () => reloadPlugin(id));
  section.append(element("div", { class: "actions" }, login, logout, reload));
  const stop = element("div", { class: "stop", "data-stop": "" });
  showStop(stop, details.lastStop);
  const lines = element("ol", { class: "plugin-log", "data-plugin-log": "" });
  section.append(stop, element("details", { class: "plugin-log", open: "" },
    element("summary", { text: "Log" }), lines));
  api("GET", `/provd/pg_mgr/plugins/${encodeURIComponent(id)}/info`)
    .then(({ plugin_info }) => showCapabilities(id, capabilities, plugin_info.capabilities))
    .catch((error) => log("error", `${id} info: ${error.message}`));
  // Its recent lines; those logged since come as host events, each once (by its seq).
  call("GetPluginLog", { pluginId: id })
    .then((answer) => ((answer && answer.lines) || []).forEach((line) => addLogLine(lines, line)))
    .catch(() => {});
  return section;
}

// Why the plugin's last run ended (PluginDetails.lastStop), with its last lines then.
function showStop(root, stop) {
  root.replaceChildren();
  if (!stop) return;
  const facts = [`got as far as: ${stop.stage || "?"}`];
  if (stop.exitCode !== undefined) facts.push(`exit code ${stop.exitCode}`);
  if (stop.signal !== undefined) facts.push(`signal ${stop.signal}`);
  if (stop.lastMessage) facts.push(`last message: ${stop.lastMessage}`);
  root.append(element("p", { class: "stop-how", text: `Last stop: ${stop.how || "?"}` }),
    element("p", { class: "stop-facts", text: facts.join(" · ") }));
  if (stop.quarantined) {
    root.append(element("p", {
      class: "problem", text: "quarantined: not restarted until reloaded or reinstalled",
    }));
  }
  if ((stop.lastLog || []).length > 0) {
    const last = element("ol", { class: "plugin-log" },
      ...stop.lastLog.map((line) => element("li", { text: line })));
    root.append(element("details", {}, element("summary", { text: "Its last lines then" }), last));
  }
}

// One log line, from GetPluginLog (canonical JSON: "LOG_SOURCE_STDERR", a TRACE level left
// out) or from a "log" host event ("stderr"), put in its place by seq: an event may come
// before the answer that has older lines. (A seq that wrapped past 2^32 sorts first.)
function addLogLine(list, line) {
  const seq = Number(line.seq || 0);
  if (list.querySelector(`[data-seq="${seq}"]`)) return;
  const level = line.level || "TRACE";
  const source = String(line.source || "").replace("LOG_SOURCE_", "").toLowerCase();
  const item = element("li", {
    "data-seq": String(seq), class: `level-${level.toLowerCase()}`,
    text: `${line.time || ""} ${level} ${source} ${line.message || ""}`,
  });
  const later = [...list.children].find((other) => Number(other.dataset.seq) > seq);
  list.insertBefore(item, later || null);
  while (list.children.length > PLUGIN_LOG_LINES) list.firstElementChild.remove();
}

// A run of the plugin ended: its card shows the new stop report.
async function refreshStop(pluginId) {
  try {
    const list = await call("GetPluginList");
    const details = ((list && list.plugins) || []).find((p) => p.pluginId === pluginId);
    const stop = $(`[data-plugin="${CSS.escape(pluginId)}"] [data-stop]`);
    if (details && stop) {
      plugins.set(pluginId, details);
      showStop(stop, details.lastStop);
    }
  } catch {
    // Logged by call.
  }
}

function showCapabilities(pluginId, root, capabilities) {
  for (const [id, capability] of Object.entries(capabilities)) {
    const output = element("output", { "data-status": id });
    const row = element("div", { class: "capability", "data-capability": id },
      element("span", { class: "name", text: capability.name || id }));
    const instance = `console-${id}`;
    if (capability.kind === "action") {
      const press = element("button", { type: "button", "data-press": id, text: "Press" });
      press.addEventListener("click", () => pressAction(pluginId, id, instance, output));
      row.append(press);
    } else {
      for (const [label, delta] of [["−", -1], ["+", 1]]) {
        const turn = element("button", {
          type: "button", "data-turn": id, "data-delta": String(delta), text: label,
        });
        turn.addEventListener("click", () => turnControl(pluginId, id, instance, delta, output));
        row.append(turn);
      }
    }
    const configure = element("button", { type: "button", "data-configure": id, text: "Configure" });
    configure.addEventListener("click", () => openForm(pluginId, id, capability.kind, instance));
    row.append(configure, output);
    root.append(row);
  }
}

// A status answered inside PluginUpdateResult, as the cell or dial would show it.
function showStatus(output, result) {
  if (!result) return;
  const status = result.actionStatus || result.analogControlStatus;
  const failed = result.result && result.result.result !== "SUCCESS";
  output.classList.toggle("error", Boolean(failed || (status && status.error)));
  if (failed) output.textContent = `${result.result.result}: ${result.result.what || ""}`;
  else if (status) output.textContent = status.error || status.text || JSON.stringify(status);
}

async function pressAction(pluginId, actionId, instanceId, output) {
  const invoke = { pluginId, actionId, instanceId };
  try {
    showStatus(output, await call("Invoke", { ...invoke, buttonState: "BUTTON_STATE_DOWN" }));
    await call("Invoke", { ...invoke, buttonState: "BUTTON_STATE_UP" });
  } catch (error) {
    output.textContent = error.message;
  }
}

async function turnControl(pluginId, controlId, instanceId, delta, output) {
  try {
    showStatus(output, await call("Invoke", {
      pluginId, actionId: controlId, instanceId, buttonState: "BUTTON_STATE_NONE", delta,
    }));
  } catch (error) {
    output.textContent = error.message;
  }
}

async function reloadPlugin(pluginId) {
  log("call", `reload ${pluginId}`);
  try {
    await api("POST", "/provd/pg_mgr/reload", { id: pluginId });
    log("answer", `reload ${pluginId}: done`);
  } catch (error) {
    log("error", `reload ${pluginId}: ${error.message}`);
  }
}

// Login through the marketplace bridge when it is open (MPLogin), else the client library.
function logIn(pluginId) {
  if (marketplace && marketplace.readyState === WebSocket.OPEN) {
    const line = `MPLogin ${JSON.stringify({ pluginId })}`;
    log("line-out", line);
    marketplace.send(line);
  } else {
    call("InvokeLogin", { pluginId }).catch(() => {});
  }
}

// The configuration form of an action or analog control, rendered from its JSON schema.
async function openForm(pluginId, id, kind, instanceId) {
  const request = { pluginId, actionInstanceId: instanceId };
  request[kind === "action" ? "actionId" : "analogControlId"] = id;
  let answer;
  try {
    answer = await call("ActionConfigurationRequest", request);
  } catch {
    return;
  }
  const scheme = (answer && answer.scheme) || {};
  const dialog = $("#configure");
  const fields = $("#config-fields");
  fields.replaceChildren();
  $("#config-error").textContent = "";
  let schema = {};
  try {
    schema = scheme.jsonSchema ? JSON.parse(scheme.jsonSchema) : {};
  } catch (error) {
    $("#config-error").textContent = `the plugin's schema is not JSON: ${error.message}`;
  }
  $("#config-title").textContent = schema.title || `Configure ${id}`;
  const properties = Object.entries(schema.properties || {});
  if (properties.length === 0) fields.append(element("p", { text: "Nothing to configure." }));
  const inputs = new Map(); // property name -> its input, whatever characters the name has
  for (const [name, property] of properties) {
    const input = field(property, (schema.required || []).includes(name));
    input.name = name;
    inputs.set(name, input);
    fields.append(element("label", {}, `${property.title || name} `, input));
  }
  $("#config-form").onsubmit = async (event) => {
    event.preventDefault();
    const form = {};
    for (const [name, property] of properties) {
      const input = inputs.get(name);
      if (Array.isArray(property.enum)) form[name] = property.enum[input.selectedIndex];
      else if (property.type === "boolean") form[name] = input.checked;
      else if (property.type === "integer" || property.type === "number") {
        if (input.value !== "") form[name] = Number(input.value);
      } else if (input.value !== "") form[name] = input.value;
    }
    try {
      await call("SetActionConfiguration", {
        pluginId, actionId: id, actionInstanceId: instanceId, formResult: JSON.stringify(form),
      });
      dialog.close();
    } catch (error) {
      $("#config-error").textContent = error.message;
    }
  };
  $("#config-cancel").onclick = () => dialog.close();
  dialog.showModal();
}

// The input for a JSON schema property; enum values keep their JSON types.
function field(property, required) {
  let input;
  if (Array.isArray(property.enum)) {
    input = element("select");
    for (const option of property.enum) input.append(element("option", { text: String(option) }));
    const chosen = property.enum.indexOf(property.default);
    if (chosen >= 0) input.selectedIndex = chosen;
    if (required) input.required = true;
    return input;
  } else if (property.type === "boolean") {
    input = element("input", { type: "checkbox" });
    input.checked = Boolean(property.default);
  } else {
    const number = property.type === "integer" || property.type === "number";
    input = element("input", { type: number ? "number" : "text" });
    if (number) {
      if (property.minimum !== undefined) input.min = property.minimum;
      if (property.maximum !== undefined) input.max = property.maximum;
      input.step = property.type === "integer" ? "1" : "any";
    }
  }
  if (property.default !== undefined && property.type !== "boolean") input.value = property.default;
  if (required) input.required = true;
  return input;
}

async function refreshPlugins() {
  try {
    const list = await call("GetPluginList");
    plugins.clear();
    for (const details of (list && list.plugins) || []) plugins.set(details.pluginId, details);
    render();
  } catch {
    // Logged by call.
  }
}

function onHostEvent(event) {
  const who = event.plugin_id || "host";
  switch (event.event) {
    case "state": {
      const details = plugins.get(event.plugin_id);
      if (!details) return refreshPlugins();
      details.containerState = event.state;
      if (event.state !== "CONTAINER_STATE_RUNNING") details.connected = false;
      updateState(details);
      // The host keeps a run's stop report before it tells the state the run ended in.
      if (["CONTAINER_STATE_CRASHED", "CONTAINER_STATE_STOPPED"].includes(event.state)) {
        refreshStop(event.plugin_id);
      }
      break;
    }
    case "log": {
      const lines = $(`[data-plugin="${CSS.escape(event.plugin_id)}"] [data-plugin-log]`);
      if (lines) addLogLine(lines, event);
      break;
    }
    case "connected":
    case "disconnected": {
      const details = plugins.get(event.plugin_id);
      if (details) {
        details.connected = event.event === "connected";
        updateState(details);
      }
      break;
    }
    case "installation":
      refreshPlugins();
      break;
  }
  const { event: kind, plugin_id: _, ...rest } = event;
  log(`event ${kind}`, `${who} ${JSON.stringify(rest)}`);
}

function updateState(details) {
  const state = $(`[data-plugin="${CSS.escape(details.pluginId)}"] [data-state]`);
  if (!state) return;
  state.dataset.value = details.containerState || "";
  state.textContent = stateText(details);
}

function listenToHost() {
  const source = new EventSource("/logi/events");
  source.addEventListener("open", () => setBadge("#events", "events: live", true));
  source.addEventListener("error", () => setBadge("#events", "events: reconnecting", false));
  source.addEventListener("plugins", (message) => {
    plugins.clear();
    for (const details of JSON.parse(message.data)) plugins.set(details.pluginId, details);
    render();
  });
  source.addEventListener("host", (message) => onHostEvent(JSON.parse(message.data)));
}

function setBadge(selector, text, up) {
  $(selector).textContent = text;
  $(selector).classList.toggle("up", up);
}

async function openMarketplace() {
  const { links } = await api("GET", "/logi");
  const link = links.find((candidate) => candidate.rel === "logi.marketplace");
  if (!link) return;
  // The bridge is on this page's host, under the name the page was opened by, so that the
  // browser sends it the console's cookie (cookies are per host name, not per port).
  const url = new URL(link.href);
  url.hostname = location.hostname;
  const socket = new WebSocket(url);
  socket.addEventListener("open", () => {
    marketplace = socket;
    setBadge("#marketplace", "marketplace: open", true);
    socket.send("MPGetInstalledPlugins {}");
    log("line-out", "MPGetInstalledPlugins {}");
  });
  socket.addEventListener("message", (message) => log("line-in", String(message.data)));
  socket.addEventListener("close", () => {
    marketplace = null;
    setBadge("#marketplace", "marketplace: closed", false);
  });
}

async function loadSettings() {
  const { params } = await api("GET", "/provd/configure");
  for (const param of params) {
    if (param.id === "development_mode") $("#development-mode").checked = Boolean(param.value);
    if (param.id === "locale") {
      const select = $("#language");
      if (![...select.options].some((option) => option.value === param.value)) {
        select.append(element("option", { text: param.value }));
      }
      select.value = param.value;
    }
  }
}

async function setParam(id, value) {
  log("call", `configure ${id} = ${JSON.stringify(value)}`);
  try {
    await api("PUT", `/provd/configure/${id}`, { param: { value } });
    log("answer", `configure ${id}: done`);
  } catch (error) {
    log("error", `configure ${id}: ${error.message}`);
    await loadSettings();
  }
}

function start() {
  $("#development-mode").addEventListener("change", (event) =>
    setParam("development_mode", event.target.checked));
  $("#language").addEventListener("change", (event) => setParam("locale", event.target.value));
  $("#clear-log").addEventListener("click", () => $("#log").replaceChildren());
  listenToHost();
  loadSettings().catch((error) => log("error", `settings: ${error.message}`));
  openMarketplace().catch((error) => log("error", `marketplace: ${error.message}`));
}

start();
