//! JSON text mode: each frame the peer sends on a WebSocket connection is judged for its mode
//! (binary or JSON text, as the connection was opened), and each text frame for its shape
//! under the proto3 JSON mapping: lowerCamelCase JSON names, enums by name, `"@type"` inside
//! `Any`, fields without presence left out when they hold their default.
//!
//! The shape is read from the text itself (a plain JSON tree) against the `.proto` descriptors,
//! with the mapping's rules written out here, not by re-encoding what arrived with this
//! project's own encoder and comparing: a check must not inherit a bug of the thing it judges
//! (the encoder is checked against the official implementation's vectors in `tests/vectors/`).

use std::collections::HashMap;
use std::sync::OnceLock;

use logi_plugin_core::proto::FILE_DESCRIPTOR_SET;
use logi_plugin_core::session::Format;
use prost::Message as _;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FileDescriptorSet};
use serde_json::Value;

use super::{Found, Report, Spec, fail, skip};

/// Frames in the connection's mode.
pub(super) const FRAME_MODE: Spec = Spec::profile(
    "frame-mode",
    "every frame the peer sends is in the connection's mode (binary, or JSON text)",
    "docs/protocol.md: WebSocket mode (set by the plugin's first frame, kept by both sides)",
);
/// lowerCamelCase names.
pub(super) const JSON_NAMES: Spec = Spec::profile(
    "json-names",
    "JSON field names are the fields' lowerCamelCase JSON names, not the .proto names",
    "docs/protocol.md: JSON output (the JSON mapping's default printer: lowerCamelCase names)",
);
/// Enums by name.
pub(super) const JSON_ENUMS: Spec = Spec::profile(
    "json-enums",
    "JSON enum values are written by name, not by number",
    "docs/protocol.md: JSON output (the JSON mapping's default printer: enums by name)",
);
/// `"@type"` in `Any`.
pub(super) const JSON_ANY: Spec = Spec::seed(
    "json-any",
    "a JSON Any is an object with \"@type\" and its message's fields inline",
    "seed 7.1.2 set_use_text_format (the proto3 JSON mapping: an Any carries \"@type\")",
);
/// Defaults omitted.
pub(super) const JSON_DEFAULTS: Spec = Spec::profile(
    "json-defaults",
    "JSON leaves out fields without presence that hold their default value",
    "docs/protocol.md: JSON output (the JSON mapping's default printer: defaults omitted)",
);

/// The names of the checks a WebSocket connection in JSON text adds to a run: its frames'
/// mode, then the JSON mapping's rules (a binary connection adds the first only).
pub const JSON_CHECKS: [&str; 5] = [
    FRAME_MODE.name,
    JSON_NAMES.name,
    JSON_ENUMS.name,
    JSON_ANY.name,
    JSON_DEFAULTS.name,
];

/// The checks [`FrameLog::push_checks`] pushes for a connection in `format`, each skipped for
/// `why`: a run that had no session to judge still lists them.
pub(super) fn skip_checks(report: &mut Report, format: Format, why: &str) {
    report.push(FRAME_MODE, skip(why));
    if format == Format::Json {
        for (_, spec) in Rule::ALL {
            report.push(spec, skip(why));
        }
    }
}

/// A rule of the proto3 JSON mapping a text frame can break.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Rule {
    /// A field under its `.proto` name, or under no name of its message.
    Names,
    /// An enum value written as a number it has a name for.
    Enums,
    /// An `Any` without `"@type"`.
    Any,
    /// A default value written out (or a `null`).
    Defaults,
}

impl Rule {
    const ALL: [(Rule, Spec); 4] = [
        (Rule::Names, JSON_NAMES),
        (Rule::Enums, JSON_ENUMS),
        (Rule::Any, JSON_ANY),
        (Rule::Defaults, JSON_DEFAULTS),
    ];
}

/// One place where a text breaks a rule, e.g. `message.protocol_version: the .proto name; the
/// mapping writes "protocolVersion"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Breach {
    /// The rule broken.
    pub(super) rule: Rule,
    /// Where and how.
    pub(super) detail: String,
}

/// What the peer sent over one WebSocket connection, and what of it broke which rule.
#[derive(Debug)]
pub(super) struct FrameLog {
    /// The mode the connections were opened in.
    expected: Format,
    text: u32,
    binary: u32,
    /// The first frame not in the expected mode, described.
    first_wrong: Option<String>,
    /// For each rule broken: how many frames broke it, and the first breach.
    breaches: HashMap<Rule, (u32, String)>,
}

impl FrameLog {
    /// A log for a connection opened in `expected` mode (`Binary` or `Json`).
    pub(super) fn new(expected: Format) -> FrameLog {
        FrameLog {
            expected,
            text: 0,
            binary: 0,
            first_wrong: None,
            breaches: HashMap::new(),
        }
    }

    /// Sets the mode the connection should be in: on the manager's side of a WebSocket the
    /// plugin's first frame sets it, and the options say which one the plugin should choose.
    pub(super) fn expect(&mut self, expected: Format) {
        self.expected = expected;
    }

    /// How many frames were noted.
    pub(super) fn frames(&self) -> u32 {
        self.text + self.binary
    }

    /// Notes a text frame and judges its shape.
    pub(super) fn text(&mut self, text: &str) {
        self.text += 1;
        if self.expected != Format::Json {
            self.first_wrong.get_or_insert_with(|| {
                format!("text frame {} ({})", self.text + self.binary, excerpt(text))
            });
        }
        let mut seen = HashMap::new();
        for breach in breaches(text) {
            seen.entry(breach.rule).or_insert(breach.detail);
        }
        for (rule, detail) in seen {
            let entry = self.breaches.entry(rule).or_insert((0, detail));
            entry.0 += 1;
        }
    }

    /// Notes a binary frame of `len` bytes.
    pub(super) fn binary(&mut self, len: usize) {
        self.binary += 1;
        if self.expected == Format::Json {
            self.first_wrong.get_or_insert_with(|| {
                format!("binary frame {} ({len} bytes)", self.text + self.binary)
            });
        }
    }

    /// The mode check, then (in JSON mode) one check per rule of the mapping.
    pub(super) fn push_checks(&self, report: &mut Report) {
        if self.text + self.binary == 0 {
            return skip_checks(report, self.expected, "the peer sent no frame to judge");
        }
        report.push(FRAME_MODE, self.mode());
        if self.expected != Format::Json {
            return;
        }
        for (rule, spec) in Rule::ALL {
            report.push(spec, self.rule(rule));
        }
    }

    fn mode(&self) -> Found {
        let (mode, wrong) = match self.expected {
            Format::Json => ("JSON text", self.binary),
            _ => ("binary", self.text),
        };
        match &self.first_wrong {
            None => Ok(format!(
                "{} frames, every one {mode}",
                self.text + self.binary
            )),
            Some(first) => fail(format!(
                "expected {mode} frames only on this connection; {wrong} of {} were not, the \
                 first: {first}",
                self.text + self.binary
            )),
        }
    }

    fn rule(&self, rule: Rule) -> Found {
        if self.text == 0 {
            return skip("the peer sent no JSON text frame to judge");
        }
        match self.breaches.get(&rule) {
            None => Ok(format!("{} text frames, none breaks it", self.text)),
            Some((count, first)) => fail(format!(
                "{count} of {} text frames break it, the first at {first}",
                self.text
            )),
        }
    }
}

/// The start of a frame's text, for a detail.
fn excerpt(text: &str) -> String {
    const MOST: usize = 80;
    match text.char_indices().nth(MOST) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_string(),
    }
}

/// Where `text`, an envelope in JSON, breaks the mapping's rules. A text that is not a JSON
/// object breaks none of them: the decoder refuses it, which the `frames` check reports.
pub(super) fn breaches(text: &str) -> Vec<Breach> {
    let mut found = Vec::new();
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        let schema = Schema::get();
        schema.message(&value, ENVELOPE, "envelope", &mut found);
    }
    found
}

/// The JSON name of field `number` of the message `name` (its full name), if it has one.
pub(super) fn field_json_name(name: &str, number: i32) -> Option<&'static str> {
    let fields = Schema::get().messages.get(name)?;
    let field = fields.iter().find(|f| f.number == number)?;
    Some(&field.json_name)
}

/// The envelope's full name.
const ENVELOPE: &str = "logi.plugin.protocol.Envelope";
/// `Any`'s full name: the one message the mapping writes in a form of its own here (the
/// protocol uses no other well-known type).
const ANY: &str = "google.protobuf.Any";

/// The messages and enums of every `.proto` file, by full name (no leading dot).
struct Schema {
    messages: HashMap<String, Vec<Field>>,
    /// Each enum's values, name and number.
    enums: HashMap<String, Vec<(String, i32)>>,
}

/// A field as the mapping sees it.
struct Field {
    number: i32,
    name: String,
    json_name: String,
    kind: Kind,
    repeated: bool,
    /// Written whenever set, even to its default (`optional`, a message, a oneof member).
    presence: bool,
}

enum Kind {
    Message(String),
    Enum(String),
    Bool,
    String,
    Bytes,
    Number,
}

impl Schema {
    fn get() -> &'static Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(|| {
            let set = FileDescriptorSet::decode(FILE_DESCRIPTOR_SET)
                .expect("the core's descriptor set is a FileDescriptorSet");
            let mut schema = Schema {
                messages: HashMap::new(),
                enums: HashMap::new(),
            };
            for file in &set.file {
                let package = file.package().to_string();
                for message in &file.message_type {
                    schema.add(&package, message);
                }
                for e in &file.enum_type {
                    schema.add_enum(&package, e);
                }
            }
            schema
        })
    }

    fn add(&mut self, scope: &str, message: &DescriptorProto) {
        let full = format!("{scope}.{}", message.name());
        for nested in &message.nested_type {
            self.add(&full, nested);
        }
        for e in &message.enum_type {
            self.add_enum(&full, e);
        }
        let fields = message
            .field
            .iter()
            .map(|f| {
                let type_name = f.type_name().trim_start_matches('.').to_string();
                let kind = match f.r#type() {
                    Type::Message | Type::Group => Kind::Message(type_name),
                    Type::Enum => Kind::Enum(type_name),
                    Type::Bool => Kind::Bool,
                    Type::String => Kind::String,
                    Type::Bytes => Kind::Bytes,
                    _ => Kind::Number,
                };
                Field {
                    number: f.number(),
                    name: f.name().to_string(),
                    // protoc and protox fill it in: lowerCamelCase unless the .proto says.
                    json_name: f.json_name().to_string(),
                    presence: f.proto3_optional()
                        || f.oneof_index.is_some()
                        || matches!(kind, Kind::Message(_)),
                    repeated: f.label() == Label::Repeated,
                    kind,
                }
            })
            .collect();
        self.messages.insert(full, fields);
    }

    fn add_enum(&mut self, scope: &str, e: &prost_types::EnumDescriptorProto) {
        let values = e
            .value
            .iter()
            .map(|v| (v.name().to_string(), v.number()))
            .collect();
        self.enums.insert(format!("{scope}.{}", e.name()), values);
    }

    /// Judges `value`, a message `name` at `path`.
    fn message(&self, value: &Value, name: &str, path: &str, found: &mut Vec<Breach>) {
        let Value::Object(object) = value else {
            return;
        };
        let (name, skip_key) = if name == ANY {
            match object.get("@type") {
                Some(Value::String(url)) => (url.rsplit('/').next().unwrap_or_default(), "@type"),
                _ if object.is_empty() => return,
                _ => {
                    let keys: Vec<&str> = object.keys().map(String::as_str).collect();
                    found.push(Breach {
                        rule: Rule::Any,
                        detail: format!(
                            "{path}: an Any without \"@type\" (its keys: {})",
                            keys.join(", ")
                        ),
                    });
                    return;
                }
            }
        } else {
            (name, "")
        };
        // A message no .proto here defines (an unknown type URL): nothing to judge it by.
        let Some(fields) = self.messages.get(name) else {
            return;
        };
        for (key, value) in object.iter().filter(|(key, _)| *key != skip_key) {
            let field_path = format!("{path}.{key}");
            let field = match fields.iter().find(|f| f.json_name == *key) {
                Some(field) => field,
                None => {
                    let by_name = fields.iter().find(|f| f.name == *key);
                    let detail = match by_name {
                        Some(field) => format!(
                            "{field_path}: the .proto name; the mapping writes {:?}",
                            field.json_name
                        ),
                        None => format!("{field_path}: {name} has no field of this name"),
                    };
                    found.push(Breach {
                        rule: Rule::Names,
                        detail,
                    });
                    match by_name {
                        Some(field) => field,
                        None => continue,
                    }
                }
            };
            self.field(value, field, &field_path, found);
        }
    }

    /// Judges `value`, the value of `field` at `path`.
    fn field(&self, value: &Value, field: &Field, path: &str, found: &mut Vec<Breach>) {
        let default = |detail: String| Breach {
            rule: Rule::Defaults,
            detail,
        };
        if value.is_null() {
            found.push(default(format!(
                "{path}: null; the mapping leaves an absent field out"
            )));
            return;
        }
        if field.repeated {
            // A map is a repeated entry message in the descriptors and an object in JSON.
            let values: Vec<&Value> = match value {
                Value::Array(items) => items.iter().collect(),
                Value::Object(entries) => entries.values().collect(),
                _ => return,
            };
            if values.is_empty() {
                found.push(default(format!(
                    "{path}: {value}, empty; the mapping leaves an empty repeated field out"
                )));
            }
            for (n, item) in values.into_iter().enumerate() {
                self.single(item, field, &format!("{path}[{n}]"), found);
            }
            return;
        }
        if !field.presence && self.is_default(value, &field.kind) {
            found.push(default(format!(
                "{path}: {value}, the default; the mapping leaves it out (the field has no \
                 presence)"
            )));
        }
        self.single(value, field, path, found);
    }

    /// Judges one value of `field` (an element, for a repeated field).
    fn single(&self, value: &Value, field: &Field, path: &str, found: &mut Vec<Breach>) {
        match &field.kind {
            Kind::Message(name) => self.message(value, name, path, found),
            Kind::Enum(name) => {
                let Some(number) = value.as_i64() else {
                    return;
                };
                // A number with no name is how the mapping writes an unknown value.
                let named = self
                    .enums
                    .get(name)
                    .and_then(|values| values.iter().find(|(_, n)| i64::from(*n) == number));
                if let Some((value_name, _)) = named {
                    found.push(Breach {
                        rule: Rule::Enums,
                        detail: format!("{path}: {number}; the mapping writes {value_name:?}"),
                    });
                }
            }
            _ => {}
        }
    }

    /// Whether `value` is the default of a field of `kind`, as the mapping would leave out.
    fn is_default(&self, value: &Value, kind: &Kind) -> bool {
        match (kind, value) {
            (Kind::Bool, Value::Bool(b)) => !b,
            (Kind::String | Kind::Bytes, Value::String(s)) => s.is_empty(),
            // -0.0 is not the default: its bits differ, and the mapping writes it.
            (Kind::Number, Value::Number(n)) => n.as_f64().is_some_and(|f| f.to_bits() == 0),
            (Kind::Number, Value::String(s)) => s == "0",
            (Kind::Enum(name), value) => {
                let zero = self
                    .enums
                    .get(name.as_str())
                    .and_then(|values| values.iter().find(|(_, n)| *n == 0));
                match (value, zero) {
                    (Value::Number(n), _) => n.as_i64() == Some(0),
                    (Value::String(s), Some((zero, _))) => s == zero,
                    _ => false,
                }
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_checks_named_are_the_mode_and_every_rule_of_the_mapping() {
        let rules = Rule::ALL.map(|(_, spec)| spec.name);
        assert_eq!(JSON_CHECKS[0], FRAME_MODE.name);
        assert_eq!(JSON_CHECKS[1..], rules);
    }

    /// The canonical texts of the official implementation's vectors break no rule.
    #[test]
    fn the_official_vectors_break_no_rule() {
        let vectors: Value = serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/vectors/vectors.json"
        )))
        .unwrap();
        let envelopes = vectors["envelopes"].as_array().unwrap();
        assert!(envelopes.len() > 10);
        for vector in envelopes
            .iter()
            .chain(vectors["json_inputs"].as_array().unwrap())
        {
            let text = vector["json"].as_str().unwrap();
            assert_eq!(breaches(text), vec![], "{}: {text}", vector["name"]);
        }
    }

    fn rules(text: &str) -> Vec<Rule> {
        breaches(text).into_iter().map(|b| b.rule).collect()
    }

    #[test]
    fn a_proto_field_name_breaks_the_names_rule_and_says_the_json_name() {
        let text = r#"{"id":1,"message":{"@type":"type.googleapis.com/logi.plugin.protocol.ManagerHello","manager_version":"1.0"},"response":{"result":"SUCCESS"}}"#;
        let found = breaches(text);
        assert_eq!(rules(text), vec![Rule::Names]);
        assert!(found[0].detail.contains("\"managerVersion\""), "{found:?}");
        assert!(found[0].detail.contains("envelope.message.manager_version"));
    }

    #[test]
    fn an_enum_number_with_a_name_breaks_the_enums_rule() {
        let text = r#"{"id":1,"response":{"result":1}}"#;
        assert_eq!(rules(text), vec![Rule::Enums]);
        assert!(breaches(text)[0].detail.contains("\"SUCCESS\""));
    }

    #[test]
    fn an_enum_number_without_a_name_is_how_the_mapping_writes_it() {
        assert_eq!(rules(r#"{"id":1,"response":{"result":12345}}"#), vec![]);
    }

    #[test]
    fn an_any_without_at_type_breaks_the_any_rule() {
        let text = r#"{"id":1,"message":{"typeUrl":"type.googleapis.com/logi.plugin.protocol.Pong","value":""}}"#;
        assert_eq!(rules(text), vec![Rule::Any]);
    }

    #[test]
    fn a_default_without_presence_breaks_the_defaults_rule_but_an_optional_one_does_not() {
        let written = r#"{"id":0,"message":{"@type":"type.googleapis.com/logi.plugin.protocol.Settings","settingName":"a","settingValue":""}}"#;
        assert_eq!(rules(written), vec![Rule::Defaults, Rule::Defaults]);
        let optional = r#"{"id":3,"message":{"@type":"type.googleapis.com/logi.plugin.protocol.Settings","settingName":"a","version":0}}"#;
        assert_eq!(rules(optional), vec![]);
    }

    #[test]
    fn every_field_has_its_lower_camel_case_json_name_in_the_descriptors() {
        let fields = Schema::get().messages.values().flatten();
        for field in fields {
            assert!(!field.json_name.is_empty(), "{}", field.name);
            assert!(!field.json_name.contains('_'), "{}", field.json_name);
        }
        assert_eq!(
            field_json_name("logi.plugin.protocol.TriggerAction", 1),
            Some("actionInstanceId")
        );
    }
}
