//! The JSON codec's reading rules: the proto3 JSON mapping as the reference implementation
//! applies it, strict JSON grammar, and errors that say what and where.

use logi_plugin_core::codec::DecodeError;
use logi_plugin_core::codec::json::{self, JsonErrorKind, JsonOptions};
use logi_plugin_core::proto::marketplace::{PluginInfo, PluginInstallation};
use logi_plugin_core::proto::plugin::{
    TriggerAction, UpdateAnalogControl, update_analog_control::UpdateType,
};
use logi_plugin_core::{Envelope, Message, MessageError, ResponseCode, ResponseInfo};

const TRIGGER: &str = "type.googleapis.com/logi.plugin.protocol.TriggerAction";
const UPDATE: &str = "type.googleapis.com/logi.plugin.protocol.UpdateAnalogControl";

fn trigger(id: u32, instance: &str, action: &str) -> Envelope {
    Envelope::request(
        id,
        TriggerAction {
            action_instance_id: instance.into(),
            action_id: action.into(),
            configuration: None,
        },
    )
}

fn update(text: &str) -> UpdateAnalogControl {
    match json::decode(text).unwrap_or_else(|e| panic!("{e}")).message {
        Some(Message::UpdateAnalogControl(m)) => m,
        other => panic!("expected UpdateAnalogControl, got {other:?}"),
    }
}

/// The JSON error of text that must be refused as a whole envelope.
fn envelope_error(text: &str) -> json::JsonError {
    match json::decode(text) {
        Err(DecodeError::Json(e)) => e,
        other => panic!("expected a JSON envelope error for {text}, got {other:?}"),
    }
}

/// The message error of an envelope whose body must be refused.
fn body_error(text: &str) -> (u32, MessageError) {
    match json::decode(text) {
        Err(DecodeError::Message { id, source, .. }) => (id, source),
        other => panic!("expected a message error for {text}, got {other:?}"),
    }
}

#[test]
fn original_proto_field_names_are_accepted() {
    let text = format!(
        r#"{{"id":3,"message":{{"@type":"{TRIGGER}","action_instance_id":"i","action_id":"a"}}}}"#
    );
    assert_eq!(json::decode(&text).unwrap(), trigger(3, "i", "a"));
}

#[test]
fn the_type_member_may_come_anywhere_in_the_any() {
    let text = format!(
        r#"{{"message":{{"actionId":"a","@type":"{TRIGGER}","actionInstanceId":"i"}},"id":3}}"#
    );
    assert_eq!(json::decode(&text).unwrap(), trigger(3, "i", "a"));
}

#[test]
fn any_type_url_prefix_names_the_message_after_the_last_slash() {
    let text = r#"{"message":{"@type":"example.com/x/logi.plugin.protocol.TriggerAction","actionId":"a"}}"#;
    assert_eq!(json::decode(text).unwrap(), trigger(0, "", "a"));
}

#[test]
fn integers_are_accepted_as_strings_and_as_whole_numbers_in_any_notation() {
    for id in [
        r#""42""#,
        "42",
        "42.0",
        "4.2e1",
        "4200e-2",
        r#""4.2e1""#,
        r#""42.0""#,
    ] {
        let text = format!(r#"{{"id":{id}}}"#);
        assert_eq!(json::decode(&text).unwrap().id, 42, "{text}");
    }
}

#[test]
fn a_fractional_integer_is_refused_naming_the_field_and_value() {
    let error = envelope_error(r#"{"id":1.5}"#);
    assert_eq!(
        error.kind(),
        &JsonErrorKind::NotAnInteger {
            value: "1.5".into()
        }
    );
    assert_eq!(error.path(), "id");
    assert_eq!(
        error.to_string(),
        "at id (line 1, column 7): 1.5 is not an integer"
    );
    for text in [
        r#"{"id":"1.5"}"#,
        r#"{"id":"inf"}"#,
        r#"{"id":"0x10"}"#,
        r#"{"id":" 1"}"#,
        r#"{"id":""}"#,
    ] {
        assert!(
            matches!(
                envelope_error(text).kind(),
                JsonErrorKind::NotAnInteger { .. }
            ),
            "{text}"
        );
    }
}

#[test]
fn an_integer_out_of_range_is_refused_naming_the_value_and_type() {
    for value in ["-1", "4294967296", r#""99999999999999999999999""#, "1e10"] {
        let error = envelope_error(&format!(r#"{{"id":{value}}}"#));
        assert!(
            matches!(
                error.kind(),
                JsonErrorKind::OutOfRange {
                    target: "uint32",
                    ..
                }
            ),
            "{value}: {error}"
        );
    }
}

#[test]
fn enums_are_read_by_name_by_number_and_by_numeric_string() {
    for result in [r#""NOT_IMPLEMENTED""#, "-5", r#""-5""#] {
        let text = format!(r#"{{"id":1,"response":{{"result":{result}}}}}"#);
        assert_eq!(
            json::decode(&text).unwrap().response.unwrap().result(),
            ResponseCode::NotImplemented,
            "{text}"
        );
    }
}

#[test]
fn an_unknown_enum_number_is_kept_as_proto3_open_enums_require() {
    let envelope = json::decode(r#"{"response":{"result":7}}"#).unwrap();
    assert_eq!(envelope.response.unwrap().result, 7);
}

#[test]
fn an_unknown_enum_name_is_refused_naming_the_enum() {
    let error = envelope_error(r#"{"response":{"result":"TERRIBLE"}}"#);
    assert_eq!(
        error.kind(),
        &JsonErrorKind::InvalidEnumValue {
            value: "\"TERRIBLE\"".into(),
            enum_name: "logi.plugin.protocol.ResponseInfo.Code"
        }
    );
    assert_eq!(error.path(), "response.result");
}

#[test]
fn null_means_the_field_is_absent() {
    let text = format!(
        r#"{{"id":null,"message":{{"@type":"{TRIGGER}","actionId":"a","configuration":null}},"response":null}}"#
    );
    assert_eq!(json::decode(&text).unwrap(), trigger(0, "", "a"));
}

#[test]
fn floats_are_read_from_numbers_and_strings_including_the_special_names() {
    let value = |v: &str| match update(&format!(
        r#"{{"message":{{"@type":"{UPDATE}","delta":{v}}}}}"#
    ))
    .update_type
    {
        Some(UpdateType::Delta(d)) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!(value("0.5"), 0.5);
    assert_eq!(value(r#""0.5""#), 0.5);
    assert_eq!(value("-2"), -2.0);
    assert_eq!(value(r#""Infinity""#), f32::INFINITY);
    assert_eq!(value(r#""-Infinity""#), f32::NEG_INFINITY);
    assert!(value(r#""NaN""#).is_nan());
}

#[test]
fn float32_max_written_in_its_shortest_form_is_read_back() {
    let m = update(&format!(
        r#"{{"message":{{"@type":"{UPDATE}","value":3.4028235e+38}}}}"#
    ));
    assert_eq!(m.update_type, Some(UpdateType::Value(f32::MAX)));
}

#[test]
fn a_float_beyond_the_float32_range_is_refused() {
    let (_, error) = body_error(&format!(
        r#"{{"message":{{"@type":"{UPDATE}","value":1e39}}}}"#
    ));
    let MessageError::MalformedJson { source, .. } = error else {
        panic!("{error:?}")
    };
    assert_eq!(
        source.kind(),
        &JsonErrorKind::OutOfRange {
            value: "1e39".into(),
            target: "float"
        }
    );
}

#[test]
fn other_spellings_of_special_floats_are_refused() {
    for spelling in [r#""nan""#, r#""inf""#, r#""infinity""#, "NaN", "Infinity"] {
        let result = json::decode(&format!(
            r#"{{"message":{{"@type":"{UPDATE}","value":{spelling}}}}}"#
        ));
        assert!(result.is_err(), "{spelling} was accepted");
    }
}

#[test]
fn an_unknown_field_is_refused_naming_the_message_and_field() {
    let error = envelope_error(r#"{"id":1,"colour":"red"}"#);
    assert_eq!(
        error.kind(),
        &JsonErrorKind::UnknownField {
            message: "logi.plugin.protocol.Envelope",
            field: "colour".into()
        }
    );
    assert_eq!((error.line(), error.column()), (1, 9));
}

#[test]
fn unknown_fields_are_passed_over_when_the_option_says_so() {
    let options = JsonOptions {
        ignore_unknown_fields: true,
    };
    let text = format!(
        r#"{{"id":3,"x":[{{"deep":[1,2,{{}}]}}],"message":{{"@type":"{TRIGGER}","actionId":"a","y":null}}}}"#
    );
    assert_eq!(
        json::decode_with(&text, options).unwrap(),
        trigger(3, "", "a")
    );
}

#[test]
fn a_field_given_twice_under_either_name_is_refused() {
    for text in [
        format!(r#"{{"message":{{"@type":"{TRIGGER}","actionId":"a","actionId":"b"}}}}"#),
        format!(r#"{{"message":{{"@type":"{TRIGGER}","actionId":"a","action_id":"b"}}}}"#),
    ] {
        let (_, error) = body_error(&text);
        let MessageError::MalformedJson { source, .. } = error else {
            panic!("{error:?}")
        };
        assert_eq!(
            source.kind(),
            &JsonErrorKind::DuplicateField { field: "action_id" }
        );
    }
    assert_eq!(
        envelope_error(r#"{"id":1,"id":2}"#).kind(),
        &JsonErrorKind::DuplicateField { field: "id" }
    );
}

#[test]
fn two_members_of_one_oneof_are_refused() {
    let (_, error) = body_error(&format!(
        r#"{{"message":{{"@type":"{UPDATE}","value":1,"delta":2}}}}"#
    ));
    let MessageError::MalformedJson { source, .. } = error else {
        panic!("{error:?}")
    };
    assert_eq!(
        source.kind(),
        &JsonErrorKind::MultipleOneofFields {
            oneof: "update_type"
        }
    );
}

#[test]
fn an_unknown_type_url_is_a_message_error_carrying_the_id_and_the_url() {
    let text = r#"{"message":{"@type":"type.googleapis.com/acme.Teleport","x":{"y":[1]}},"id":9}"#;
    let (id, error) = body_error(text);
    assert_eq!(id, 9);
    assert_eq!(
        error,
        MessageError::UnknownTypeUrl {
            type_url: "type.googleapis.com/acme.Teleport".into()
        }
    );
    assert_eq!(error.response_code(), ResponseCode::NotImplemented);
}

#[test]
fn a_malformed_body_is_a_message_error_carrying_the_id_and_response() {
    let text = format!(
        r#"{{"id":4,"response":{{"result":"SUCCESS"}},"message":{{"@type":"{TRIGGER}","actionId":true}}}}"#
    );
    match json::decode(&text) {
        Err(DecodeError::Message {
            id: 4,
            response: Some(response),
            source,
        }) => {
            assert_eq!(response, ResponseInfo::ok());
            assert_eq!(source.response_code(), ResponseCode::InvalidArg);
            assert_eq!(
                source.to_string(),
                "malformed logi.plugin.protocol.TriggerAction JSON body: at actionId (line 1, column 128): \
                 expected a string, found a boolean"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn broken_json_inside_the_body_makes_the_whole_envelope_unreadable() {
    let error = envelope_error(&format!(
        r#"{{"id":4,"message":{{"@type":"{TRIGGER}","actionId":"a",}}}}"#
    ));
    assert!(
        matches!(
            error.kind(),
            JsonErrorKind::Unexpected {
                expected: "a member name",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn an_empty_any_object_carries_no_message() {
    assert_eq!(
        json::decode(r#"{"id":2,"message":{}}"#).unwrap(),
        Envelope {
            id: 2,
            ..Envelope::default()
        }
    );
}

#[test]
fn an_any_with_fields_but_no_type_is_refused() {
    let error = envelope_error(r#"{"message":{"actionId":"a"}}"#);
    assert_eq!(error.kind(), &JsonErrorKind::MissingType);
    assert_eq!(error.path(), "message");
}

#[test]
fn strict_json_grammar_is_enforced() {
    for text in [
        r#"{"id":1,}"#,
        r#"{"id":01}"#,
        r#"{"id":NaN}"#,
        r#"{'id':1}"#,
        r#"{"id":1} x"#,
        r#"[{"id":1}]"#,
        r#"{"id":1"#,
        "{\"message\":{\"@type\":\"a\tb\"}}",
        r#"{"id":-}"#,
        r#"{"id":1.}"#,
        r#"{"id":1e}"#,
        "",
    ] {
        assert!(
            matches!(json::decode(text), Err(DecodeError::Json(_))),
            "accepted {text:?}"
        );
    }
}

#[test]
fn string_escapes_are_decoded() {
    let text = format!(
        r#"{{"message":{{"@type":"{TRIGGER}","actionId":"\u00e9\/\ud83c\udf9b\b\f\n\"\\"}}}}"#
    );
    assert_eq!(
        json::decode(&text).unwrap(),
        trigger(0, "", "é/🎛\u{8}\u{c}\n\"\\")
    );
}

#[test]
fn a_lone_surrogate_is_refused() {
    for escape in [r"\ud800", r"\udc00", r"\ud800\u0041", r"\ud800x"] {
        let (_, error) = body_error(&format!(
            r#"{{"message":{{"@type":"{TRIGGER}","actionId":"{escape}"}}}}"#
        ));
        let MessageError::MalformedJson { source, .. } = error else {
            panic!("{error:?}")
        };
        assert!(
            matches!(source.kind(), JsonErrorKind::UnpairedSurrogate(_)),
            "{escape}: {source}"
        );
    }
}

#[test]
fn errors_give_the_line_and_column() {
    let error = envelope_error("{\n  \"id\": 1,\n  \"response\": {\"result\": true}\n}");
    assert_eq!((error.line(), error.column()), (3, 26));
    assert_eq!(error.path(), "response.result");
}

#[test]
fn deep_nesting_is_refused_without_exhausting_the_stack() {
    let deep = format!(r#"{{"x":{}{}}}"#, "[".repeat(100_000), "]".repeat(100_000));
    let error = match json::decode_with(
        &deep,
        JsonOptions {
            ignore_unknown_fields: true,
        },
    ) {
        Err(DecodeError::Json(e)) => e,
        other => panic!("{other:?}"),
    };
    assert!(
        matches!(error.kind(), JsonErrorKind::TooDeep { .. }),
        "{error}"
    );
}

#[test]
fn plain_messages_use_the_same_mapping() {
    let installation = PluginInstallation {
        installed_plugins: vec![
            PluginInfo {
                plugin_id: "com.acme.lights".into(),
                version: Some("1.2.3".into()),
                login_required: Some(false),
                description: None,
            },
            PluginInfo {
                plugin_id: "com.acme.audio".into(),
                ..PluginInfo::default()
            },
        ],
    };
    let text = json::to_string(&installation);
    assert_eq!(
        text,
        r#"{"installedPlugins":[{"pluginId":"com.acme.lights","version":"1.2.3","loginRequired":false},{"pluginId":"com.acme.audio"}]}"#
    );
    assert_eq!(
        json::from_str::<PluginInstallation>(&text).unwrap(),
        installation
    );
    let error =
        json::from_str::<PluginInstallation>(r#"{"installedPlugins":[{"pluginId":"a"},null]}"#)
            .unwrap_err();
    assert_eq!(
        (error.kind(), error.path()),
        (&JsonErrorKind::NullElement, "installedPlugins[1]")
    );
}

#[test]
fn a_nan_keeps_its_payload_in_binary_but_json_has_only_one_nan() {
    let signalling = f32::from_bits(0x7f87_ffff);
    let envelope = Envelope::request(
        1,
        UpdateAnalogControl {
            update_type: Some(UpdateType::Value(signalling)),
            ..UpdateAnalogControl::default()
        },
    );
    let text = json::encode(&envelope);
    assert!(text.ends_with(r#""value":"NaN"}}"#), "{text}");
    let Some(Message::UpdateAnalogControl(back)) = json::decode(&text).unwrap().message else {
        panic!()
    };
    let Some(UpdateType::Value(value)) = back.update_type else {
        panic!()
    };
    assert_eq!(value.to_bits(), f32::NAN.to_bits());
}
