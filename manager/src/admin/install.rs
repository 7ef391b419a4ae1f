//! provd's installation service, for the manager (`/provd/pg_mgr/install`) and for one plugin
//! (`/provd/pg_mgr/plugins/<id>/install`, the same service limited to that plugin's package).
//!
//! Packages come from the host's package source. `install` and `upgrade` answer `201 Created`
//! with the `Location` of an operation in progress whose steps are `fetch` (the package read
//! from the source), `install` (checked, unpacked, its commands run) and `start` (its program
//! launched until it says hello). `uninstall` is done when it answers `204`. `installed` lists
//! the plugins installed from packages, `installable` the newest package of each plugin in the
//! source. provd's optional `update` is left out: the source is a folder, read afresh each time.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_lite::future;
use logi_plugin_core::proto::manager::ContainerState;
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use super::answer::{body, host_error, member, method_not_allowed, not_found, only};
use super::http::{Request, Response};
use super::operation::{self, Operation};
use super::shapes::{info, is_package, links};
use super::state::Admin;
use crate::host::SourcePackage;
use crate::offload::off_executor;
use crate::{Host, HostError, HostEvent, PluginInfo};
use logi_plugin_package::Package;
use logi_plugin_transports::lock::lock;

/// How long a freshly installed plugin may take to say hello.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Answers `<service>/<rest>`, for the manager (`plugin` is `None`) or one plugin.
pub(super) async fn answer(
    admin: &Admin,
    request: &Request,
    plugin: Option<&PluginInfo>,
    rest: &[&str],
) -> Response {
    let base = match plugin {
        Some(plugin) => format!(
            "/provd/pg_mgr/plugins/{}/install",
            plugin.manifest.plugin_id
        ),
        None => "/provd/pg_mgr/install".to_string(),
    };
    match rest {
        [] => only(request, "GET", || service(&base)),
        ["installed"] => only(request, "GET", || installed(admin, plugin)),
        ["installable"] => {
            if request.method != "GET" {
                return method_not_allowed("GET");
            }
            installable(admin, plugin).await
        }
        [verb @ ("install" | "upgrade" | "uninstall")] => {
            if request.method != "POST" {
                return method_not_allowed("POST");
            }
            let target = match target(request, plugin) {
                Ok(target) => target,
                Err(refusal) => return refusal,
            };
            match *verb {
                "uninstall" => match admin.host.uninstall(&target.0).await {
                    Ok(()) => Response::no_content(),
                    Err(error) => host_error(&error),
                },
                "upgrade" if !admin.host.plugin(&target.0).is_some_and(|p| is_package(&p)) => {
                    let what = format!("no package {:?} is installed to upgrade", target.0);
                    Response::error(404, "NOT_FOUND", &what)
                }
                verb => start(admin, &base, verb, target),
            }
        }
        ["install" | "upgrade", _] => {
            let path = request.path.trim_end_matches('/');
            match request.method.as_str() {
                "GET" => match admin.operations.get(path) {
                    Some(status) => Response::json(200, &status),
                    None => not_found(path),
                },
                "DELETE" if admin.operations.delete(path) => Response::no_content(),
                "DELETE" => not_found(path),
                _ => method_not_allowed("GET, DELETE"),
            }
        }
        _ => not_found(&request.path),
    }
}

fn service(base: &str) -> Response {
    let verbs = [
        "install",
        "uninstall",
        "installed",
        "installable",
        "upgrade",
    ];
    let hrefs: Vec<(String, String)> = verbs
        .iter()
        .map(|verb| (format!("{base}/{verb}"), format!("srv.install.{verb}")))
        .collect();
    let pairs: Vec<(&str, &str)> = hrefs
        .iter()
        .map(|(h, r)| (h.as_str(), r.as_str()))
        .collect();
    Response::json(200, &json!({ "links": links(&pairs) }))
}

/// The plugin id (and version, if one is asked) a request names: `{"id": ...}`; for one
/// plugin's service the id may be left out, and must be that plugin's if given.
fn target(
    request: &Request,
    plugin: Option<&PluginInfo>,
) -> Result<(String, Option<String>), Response> {
    let body = body(request)?;
    let version = match body.get("version") {
        None | Some(Value::Null) => None,
        Some(Value::String(version)) => Some(version.clone()),
        Some(other) => {
            let what = format!("\"version\" must be a string such as \"1.2.0\", not {other}");
            return Err(Response::error(400, "INVALID_ARG", &what));
        }
    };
    let id = match (plugin, body.get("id")) {
        (Some(plugin), None) => plugin.manifest.plugin_id.clone(),
        (Some(plugin), Some(_)) => {
            let id = member(&body, "id")?;
            if id != plugin.manifest.plugin_id {
                let what = format!(
                    "this service installs {:?} only, not {id:?}",
                    plugin.manifest.plugin_id
                );
                return Err(Response::error(400, "INVALID_ARG", &what));
            }
            id.to_string()
        }
        (None, _) => member(&body, "id")?.to_string(),
    };
    Ok((id, version))
}

/// Starts an install or upgrade; its operation in progress is at the answer's `Location`.
fn start(
    admin: &Admin,
    base: &str,
    verb: &str,
    (plugin_id, version): (String, Option<String>),
) -> Response {
    let label = if verb == "upgrade" {
        "upgrade"
    } else {
        "install"
    };
    let steps = Operation::new(label, &["fetch", "install", "start"]);
    let (location, op) = admin.operations.create(&format!("{base}/{label}"), steps);
    let host = admin.host.clone();
    smol::spawn(async move {
        if let Err(error) = run(&host, &op, &plugin_id, version.as_deref()).await {
            lock(&op).fail(error);
        }
    })
    .detach();
    Response::created(location)
}

async fn run(
    host: &Host,
    op: &operation::Shared,
    plugin_id: &str,
    version: Option<&str>,
) -> Result<(), String> {
    lock(op).begin("fetch");
    let archive = host
        .fetch_from_source(plugin_id, version)
        .await
        .map_err(|error| error.to_string())?;
    lock(op).finish("fetch");
    lock(op).begin("install");
    let manifest = host
        .install(&archive)
        .await
        .map_err(|error| error.to_string())?;
    lock(op).finish("install");
    lock(op).begin("start");
    let timeout = async {
        async_io::Timer::after(START_TIMEOUT).await;
        Err(format!(
            "{} did not say hello within {START_TIMEOUT:?}",
            manifest.plugin_id
        ))
    };
    future::or(started(host, &manifest.plugin_id), timeout).await?;
    lock(op).finish("start");
    Ok(())
}

/// Waits until a plugin just installed runs (or has nothing to run); why not, if it does not.
async fn started(host: &Host, plugin_id: &str) -> Result<(), String> {
    // The snapshot holds the plugin as installed: only its own launch follows.
    let (plugins, events) = host.watch();
    let mut state = plugins
        .iter()
        .find(|p| p.manifest.plugin_id == plugin_id)
        .map(|plugin| plugin.state);
    loop {
        match state {
            None => return Err(format!("{plugin_id} is no longer installed")),
            Some(ContainerState::Running | ContainerState::NotApplicable) => return Ok(()),
            Some(ContainerState::Crashed | ContainerState::Stopped) => {
                // Its stop report, kept before the state was told, says why.
                let why = host
                    .plugin(plugin_id)
                    .and_then(|p| p.problem.or(p.last_stop.map(|stop| stop.to_string())))
                    .unwrap_or_else(|| "it ended on its own".into());
                return Err(format!("{plugin_id} did not start: {why}"));
            }
            Some(_) => {}
        }
        state = loop {
            match events.recv().await {
                Ok(HostEvent::State {
                    plugin_id: id,
                    state,
                }) if id == plugin_id => break Some(state),
                Ok(_) => {}
                Err(_) => return Err("the host shut down".into()),
            }
        };
    }
}

fn installed(admin: &Admin, plugin: Option<&PluginInfo>) -> Response {
    let pkgs: Map<String, Value> = admin
        .host
        .plugins()
        .into_iter()
        .filter(|p| is_package(p) && in_scope(plugin, &p.manifest.plugin_id))
        .map(|p| (p.manifest.plugin_id.clone(), info(&p.manifest)))
        .collect();
    Response::json(200, &json!({ "pkgs": pkgs }))
}

async fn installable(admin: &Admin, plugin: Option<&PluginInfo>) -> Response {
    let (host, only) = (
        admin.host.clone(),
        plugin.map(|p| p.manifest.plugin_id.clone()),
    );
    // Reading and hashing every package is file work: off the executor.
    let listed = off_executor(move || {
        let mut newest = BTreeMap::<String, SourcePackage>::new();
        for package in host.source_packages()? {
            if only.as_ref().is_some_and(|only| *only != package.plugin_id) {
                continue;
            }
            match newest.get(&package.plugin_id) {
                Some(kept) if kept.version >= package.version => {}
                _ => {
                    newest.insert(package.plugin_id.clone(), package);
                }
            }
        }
        let limits = host.config().limits;
        let pkgs: Map<String, Value> = newest
            .into_iter()
            .map(|(plugin_id, package)| (plugin_id, describe(&package, limits)))
            .collect();
        Ok::<_, HostError>(pkgs)
    })
    .await;
    match listed {
        Ok(pkgs) => Response::json(200, &json!({ "pkgs": pkgs })),
        Err(error) => host_error(&error),
    }
}

/// An installable package's entry: as `plugin_info` says it, with its size and digest (SHA-256:
/// provd's `sha1sum` names a digest this host does not compute), or why it cannot be read.
fn describe(package: &SourcePackage, limits: logi_plugin_package::Limits) -> Value {
    let bytes = match logi_plugin_package::read_archive(&package.path, limits) {
        Ok(bytes) => bytes,
        Err(error) => {
            let problem = error.to_string();
            return json!({ "version": package.version.to_string(), "problem": problem });
        }
    };
    let mut entry = match Package::from_zip(&bytes, limits) {
        Ok(read) => info(read.manifest()),
        Err(error) => {
            json!({ "version": package.version.to_string(), "problem": error.to_string() })
        }
    };
    entry["dsize"] = json!(bytes.len());
    entry["sha256sum"] = json!(hex::encode(Sha256::digest(&bytes)));
    entry
}

fn in_scope(plugin: Option<&PluginInfo>, plugin_id: &str) -> bool {
    plugin.is_none_or(|plugin| plugin.manifest.plugin_id == plugin_id)
}
