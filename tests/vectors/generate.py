#!/usr/bin/env python3
"""Generate golden test vectors with the official protobuf implementation.

The .proto files under proto/ are compiled with grpc_tools.protoc (the protoc
shipped in the grpcio-tools PyPI package) into a temporary directory, the
generated _pb2 modules are imported, and the cases below are encoded with the
official Python protobuf runtime:

  * binary:  Message.SerializeToString()
  * JSON:    google.protobuf.json_format.MessageToDict / Parse
  * Any:     Any.Pack (type URL "type.googleapis.com/<full name>")
  * framing: google.protobuf.internal.encoder._VarintBytes (the length prefix
             that writeDelimitedTo writes)

The result is written to tests/vectors/vectors.json. The output is
deterministic: running the script twice gives byte-identical files.

Usage (from the repository root, in a venv with requirements.txt installed):

    python tests/vectors/generate.py

See tests/vectors/README.md for the format of vectors.json.
"""

import importlib
import json
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import google.protobuf
from google.protobuf import json_format
from google.protobuf.internal import encoder

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PROTO_ROOT = REPO / "proto"
OUTPUT = HERE / "vectors.json"
GENERATOR = "tests/vectors/generate.py"

PROTO_FILES = [
    "logi/plugin/protocol/protocol.proto",
    "logi/protocol/plugin_manager/lifecycle.proto",
    "logi/protocol/plugin_manager/client.proto",
    "logi/plugin/marketplace/marketplace.proto",
]

TYPE_PREFIX = "type.googleapis.com/"
P = "logi.plugin.protocol."
PM = "logi.protocol.plugin_manager."


def note(text):
    """Diagnostics go to stderr so that they never touch vectors.json."""
    print("generate.py: " + text, file=sys.stderr)


# --------------------------------------------------------------------------
# protoc
# --------------------------------------------------------------------------


def grpc_tools_include():
    """The directory holding google/protobuf/*.proto shipped with grpc_tools."""
    import grpc_tools

    return str(Path(grpc_tools.__file__).resolve().parent / "_proto")


def protoc_version():
    out = subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "--version"],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def compile_protos(out_dir):
    cmd = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        "-I" + str(PROTO_ROOT),
        "-I" + grpc_tools_include(),
        "--python_out=" + out_dir,
    ] + PROTO_FILES
    res = subprocess.run(cmd, cwd=str(PROTO_ROOT), capture_output=True, text=True)
    for stream in (res.stdout, res.stderr):
        for line in stream.splitlines():
            if line.strip():
                note("protoc: " + line)
    if res.returncode != 0:
        raise SystemExit("protoc failed with exit code %d" % res.returncode)


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def f32(x):
    """Round a Python float to the nearest float32 (as protobuf stores it)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def canonical_json(msg):
    return json.dumps(
        json_format.MessageToDict(msg), separators=(",", ":"), ensure_ascii=False
    )


def hexof(msg):
    return msg.SerializeToString().hex()


class Cases:
    def __init__(self, proto, pm, mp):
        self.proto = proto
        self.pm = pm
        self.mp = mp
        self.envelopes = []  # (name, Envelope)
        self.names = set()

    def unique(self, name):
        if name in self.names:
            raise SystemExit("duplicate case name: " + name)
        self.names.add(name)

    def env(self, name, id=None, message=None, response=None):
        """Build and record an Envelope. response is a ResponseInfo or None."""
        self.unique(name)
        e = self.proto.Envelope()
        if id is not None:
            e.id = id
        if message is not None:
            e.message.Pack(message)
        if response is not None:
            e.response.CopyFrom(response)
        self.envelopes.append((name, e))
        return e

    def resp(self, result, what=None):
        r = self.proto.ResponseInfo()
        r.result = result
        if what is not None:
            r.what = what
        return r


# --------------------------------------------------------------------------
# cases
# --------------------------------------------------------------------------


def build_envelopes(c):
    pr, pm = c.proto, c.pm
    RI = pr.ResponseInfo

    # --- handshake -------------------------------------------------------
    c.env(
        "plugin_hello_request",
        id=1,
        message=pr.PluginHello(
            plugin_id="com.example.plugin",
            plugin_code="0123456789abcdef",
            plugin_version="1.2.3",
            protocol_version=1,
        ),
    )
    mh = pr.ManagerHello(manager_version="1.0.0", protocol_version=1, language_code="de-DE")
    mh.options_version = "1.60.0"  # ghub_version stays absent
    c.env("manager_hello_response", id=1, message=mh, response=c.resp(RI.SUCCESS))

    # --- actions ----------------------------------------------------------
    c.env(
        "trigger_action_with_configuration",
        id=2,
        message=pr.TriggerAction(
            action_instance_id="inst-1",
            action_id="com.example.plugin.toggle",
            configuration='{"mode":"fast"}',
        ),
    )
    c.env(
        "release_action_without_configuration",
        id=3,
        message=pr.ReleaseAction(
            action_instance_id="inst-1", action_id="com.example.plugin.toggle"
        ),
    )
    acs = pr.ActionCellStatus(
        action_instance_id="inst-1",
        action_id="com.example.plugin.toggle",
        text=(
            'q" b\\ nl\n tab\t cr\r c01\x01 c1f\x1f del\x7f '
            "\u00e9 \u65e5\u672c \U0001F39B ls\u2028 end"
        ),
        image="iVBORw0KGgo=",
        image_type=pr.ActionCellStatus.BASE64,
    )
    c.env("action_cell_status_special_text", id=2, message=acs, response=c.resp(RI.SUCCESS))

    # --- bare responses ---------------------------------------------------
    c.env(
        "bare_error_response",
        id=42,
        response=c.resp(RI.NOT_IMPLEMENTED, "unknown message type URL"),
    )
    c.env("bare_success_response", id=6, response=c.resp(RI.SUCCESS))

    # --- analog controls: float edge cases ------------------------------
    def uac(name, id, **kw):
        m = pr.UpdateAnalogControl(
            analog_control_id="com.example.plugin.dial", instance_id="dial-1"
        )
        for k, v in kw.items():
            setattr(m, k, v)
        c.env(name, id=id, message=m)

    uac("update_analog_delta_negative_quarter", 10, delta=-0.25)
    uac("update_analog_value_zero", 11, value=0.0)
    uac("update_analog_delta_one_third_f32", 12, delta=f32(1.0 / 3.0))
    uac("update_analog_value_1e20", 13, value=f32(1e20))
    uac("update_analog_delta_1e-7", 14, delta=f32(1e-7))
    uac("update_analog_value_f32_max", 15, value=f32(3.4028234663852886e38))
    uac("update_analog_delta_with_configuration", 16, delta=2.0, configuration="{}")

    def acst(name, id, **kw):
        m = pr.AnalogControlStatus(
            analog_control_id="com.example.plugin.dial", analog_control_instance_id="dial-1"
        )
        for k, v in kw.items():
            setattr(m, k, v)
        c.env(name, id=id, message=m, response=c.resp(RI.SUCCESS))

    acst(
        "analog_control_status_range",
        10,
        min_value=-1.5,
        max_value=16777216.0,
        current_value=f32(0.1),
    )
    acst("analog_control_status_1e-5", 11, current_value=f32(1e-5))
    acst("analog_control_status_1e16", 12, current_value=f32(1e16))
    acst("analog_control_status_subnormal", 13, current_value=f32(1.5e-42))
    acst("analog_control_status_negative_zero", 14, current_value=-0.0)
    acst(
        "analog_control_status_text_image_error",
        15,
        text="50 %",
        image="C:\\icons\\dial.png",
        image_type=pr.AnalogControlStatus.FILE,
        error="",
    )

    # --- batches ----------------------------------------------------------
    vcl = pr.VisibilityChangedList()
    vcl.visibility.add(
        control_id="com.example.plugin.toggle",
        action_instance_id="inst-1",
        visible=True,
        configuration='{"a":1}',
    )
    vcl.visibility.add(
        control_id="com.example.plugin.dial", action_instance_id="dial-1", visible=False
    )
    c.env("visibility_changed_list", id=20, message=vcl)

    acsl = pr.AnalogControlStatusList()
    st = acsl.statuses.add(
        analog_control_id="com.example.plugin.dial", analog_control_instance_id="dial-1"
    )
    st.current_value = 3.0
    st.active = False  # explicit presence: must be emitted
    st.error = "conflicting update"
    st.error_code = RI.CONFLICT
    acsl.action_statuses.add(
        action_instance_id="inst-1", action_id="com.example.plugin.toggle", text="On"
    )
    c.env("analog_control_status_list", id=20, message=acsl, response=c.resp(RI.SUCCESS))

    # --- configuration scheme --------------------------------------------
    sch = pr.PluginActionConfigurationSchemeResponse(
        action_id="com.example.plugin.toggle",
        action_instance_id="inst-1",
        selected_username="alice",
        json_schema='{"type":"object","properties":{"mode":{"type":"string","enum":["fast","slow"]}}}',
        ui_schema='{"mode":{"ui:widget":"radio"}}',
        login_required=True,
        loging_required=False,
    )
    sch.users.add(username="alice", printed_name="Alice A.", icon="https://example.com/a.png")
    sch.users.add(username="bob")
    c.env(
        "plugin_action_configuration_scheme_response",
        id=30,
        message=sch,
        response=c.resp(RI.SUCCESS),
    )

    # --- heartbeat, rate limit, logging, settings ------------------------
    c.env("ping_request", id=5, message=pr.Ping())
    c.env("pong_response", id=5, message=pr.Pong(), response=c.resp(RI.SUCCESS))
    c.env("retry_after_notification", message=pr.RetryAfter(interval=1500))
    c.env(
        "log_event_warning",
        id=7,
        message=pr.LogEvent(log_level=pr.LogEvent.WARNING, message="disk almost full"),
    )
    c.env(
        "log_event_trace_default_level",
        id=8,
        message=pr.LogEvent(log_level=pr.LogEvent.TRACE, message="tick"),
    )
    c.env("max_id", id=4294967295, message=pr.Ping())
    c.env("unknown_result_code_7", id=9, response=c.resp(7, "from the future"))
    sd = pr.SavedData()
    sd.settings.add(setting_name="theme", setting_value="dark")
    sd.settings.add(setting_name="volume", setting_value="0.8")
    c.env("saved_data_two_settings", id=40, message=sd)
    c.env("settings_request", id=41, message=pr.SettingsRequest(setting_name="theme"))
    c.env(
        "oauth_response",
        id=42,
        message=pr.OauthResponse(state="xyz", token="tok", url="https://example.com/cb?code=1&state=xyz"),
    )
    c.env("get_user_info_list", id=43, message=pr.GetUserInfoList())

    # --- logi.protocol.plugin_manager -------------------------------------
    c.env(
        "pm_invoke_button_down",
        id=100,
        message=pm.Invoke(
            plugin_id="com.example.plugin",
            action_id="com.example.plugin.dial",
            instance_id="dial-1",
            button_state=pm.Invoke.BUTTON_STATE_DOWN,
            delta=2.5,
        ),
    )
    c.env(
        "pm_plugin_details",
        id=101,
        message=pm.PluginDetails(
            plugin_id="com.example.plugin",
            name="Example",
            version="1.2.3",
            author="Example Inc.",
            description="An example plugin",
            installation_type=pm.INSTALLATION_TYPE_INSTALLED,
            container_state=pm.CONTAINER_STATE_RUNNING,
            connected=True,
            manifest_json='{"id":"com.example.plugin","actions":[]}',
        ),
        response=c.resp(RI.SUCCESS),
    )
    c.env(
        "pm_installation_event_failed",
        message=pm.InstallationEventNotice(
            event=pm.PLUGIN_INSTALLATION_EVENT_INSTALLATION_FAILED,
            plugin_id="com.example.plugin",
            description="signature check failed",
        ),
    )
    pur = pm.PluginUpdateResult(plugin_id="com.example.plugin")
    pur.result.result = RI.SUCCESS
    pur.result.what = "ok"
    pur.analog_control_status.analog_control_id = "com.example.plugin.dial"
    pur.analog_control_status.analog_control_instance_id = "dial-1"
    pur.analog_control_status.current_value = 0.5
    c.env("pm_plugin_update_result_analog", id=102, message=pur, response=c.resp(RI.SUCCESS))

    # --- all defaults -----------------------------------------------------
    c.env("empty_envelope")


# JSON texts that are not canonical but that json_format.Parse accepts.
T = TYPE_PREFIX
JSON_INPUTS = [
    (
        "original_proto_field_names_in_any",
        '{"id":7,"message":{"@type":"' + T + P + 'TriggerAction",'
        '"action_instance_id":"inst-1","action_id":"com.example.plugin.toggle",'
        '"configuration":"{}"}}',
    ),
    (
        "original_proto_field_names_mixed",
        '{"id":7,"message":{"@type":"' + T + P + 'AnalogControlStatus",'
        '"analog_control_id":"dial","analogControlInstanceId":"dial-1",'
        '"current_value":0.5,"image_type":"FILE"},"response":{"result":"SUCCESS"}}',
    ),
    (
        "type_not_first_in_any",
        '{"message":{"actionInstanceId":"inst-1","@type":"' + T + P + 'ReleaseAction",'
        '"actionId":"com.example.plugin.toggle"},"id":3}',
    ),
    ("id_as_string", '{"id":"42"}'),
    ("id_as_float_1_0", '{"id":1.0}'),
    ("id_as_exponent_1e2", '{"id":1e2}'),
    ("id_as_exponent_string", '{"id":"1e2"}'),
    ("id_max_as_string", '{"id":"4294967295"}'),
    ("enum_as_number", '{"id":9,"response":{"result":-5,"what":"nope"}}'),
    ("enum_as_numeric_string", '{"id":9,"response":{"result":"-5"}}'),
    ("enum_unknown_number_fields_reordered", '{"response":{"result":7},"id":9}'),
    (
        "enum_numeric_in_any",
        '{"message":{"@type":"' + T + P + 'LogEvent","logLevel":3,"message":"w"}}',
    ),
    (
        "float_as_string",
        '{"id":10,"message":{"@type":"' + T + P + 'UpdateAnalogControl",'
        '"analogControlId":"dial","instanceId":"dial-1","delta":"0.5"}}',
    ),
    (
        "float_nan_string",
        '{"id":11,"message":{"@type":"' + T + P + 'UpdateAnalogControl",'
        '"value":"NaN","analogControlId":"dial"}}',
    ),
    (
        "float_infinity_string",
        '{"id":12,"message":{"@type":"' + T + P + 'UpdateAnalogControl",'
        '"delta":"Infinity","analogControlId":"dial"}}',
    ),
    (
        "float_negative_infinity_string",
        '{"id":13,"message":{"@type":"' + T + P + 'UpdateAnalogControl",'
        '"delta":"-Infinity","analogControlId":"dial"}}',
    ),
    (
        "float_exponent_and_integer",
        '{"message":{"@type":"' + T + P + 'AnalogControlStatus",'
        '"minValue":-1,"maxValue":1.6777216E7,"currentValue":5e-1}}',
    ),
    (
        "float_rounds_to_f32",
        '{"message":{"@type":"' + T + P + 'UpdateAnalogControl","value":0.100000001}}',
    ),
    (
        "null_optional_and_response",
        '{"id":2,"message":{"@type":"' + T + P + 'TriggerAction",'
        '"actionInstanceId":"inst-1","configuration":null},"response":null}',
    ),
    (
        "null_oneof_member",
        '{"id":2,"message":{"@type":"' + T + P + 'UpdateAnalogControl",'
        '"analogControlId":"dial","value":null,"delta":1.5}}',
    ),
    (
        "explicit_defaults",
        '{"id":0,"message":{"@type":"' + T + P + 'LogEvent","logLevel":"TRACE",'
        '"message":""},"response":{"result":"INVALID","what":""}}',
    ),
    (
        "explicit_presence_defaults_kept",
        '{"message":{"@type":"' + T + P + 'AnalogControlStatus","analogControlId":"",'
        '"active":false,"text":"","currentValue":0,"imageType":"NONE","errorCode":0}}',
    ),
    (
        "whitespace_everywhere",
        ' \n\t{\r\n  "id" :\t5 ,\n  "message"\n:\n{ "@type" : "' + T + P + 'VisibilityChangedList" ,\n'
        '    "visibility" : [ { "controlId" : "c" , "visible" : true } ,\n\t\t'
        '{ "controlId":"d" } ]\n  } ,\r\n  "response" : { "result" : "SUCCESS" }\n}\n\t ',
    ),
    (
        "string_escapes",
        '{"id":7,"message":{"@type":"' + T + P + 'LogEvent","logLevel":"INFO",'
        '"message":"caf\\u00e9 a\\/b \\ud83c\\udf9b bs\\b ff\\f \\u0000 \\\\ \\" \\u2028 \\uD83D\\uDE00"}}',
    ),
    ("empty_object_with_whitespace", " { } "),
    (
        "empty_any_body_with_null_response",
        '{"id":5,"message":{"@type":"' + T + P + 'Ping"},"response":null}',
    ),
    (
        "plugin_manager_invoke_enum_number_and_float_string",
        '{"id":100,"message":{"@type":"' + T + PM + 'Invoke","pluginId":"p",'
        '"button_state":2,"absolute":"-3.5","configuration":null}}',
    ),
]

# JSON texts that json_format.Parse rejects.
JSON_REJECTS = [
    ("unknown_field_in_envelope", '{"id":1,"bogus":2}'),
    (
        "unknown_field_in_any_body",
        '{"id":1,"message":{"@type":"' + T + P + 'Ping","bogus":1}}',
    ),
    (
        "string_for_bool",
        '{"message":{"@type":"' + T + P + 'VisibilityChanged","controlId":"c","visible":"true"}}',
    ),
    (
        "bool_for_string",
        '{"message":{"@type":"' + T + P + 'PluginHello","pluginId":true}}',
    ),
    ("id_negative", '{"id":-1}'),
    ("id_too_large", '{"id":4294967296}'),
    ("id_fraction", '{"id":1.5}'),
    ("id_fraction_string", '{"id":"1.5"}'),
    ("id_bool", '{"id":true}'),
    ("invalid_enum_name", '{"id":1,"response":{"result":"BOGUS"}}'),
    ("trailing_comma_in_object", '{"id":1,}'),
    ("trailing_comma_in_array", '{"message":{"@type":"' + T + P + 'SavedData","settings":[{},]}}'),
    (
        "bare_nan_number",
        '{"message":{"@type":"' + T + P + 'UpdateAnalogControl","value":NaN}}',
    ),
    (
        "bare_infinity_number",
        '{"message":{"@type":"' + T + P + 'UpdateAnalogControl","delta":Infinity}}',
    ),
    ("leading_zero_number", '{"id":01}'),
    (
        "float_out_of_f32_range",
        '{"message":{"@type":"' + T + P + 'UpdateAnalogControl","value":1e39}}',
    ),
    (
        "two_members_of_one_oneof",
        '{"message":{"@type":"' + T + P + 'UpdateAnalogControl","value":1.0,"delta":0.5}}',
    ),
    ("any_without_type", '{"id":1,"message":{"actionId":"a"}}'),
    (
        "any_unknown_type",
        '{"id":1,"message":{"@type":"' + T + P + 'NoSuchMessage"}}',
    ),
    (
        "lone_surrogate",
        '{"message":{"@type":"' + T + P + 'LogEvent","message":"\\ud800"}}',
    ),
    ("top_level_array", '[{"id":1}]'),
    ("top_level_null", "null"),
    (
        "unterminated_string",
        '{"id":1,"message":{"@type":"' + T + P + 'Ping',
    ),
    ("string_for_message", '{"response":"SUCCESS"}'),
    (
        "object_for_repeated",
        '{"message":{"@type":"' + T + P + 'SavedData","settings":{"settingName":"x"}}}',
    ),
]


def build_messages(c):
    mp, pr, pm = c.mp, c.proto, c.pm
    out = []

    inst = mp.PluginInstallation()
    a = inst.installed_plugins.add(plugin_id="com.example.plugin")
    a.version = "1.2.3"
    a.login_required = True
    a.description = "Example plugin \u00e9\u00e8 \u65e5\u672c"
    inst.installed_plugins.add(plugin_id="com.example.other")
    out.append(("plugin_installation_two_plugins", inst))

    info = mp.PluginInfo(plugin_id="com.example.plugin", version="2.0.0", login_required=False)
    out.append(("plugin_info", info))
    out.append(("plugin_info_only_id", mp.PluginInfo(plugin_id="x")))
    out.append(("plugin_installation_empty", mp.PluginInstallation()))

    out.append(
        ("response_info_error", pr.ResponseInfo(result=pr.ResponseInfo.NOT_FOUND, what="no such plugin"))
    )
    lst = pm.PluginUpdateResultList()
    r1 = lst.results.add(plugin_id="p1")
    r1.result.result = pr.ResponseInfo.SUCCESS
    r1.action_status.action_instance_id = "inst-1"
    r1.action_status.action_id = "a"
    r1.action_status.text = "On"
    r2 = lst.results.add(plugin_id="p2")
    r2.result.result = pr.ResponseInfo.NOT_READY
    r2.result.what = "plugin not running"
    out.append(("plugin_update_result_list", lst))
    return out


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------


def main():
    if not PROTO_ROOT.is_dir():
        raise SystemExit("proto root not found: %s" % PROTO_ROOT)

    with tempfile.TemporaryDirectory(prefix="logi-vectors-") as tmp:
        compile_protos(tmp)
        sys.path.insert(0, tmp)
        try:
            proto = importlib.import_module("logi.plugin.protocol.protocol_pb2")
            importlib.import_module("logi.protocol.plugin_manager.lifecycle_pb2")
            client = importlib.import_module("logi.protocol.plugin_manager.client_pb2")
            mp = importlib.import_module("logi.plugin.marketplace.marketplace_pb2")
        finally:
            sys.path.remove(tmp)

        # Enums from lifecycle.proto are reachable through client_pb2 too
        # (generated modules re-export top-level enum values of their file
        # only), so wrap both in one namespace.
        lifecycle = sys.modules["logi.protocol.plugin_manager.lifecycle_pb2"]

        class PM:
            pass

        pm = PM()
        for mod in (lifecycle, client):
            for k in dir(mod):
                if not k.startswith("_"):
                    setattr(pm, k, getattr(mod, k))

        c = Cases(proto, pm, mp)
        build_envelopes(c)
        result = generate(c, proto)

    text = json.dumps(result, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
    OUTPUT.write_text(text, encoding="utf-8", newline="\n")
    note(
        "wrote %s: %d envelopes, %d json_inputs, %d json_rejects, %d messages, %d in stream"
        % (
            OUTPUT.relative_to(REPO),
            len(result["envelopes"]),
            len(result["json_inputs"]),
            len(result["json_rejects"]),
            len(result["messages"]),
            len(result["stream"]["envelopes_hex"]),
        )
    )


def generate(c, proto):
    Envelope = proto.Envelope

    # envelopes ------------------------------------------------------------
    envelopes = []
    by_name = {}
    for name, e in c.envelopes:
        binary = e.SerializeToString()
        js = canonical_json(e)
        envelopes.append({"name": name, "binary_hex": binary.hex(), "json": js})
        by_name[name] = e
        # Consistency checks (diagnostics only): the canonical JSON parses
        # back to the same bytes, and the bytes parse back to the same JSON.
        again = Envelope()
        again.ParseFromString(binary)
        if canonical_json(again) != js:
            raise SystemExit("binary round trip changed JSON for " + name)
        try:
            parsed = json_format.Parse(js, Envelope())
            if parsed.SerializeToString() != binary:
                note("envelope %s: JSON round trip changes the binary" % name)
        except json_format.ParseError as err:
            note("envelope %s: json_format.Parse rejects its own output: %s" % (name, err))

    # json_inputs ----------------------------------------------------------
    json_inputs = []
    for name, text in JSON_INPUTS:
        c.unique(name)
        try:
            json.loads(text)
        except ValueError as err:
            raise SystemExit("json_input %s is not valid JSON: %s" % (name, err))
        try:
            parsed = json_format.Parse(text, Envelope())
        except json_format.ParseError as err:
            raise SystemExit("json_input %s was rejected: %s" % (name, err))
        js = canonical_json(parsed)
        if js == text:
            raise SystemExit("json_input %s is already canonical" % name)
        json_inputs.append(
            {
                "name": name,
                "input": text,
                "binary_hex": parsed.SerializeToString().hex(),
                "json": js,
            }
        )

    # json_rejects ---------------------------------------------------------
    json_rejects = []
    for name, text in JSON_REJECTS:
        c.unique(name)
        try:
            json_format.Parse(text, Envelope())
        except json_format.ParseError as err:
            reason = str(err)
        else:
            raise SystemExit("json_reject %s was accepted" % name)
        if "0x" in reason:
            raise SystemExit("json_reject %s: reason looks non-deterministic: %s" % (name, reason))
        json_rejects.append({"name": name, "input": text, "reason": reason})

    # messages -------------------------------------------------------------
    messages = []
    for name, m in build_messages(c):
        c.unique(name)
        messages.append(
            {
                "name": name,
                "type": m.DESCRIPTOR.full_name,
                "binary_hex": hexof(m),
                "json": canonical_json(m),
            }
        )

    # stream ---------------------------------------------------------------
    stream_names = [
        "empty_envelope",
        "ping_request",
        "action_cell_status_special_text",
        "plugin_action_configuration_scheme_response",
        "pong_response",
        "bare_error_response",
    ]
    parts = []
    envs_hex = []
    two_byte_prefix = False
    for name in stream_names:
        body = by_name[name].SerializeToString()
        prefix = encoder._VarintBytes(len(body))
        two_byte_prefix = two_byte_prefix or len(prefix) == 2
        parts.append(prefix + body)
        envs_hex.append(body.hex())
    if not two_byte_prefix:
        raise SystemExit("stream needs an envelope over 127 bytes")
    stream = {"hex": b"".join(parts).hex(), "envelopes_hex": envs_hex}

    return {
        "generator": GENERATOR,
        "protobuf_version": google.protobuf.__version__,
        "protoc_version": protoc_version(),
        "envelopes": envelopes,
        "json_inputs": json_inputs,
        "json_rejects": json_rejects,
        "messages": messages,
        "stream": stream,
    }


if __name__ == "__main__":
    main()
