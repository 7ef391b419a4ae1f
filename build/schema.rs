//! The protocol schema as the generators need it: every message and enum of the compiled
//! `.proto` files, with the Rust paths prost gives them and the JSON names of their fields.

use heck::{ToSnakeCase, ToUpperCamelCase};
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorProto};

/// Where prost's generated modules are mounted in the crate.
const PROTO_ROOT: &str = "crate::proto";

/// Every message and enum, in declaration order.
pub struct Schema {
    pub messages: Vec<MessageDef>,
    pub enums: Vec<EnumDef>,
}

/// One protobuf message.
pub struct MessageDef {
    /// Fully qualified name without the leading dot, e.g. `logi.plugin.protocol.Ping`.
    pub full_name: String,
    /// The prost type, e.g. `crate::proto::logi::plugin::protocol::Ping`.
    pub rust_path: String,
    /// The prost type's name, e.g. `Ping`.
    pub rust_name: String,
    /// Declared at file level rather than nested in another message.
    pub top_level: bool,
    /// Fields sorted by field number: the order of canonical JSON output.
    pub fields: Vec<FieldDef>,
}

/// One field of a message.
pub struct FieldDef {
    /// The field number.
    pub number: u32,
    /// The name in the `.proto` file.
    pub name: String,
    /// The lowerCamelCase JSON name.
    pub json_name: String,
    /// The Rust field (for a oneof member: the oneof's field).
    pub ident: String,
    pub kind: Kind,
    pub shape: Shape,
}

/// The value type of a field.
pub enum Kind {
    Bool,
    Int32,
    Uint32,
    Float,
    String,
    /// An enum, by its fully qualified name.
    Enum(String),
    /// A message: its fully qualified name, and its Rust path once `Schema::from_files` has
    /// resolved it from the messages it collected.
    Message {
        full_name: String,
        rust_path: String,
    },
    /// `google.protobuf.Any` (only the Envelope has one; it is encoded by hand).
    Any,
}

/// How a field holds its value in the prost struct.
pub enum Shape {
    /// A proto3 scalar without presence: `T`, omitted from JSON when it has its default value.
    Implicit,
    /// A field with presence (`optional` scalar or a message): `Option<T>`.
    Explicit,
    /// `repeated`: `Vec<T>`.
    Repeated,
    /// A member of a real oneof: a variant of the oneof's enum.
    OneofMember {
        /// Index of the oneof within the message.
        oneof: usize,
        /// The oneof's name in the `.proto` file.
        oneof_name: String,
        /// Path of the oneof enum's variant, e.g. `...::update_analog_control::UpdateType::Delta`.
        variant_path: String,
    },
}

/// One protobuf enum.
pub struct EnumDef {
    /// Fully qualified name without the leading dot.
    pub full_name: String,
    /// Values in declaration order: (name, number).
    pub values: Vec<(String, i32)>,
}

impl Schema {
    /// Collects the schema of the given files, or says which construct is not supported.
    pub fn from_files(files: &[FileDescriptorProto]) -> Result<Schema, String> {
        let mut schema = Schema {
            messages: Vec::new(),
            enums: Vec::new(),
        };
        for file in files {
            let package = file.package().to_string();
            let module = package
                .split('.')
                .map(|p| p.to_snake_case())
                .collect::<Vec<_>>();
            let module = format!("{PROTO_ROOT}::{}", module.join("::"));
            for e in &file.enum_type {
                schema.enums.push(enum_def(&package, e));
            }
            for m in &file.message_type {
                schema.add_message(&package, &module, m, true)?;
            }
        }
        schema.resolve_message_fields()?;
        let mut names: Vec<&str> = schema
            .messages
            .iter()
            .filter(|m| m.top_level)
            .map(|m| m.rust_name.as_str())
            .collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!(
                "two top-level messages are named {}: the Message enum needs unique names",
                w[0]
            ));
        }
        Ok(schema)
    }

    fn add_message(
        &mut self,
        scope: &str,
        module: &str,
        m: &DescriptorProto,
        top_level: bool,
    ) -> Result<(), String> {
        let full_name = format!("{scope}.{}", m.name());
        let rust_name = m.name().to_upper_camel_case();
        let rust_path = format!("{module}::{rust_name}");
        let nested_module = format!("{module}::{}", m.name().to_snake_case());
        let mut fields = Vec::new();
        for f in &m.field {
            fields.push(field_def(&full_name, &nested_module, m, f)?);
        }
        fields.sort_by_key(|f: &FieldDef| f.number);
        if m.field.len() + m.oneof_decl.len() > 64 {
            return Err(format!(
                "{full_name} has more than 64 fields and oneofs; the JSON reader tracks them in a u64"
            ));
        }
        self.messages.push(MessageDef {
            full_name: full_name.clone(),
            rust_path,
            rust_name,
            top_level,
            fields,
        });
        for e in &m.enum_type {
            self.enums.push(enum_def(&full_name, e));
        }
        for nested in &m.nested_type {
            if nested.options.as_ref().is_some_and(|o| o.map_entry()) {
                return Err(format!(
                    "{full_name}: map fields are not supported by the JSON generator"
                ));
            }
            self.add_message(&full_name, &nested_module, nested, false)?;
        }
        Ok(())
    }

    /// Fills in the Rust path of every message-typed field from the messages collected (each
    /// with the path prost gives it), so that there is one way paths are made.
    fn resolve_message_fields(&mut self) -> Result<(), String> {
        let paths: std::collections::HashMap<String, String> = self
            .messages
            .iter()
            .map(|m| (m.full_name.clone(), m.rust_path.clone()))
            .collect();
        for field in self.messages.iter_mut().flat_map(|m| &mut m.fields) {
            if let Kind::Message {
                full_name,
                rust_path,
            } = &mut field.kind
            {
                *rust_path = paths.get(full_name).cloned().ok_or_else(|| {
                    format!(
                        "field {} has type {full_name}, which is not in proto/",
                        field.name
                    )
                })?;
            }
        }
        Ok(())
    }

    /// The enum with this fully qualified name.
    pub fn enum_def(&self, full_name: &str) -> &EnumDef {
        self.enums
            .iter()
            .find(|e| e.full_name == full_name)
            .unwrap_or_else(|| panic!("unknown enum {full_name}"))
    }
}

fn enum_def(scope: &str, e: &EnumDescriptorProto) -> EnumDef {
    EnumDef {
        full_name: format!("{scope}.{}", e.name()),
        values: e
            .value
            .iter()
            .map(|v| (v.name().to_string(), v.number()))
            .collect(),
    }
}

fn field_def(
    message: &str,
    nested_module: &str,
    m: &DescriptorProto,
    f: &prost_types::FieldDescriptorProto,
) -> Result<FieldDef, String> {
    let name = f.name().to_string();
    let json_name = f.json_name.clone().unwrap_or_else(|| json_name(&name));
    let type_name = f.type_name().trim_start_matches('.').to_string();
    let kind = match f.r#type() {
        Type::Bool => Kind::Bool,
        Type::Int32 => Kind::Int32,
        Type::Uint32 => Kind::Uint32,
        Type::Float => Kind::Float,
        Type::String => Kind::String,
        Type::Enum => Kind::Enum(type_name),
        Type::Message if type_name == "google.protobuf.Any" => Kind::Any,
        Type::Message => Kind::Message {
            full_name: type_name,
            rust_path: String::new(),
        },
        other => {
            return Err(format!(
                "{message}.{name}: field type {other:?} is not supported by the JSON generator yet \
                 (add its canonical JSON form in build/gen_json.rs and src/codec/json first)"
            ));
        }
    };
    let real_oneof = f.oneof_index.filter(|_| !f.proto3_optional());
    let shape = if f.label() == Label::Repeated {
        Shape::Repeated
    } else if let Some(index) = real_oneof {
        let oneof_name = m.oneof_decl[index as usize].name().to_string();
        let variant_path = format!(
            "{nested_module}::{}::{}",
            oneof_name.to_upper_camel_case(),
            name.to_upper_camel_case()
        );
        Shape::OneofMember {
            oneof: index as usize,
            oneof_name,
            variant_path,
        }
    } else if f.proto3_optional() || matches!(kind, Kind::Message { .. } | Kind::Any) {
        Shape::Explicit
    } else {
        Shape::Implicit
    };
    let ident = match &shape {
        Shape::OneofMember { oneof_name, .. } => sanitize(&oneof_name.to_snake_case()),
        _ => sanitize(&name.to_snake_case()),
    };
    let number = u32::try_from(f.number())
        .map_err(|_| format!("{message}.{name}: field number {} is negative", f.number()))?;
    Ok(FieldDef {
        number,
        name,
        json_name,
        ident,
        kind,
        shape,
    })
}

/// protoc's default JSON name: underscores removed, the letter after each one upper-cased.
fn json_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Rust keywords as raw identifiers, as prost writes them.
fn sanitize(ident: &str) -> String {
    const KEYWORDS: &[&str] = &[
        "as", "break", "const", "continue", "else", "enum", "false", "fn", "for", "if", "impl",
        "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static",
        "struct", "trait", "true", "type", "unsafe", "use", "where", "while", "dyn", "abstract",
        "become", "box", "do", "final", "macro", "override", "priv", "typeof", "unsized",
        "virtual", "yield", "async", "await", "try", "gen",
    ];
    if KEYWORDS.contains(&ident) {
        format!("r#{ident}")
    } else {
        ident.to_string()
    }
}
