//! provd's plugin manager resources (the provd seed), answered from the host: the manager and
//! its links, the plugin list, a plugin, its information, reload; and provd's configuration
//! service, whose parameters here are development mode and the language.
//!
//! Decision (the seed's capabilities are phone models): a Logi plugin's `capabilities` are its
//! manifest's actions and analog controls, keyed by id, each saying what kind it is and how it
//! is shown (see `docs/admin.md`).

use serde_json::{Map, Value, json};

use super::answer::{body, host_error, member, method_not_allowed, not_found, only};
use super::http::{Request, Response};
use super::shapes::{info, links};
use super::state::Admin;

/// Answers `/provd/pg_mgr/<rest>`.
pub(super) async fn answer(admin: &Admin, request: &Request, rest: &[&str]) -> Response {
    match rest {
        [] => only(request, "GET", manager),
        ["plugins"] => only(request, "GET", || plugins(admin)),
        ["reload"] => match request.method.as_str() {
            "POST" => reload(admin, request).await,
            _ => method_not_allowed("POST"),
        },
        ["install", rest @ ..] => super::install::answer(admin, request, None, rest).await,
        ["plugins", plugin_id, rest @ ..] => {
            let Some(plugin) = admin.host.plugin(plugin_id) else {
                let what = format!("no plugin {plugin_id:?} is installed");
                return Response::error(404, "NOT_FOUND", &what);
            };
            match rest {
                [] => only(request, "GET", || plugin_links(plugin_id)),
                ["info"] => only(request, "GET", || {
                    Response::json(200, &json!({ "plugin_info": info(&plugin.manifest) }))
                }),
                ["install", rest @ ..] => {
                    super::install::answer(admin, request, Some(&plugin), rest).await
                }
                _ => not_found(&request.path),
            }
        }
        _ => not_found(&request.path),
    }
}

fn manager() -> Response {
    let links = links(&[
        ("/provd/pg_mgr/install", "srv.install"),
        ("/provd/pg_mgr/plugins", "pg.plugins"),
        ("/provd/pg_mgr/reload", "pg.reload"),
    ]);
    Response::json(200, &json!({ "links": links }))
}

fn plugins(admin: &Admin) -> Response {
    let plugins: Map<String, Value> = admin
        .host
        .plugins()
        .into_iter()
        .map(|plugin| {
            let id = plugin.manifest.plugin_id;
            let href = format!("/provd/pg_mgr/plugins/{id}");
            (id, json!({ "links": links(&[(&href, "pg.plugin")]) }))
        })
        .collect();
    Response::json(200, &json!({ "plugins": plugins }))
}

fn plugin_links(plugin_id: &str) -> Response {
    let base = format!("/provd/pg_mgr/plugins/{plugin_id}");
    let links = links(&[
        (&format!("{base}/info"), "pg.info"),
        (&format!("{base}/install"), "srv.install"),
    ]);
    Response::json(200, &json!({ "links": links }))
}

async fn reload(admin: &Admin, request: &Request) -> Response {
    let body = match body(request) {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let plugin_id = match member(&body, "id") {
        Ok(plugin_id) => plugin_id,
        Err(refusal) => return refusal,
    };
    match admin.host.reload(plugin_id).await {
        Ok(()) => Response::no_content(),
        Err(error) => host_error(&error),
    }
}

/// provd's configuration service's parameters here.
const PARAMS: [(&str, &str); 2] = [
    (
        "development_mode",
        "Accept unsigned and untrusted packages, with a warning (true or false)",
    ),
    (
        "locale",
        "The language plugins are told in their hello. Example: de-DE",
    ),
];

/// Answers `/provd/configure/<rest>`.
pub(super) fn configure(admin: &Admin, request: &Request, rest: &[&str]) -> Response {
    match rest {
        [] => only(request, "GET", || {
            let params: Vec<Value> = PARAMS
                .iter()
                .map(|(id, description)| {
                    let href = format!("/provd/configure/{id}");
                    json!({
                        "description": description,
                        "id": id,
                        "links": links(&[(&href, "srv.configure.param")]),
                        "value": param(admin, id),
                    })
                })
                .collect();
            Response::json(200, &json!({ "params": params }))
        }),
        [id] if PARAMS.iter().any(|(known, _)| known == id) => match request.method.as_str() {
            "GET" => Response::json(200, &json!({ "param": { "value": param(admin, id) } })),
            "PUT" => set_param(admin, request, id),
            _ => method_not_allowed("GET, PUT"),
        },
        _ => not_found(&request.path),
    }
}

fn param(admin: &Admin, id: &str) -> Value {
    match id {
        "development_mode" => Value::Bool(admin.host.development_mode()),
        _ => Value::String(admin.host.language()),
    }
}

fn set_param(admin: &Admin, request: &Request, id: &str) -> Response {
    let body = match body(request) {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let value = &body["param"]["value"];
    let invalid = |expected: &str| {
        let what = format!("param.value of {id} must be {expected}, not {value}");
        Response::error(400, "INVALID_ARG", &what)
    };
    match id {
        "development_mode" => {
            // provd's own switches are 0 and 1; true and false say the same.
            let enabled = match value {
                Value::Bool(enabled) => *enabled,
                Value::Number(n) if n.as_u64() == Some(0) => false,
                Value::Number(n) if n.as_u64() == Some(1) => true,
                _ => return invalid("true, false, 0 or 1"),
            };
            admin.host.set_development_mode(enabled);
        }
        _ => {
            let Some(language) = value.as_str() else {
                return invalid("a language code such as \"de-DE\"");
            };
            if let Err(error) = admin.host.set_language(language) {
                return host_error(&error);
            }
        }
    }
    Response::no_content()
}
