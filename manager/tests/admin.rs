//! The admin HTTP port against a running host: provd's plugin-manager resources with the exact
//! shapes of the provd seed's examples, the installation service and its operations in
//! progress, reload, the configuration service, `/logi/call`, `/logi/events`, the console page,
//! and the rules that keep other sites out.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Served, loopback, media_host, media_manifest, serving, until_state};
use logi_example_media::PLUGIN_ID;
use logi_plugin_core::proto::manager::ContainerState;
use logi_plugin_package::{Limits, Package};
use serde_json::{Value, json};

const PROVD_JSON: &str = "application/vnd.proformatique.provd+json";

/// A host with the media plugin (CORE), the admin port, and a package source in its data
/// directory; development mode, so that the test packages need no signature.
fn host() -> (Served, tempfile::TempDir) {
    let (host, data) = media_host(|config| {
        config.package_source = Some(config.data_dir.join("source"));
        config.development = true;
    });
    std::fs::create_dir_all(data.path().join("source")).unwrap();
    (serving(host, |front| front.admin = loopback()), data)
}

/// An answer: status, headers (names in lower case), body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    /// The header `name`, which the answer must carry at most once (a browser refuses an
    /// answer with its CORS headers twice).
    fn header(&self, name: &str) -> Option<&str> {
        let mut found = self.headers.iter().filter(|(key, _)| key == name);
        let first = found.next().map(|(_, value)| value.as_str());
        assert!(
            found.next().is_none(),
            "{name} is sent twice: {:?}",
            self.headers
        );
        first
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// The error's code, checking the error's shape.
    fn error_code(&self) -> String {
        let error = &self.json()["error"];
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
        error["code"].as_str().unwrap().to_string()
    }
}

/// Sends one request as the owner (the port's credential as a bearer token, unless `extra`
/// has an `Authorization` or a `Cookie`) with `extra` headers (a `Host` of the admin port unless
/// `extra` has one).
fn request(
    host: &Served,
    method: &str,
    path: &str,
    body: Option<&str>,
    extra: &[(&str, &str)],
) -> Answer {
    exchange(host, method, path, body, extra, true)
}

/// [`request`] with no credential, as another local user or a page could send it.
fn anonymous(host: &Served, method: &str, path: &str, body: Option<&str>) -> Answer {
    exchange(host, method, path, body, &[], false)
}

fn exchange(
    host: &Served,
    method: &str,
    path: &str,
    body: Option<&str>,
    extra: &[(&str, &str)],
    as_owner: bool,
) -> Answer {
    let addr = host.admin_addr().unwrap();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    let has = |header: &str| {
        extra
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case(header))
    };
    if !has("host") {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    if as_owner && !has("authorization") && !has("cookie") {
        let token = host.admin_token().unwrap();
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() && !extra.iter().any(|(name, _)| *name == "Content-Type") {
        head.push_str(&format!("Content-Type: {PROVD_JSON}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(head.as_bytes()).unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    parse_answer(&text)
}

/// An answer as read whole off the connection.
fn parse_answer(text: &str) -> Answer {
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(": ").unwrap();
            (name.to_ascii_lowercase(), value.to_string())
        })
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
    }
}

fn get(host: &Served, path: &str) -> Answer {
    request(host, "GET", path, None, &[])
}

fn post(host: &Served, path: &str, body: Value) -> Answer {
    request(host, "POST", path, Some(&body.to_string()), &[])
}

/// A package with no program (its container state is `NOT_APPLICABLE`), one action and one
/// analog control, as an archive.
fn plain_package(plugin_id: &str, version: &str, description: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let manifest = json!({
        "plugin_id": plugin_id, "name": "Plain", "author": "Tests",
        "description": description, "icon": "icon.png", "version": version,
        "OS": [{ "platform": "mac", "minimumVersion": "10.15" }], "platformVersion": "0.1",
        "actions": [{ "id": "go", "name": "Go", "tooltip": "Goes", "groupIds": [] }],
        "controls": [{ "id": "dial", "name": "Dial", "tooltip": "Turns", "groupIds": [],
                       "minimum": 0, "maximum": 10, "defaultStep": 2 }],
        "requiredCapabilities": ["base"]
    });
    std::fs::write(dir.path().join("manifest.json"), manifest.to_string()).unwrap();
    std::fs::write(dir.path().join("icon.png"), b"png").unwrap();
    let package = Package::from_dir(dir.path(), Limits::default()).unwrap();
    package.to_zip().unwrap()
}

fn put_in_source(data: &tempfile::TempDir, plugin_id: &str, version: &str, archive: &[u8]) {
    let path = data
        .path()
        .join(format!("source/{plugin_id}-{version}.zip"));
    std::fs::write(path, archive).unwrap();
}

/// Polls an operation in progress until it is no longer in progress; its last resource.
fn settled(host: &Served, location: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = get(host, location);
        assert_eq!(answer.status, 200, "{}", answer.body);
        let resource = answer.json();
        let status = resource["status"].as_str().unwrap().to_string();
        if !status.contains("|progress") || Instant::now() > deadline {
            return resource;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_plugin_manager_links_to_its_installation_service_plugins_and_reload() {
    let (host, _data) = host();
    let answer = get(&host, "/provd/pg_mgr");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some(PROVD_JSON));
    assert_eq!(
        answer.json(),
        json!({ "links": [
            { "href": "/provd/pg_mgr/install", "rel": "srv.install" },
            { "href": "/provd/pg_mgr/plugins", "rel": "pg.plugins" },
            { "href": "/provd/pg_mgr/reload", "rel": "pg.reload" }
        ]})
    );
}

#[test]
fn the_plugin_list_links_each_plugin_by_id() {
    let (host, _data) = host();
    let answer = get(&host, "/provd/pg_mgr/plugins");
    assert_eq!(answer.status, 200);
    let href = format!("/provd/pg_mgr/plugins/{PLUGIN_ID}");
    assert_eq!(
        answer.json(),
        json!({ "plugins": { PLUGIN_ID: { "links": [{ "href": href, "rel": "pg.plugin" }] } } })
    );
}

#[test]
fn a_plugin_links_to_its_information_and_installation_service() {
    let (host, _data) = host();
    let answer = get(&host, &format!("/provd/pg_mgr/plugins/{PLUGIN_ID}"));
    assert_eq!(answer.status, 200);
    let base = format!("/provd/pg_mgr/plugins/{PLUGIN_ID}");
    assert_eq!(
        answer.json(),
        json!({ "links": [
            { "href": format!("{base}/info"), "rel": "pg.info" },
            { "href": format!("{base}/install"), "rel": "srv.install" }
        ]})
    );
}

#[test]
fn plugin_information_has_the_capabilities_of_its_actions_and_controls() {
    let (host, _data) = host();
    let answer = get(&host, &format!("/provd/pg_mgr/plugins/{PLUGIN_ID}/info"));
    assert_eq!(answer.status, 200);
    let manifest = media_manifest();
    assert_eq!(
        answer.json(),
        json!({ "plugin_info": {
            "capabilities": {
                "toggle_mute": { "kind": "action", "name": "Toggle mute",
                                 "tooltip": "Mutes the sound, or brings it back",
                                 "groups": ["media"] },
                "volume": { "kind": "analog", "name": "Volume",
                            "tooltip": "Turns the volume up and down", "groups": ["media"],
                            "minimum": 0.0, "maximum": 100.0, "default_step": 1.0, "unit": "%" }
            },
            "description": manifest.description,
            "version": "1.0.0"
        }})
    );
}

#[test]
fn an_unknown_plugin_is_404_with_a_json_error() {
    let (host, _data) = host();
    for path in [
        "/provd/pg_mgr/plugins/no.such.plugin",
        "/provd/pg_mgr/plugins/no.such.plugin/info",
        "/provd/pg_mgr/plugins/no.such.plugin/install",
    ] {
        let answer = get(&host, path);
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(answer.header("content-type"), Some(PROVD_JSON));
        assert_eq!(answer.error_code(), "NOT_FOUND");
        assert!(answer.body.contains("no.such.plugin"), "{}", answer.body);
    }
    let answer = post(
        &host,
        "/provd/pg_mgr/reload",
        json!({ "id": "no.such.plugin" }),
    );
    assert_eq!(answer.status, 404);
    assert_eq!(answer.error_code(), "NOT_FOUND");
}

#[test]
fn the_installation_service_links_its_operations() {
    let (host, _data) = host();
    for base in [
        "/provd/pg_mgr/install".to_string(),
        format!("/provd/pg_mgr/plugins/{PLUGIN_ID}/install"),
    ] {
        let answer = get(&host, &base);
        assert_eq!(answer.status, 200);
        let link = |verb: &str| json!({ "href": format!("{base}/{verb}"), "rel": format!("srv.install.{verb}") });
        assert_eq!(
            answer.json(),
            json!({ "links": [link("install"), link("uninstall"), link("installed"),
                              link("installable"), link("upgrade")] })
        );
    }
}

#[test]
fn an_install_is_an_operation_in_progress_that_ends_in_success() {
    let (host, data) = host();
    put_in_source(
        &data,
        "com.example.plain",
        "1.2.0",
        &plain_package("com.example.plain", "1.2.0", "Plain"),
    );
    let answer = post(
        &host,
        "/provd/pg_mgr/install/install",
        json!({ "id": "com.example.plain" }),
    );
    assert_eq!(answer.status, 201, "{}", answer.body);
    let location = answer.header("location").unwrap().to_string();
    assert!(
        location.starts_with("/provd/pg_mgr/install/install/"),
        "{location}"
    );
    assert_eq!(
        settled(&host, &location),
        json!({ "status": "install|success;3/3(fetch|success)(install|success)(start|success)" })
    );
    let plugins = get(&host, "/provd/pg_mgr/plugins").json();
    assert!(plugins["plugins"]["com.example.plain"].is_object());
    // The monitor goes when deleted; the plugin stays.
    assert_eq!(request(&host, "DELETE", &location, None, &[]).status, 204);
    assert_eq!(get(&host, &location).status, 404);
    assert_eq!(
        get(&host, "/provd/pg_mgr/plugins/com.example.plain").status,
        200
    );
}

#[test]
fn an_install_missing_from_the_source_fails_at_fetch_naming_the_file() {
    let (host, _data) = host();
    let answer = post(
        &host,
        "/provd/pg_mgr/install/install",
        json!({ "id": "com.example.none", "version": "2.0.0" }),
    );
    assert_eq!(answer.status, 201);
    let resource = settled(&host, answer.header("location").unwrap());
    assert_eq!(
        resource["status"],
        "install|fail;0/3(fetch|fail)(install|waiting)(start|waiting)"
    );
    let error = resource["error"].as_str().unwrap();
    assert!(error.contains("com.example.none-2.0.0.zip"), "{error}");
}

#[cfg(unix)]
#[test]
fn a_plugin_that_crashes_at_launch_fails_the_start_step_with_the_reason() {
    let (host, data) = host();
    let package = common::script_package("#!/bin/sh\nexit 3\n");
    put_in_source(
        &data,
        "com.example.script",
        "1.0.0",
        &package.to_zip().unwrap(),
    );
    let answer = post(
        &host,
        "/provd/pg_mgr/install/install",
        json!({ "id": "com.example.script" }),
    );
    let resource = settled(&host, answer.header("location").unwrap());
    assert_eq!(
        resource["status"],
        "install|fail;2/3(fetch|success)(install|success)(start|fail)"
    );
    let error = resource["error"].as_str().unwrap();
    assert!(
        error.contains("did not start: crashed (exit status: 3)"),
        "{error}"
    );
}

#[test]
fn installed_and_installable_list_packages_with_their_information() {
    let (host, data) = host();
    put_in_source(
        &data,
        "com.example.plain",
        "1.0.0",
        &plain_package("com.example.plain", "1.0.0", "Old"),
    );
    let newest = plain_package("com.example.plain", "1.10.0", "New");
    put_in_source(&data, "com.example.plain", "1.10.0", &newest);
    let installable = get(&host, "/provd/pg_mgr/install/installable").json();
    let entry = &installable["pkgs"]["com.example.plain"];
    assert_eq!(entry["version"], "1.10.0");
    assert_eq!(entry["description"], "New");
    assert_eq!(entry["dsize"], newest.len());
    assert_eq!(entry["sha256sum"].as_str().unwrap().len(), 64);
    assert_eq!(entry["capabilities"]["dial"]["kind"], "analog");
    // The CORE media plugin is no installed package; nothing is installed yet.
    assert_eq!(
        get(&host, "/provd/pg_mgr/install/installed").json(),
        json!({ "pkgs": {} })
    );
    smol::block_on(host.install(&newest)).unwrap();
    let installed = get(&host, "/provd/pg_mgr/install/installed").json();
    assert_eq!(installed["pkgs"]["com.example.plain"]["version"], "1.10.0");
    assert_eq!(installed["pkgs"]["com.example.plain"]["description"], "New");
    // A plugin's own service lists that plugin's package only.
    let own = get(
        &host,
        "/provd/pg_mgr/plugins/com.example.plain/install/installable",
    )
    .json();
    assert_eq!(own["pkgs"].as_object().unwrap().len(), 1);
}

#[test]
fn uninstall_answers_204_once_the_plugin_is_gone() {
    let (host, _data) = host();
    smol::block_on(host.install(&plain_package("com.example.plain", "1.0.0", "Plain"))).unwrap();
    let answer = post(
        &host,
        "/provd/pg_mgr/install/uninstall",
        json!({ "id": "com.example.plain" }),
    );
    assert_eq!(answer.status, 204, "{}", answer.body);
    assert_eq!(
        get(&host, "/provd/pg_mgr/plugins/com.example.plain").status,
        404
    );
    let again = post(
        &host,
        "/provd/pg_mgr/install/uninstall",
        json!({ "id": "com.example.plain" }),
    );
    assert_eq!(again.status, 404);
    assert_eq!(again.error_code(), "NOT_FOUND");
}

#[test]
fn an_upgrade_takes_the_newest_package_of_an_installed_plugin() {
    let (host, data) = host();
    smol::block_on(host.install(&plain_package("com.example.plain", "1.0.0", "Old"))).unwrap();
    put_in_source(
        &data,
        "com.example.plain",
        "2.0.0",
        &plain_package("com.example.plain", "2.0.0", "New"),
    );
    let service = "/provd/pg_mgr/plugins/com.example.plain/install";
    // The plugin's own service needs no id.
    let answer = post(&host, &format!("{service}/upgrade"), json!({}));
    assert_eq!(answer.status, 201, "{}", answer.body);
    let location = answer.header("location").unwrap();
    assert!(
        location.starts_with(&format!("{service}/upgrade/")),
        "{location}"
    );
    assert_eq!(
        settled(&host, location)["status"],
        "upgrade|success;3/3(fetch|success)(install|success)(start|success)"
    );
    let info = get(&host, "/provd/pg_mgr/plugins/com.example.plain/info").json();
    assert_eq!(info["plugin_info"]["version"], "2.0.0");
    // Another plugin's id is refused by this service.
    let other = post(
        &host,
        &format!("{service}/upgrade"),
        json!({ "id": PLUGIN_ID }),
    );
    assert_eq!(other.status, 400);
}

#[test]
fn an_upgrade_of_a_plugin_not_installed_is_404() {
    let (host, _data) = host();
    let answer = post(
        &host,
        "/provd/pg_mgr/install/upgrade",
        json!({ "id": "com.example.none" }),
    );
    assert_eq!(answer.status, 404);
    assert_eq!(answer.error_code(), "NOT_FOUND");
}

/// Changes an installed plugin's description from "Before" to "After" in its folder, as a
/// plugin author does, and asks for a reload.
fn edit_and_reload(host: &Served, data: &tempfile::TempDir, plugin_id: &str) -> Answer {
    let manifest_path = data
        .path()
        .join(format!("plugins/{plugin_id}/manifest.json"));
    let edited = std::fs::read_to_string(&manifest_path)
        .unwrap()
        .replace("Before", "After");
    std::fs::write(&manifest_path, edited).unwrap();
    post(host, "/provd/pg_mgr/reload", json!({ "id": plugin_id }))
}

#[cfg(unix)]
#[test]
fn reload_reads_an_installed_plugins_manifest_again_and_restarts_its_program() {
    let (host, data) = host();
    let package = common::script_package_with(
        "#!/bin/sh\nexec sleep 30\n",
        json!({ "description": "Before" }),
    );
    smol::block_on(host.install(&package.to_zip().unwrap())).unwrap();
    let events = host.subscribe();
    let answer = edit_and_reload(&host, &data, "com.example.script");
    assert_eq!(answer.status, 204, "{}", answer.body);
    assert!(answer.body.is_empty());
    // The program was stopped, then launched again.
    until_state(&events, "com.example.script", ContainerState::Stopped);
    until_state(&events, "com.example.script", ContainerState::Launching);
    let info = get(&host, "/provd/pg_mgr/plugins/com.example.script/info").json();
    assert_eq!(info["plugin_info"]["description"], "After");
}

#[test]
fn reload_of_an_edited_plugin_outside_development_mode_lists_it_with_the_reason() {
    let (host, data) = host();
    smol::block_on(host.install(&plain_package("com.example.plain", "1.0.0", "Before"))).unwrap();
    host.set_development_mode(false);
    let answer = edit_and_reload(&host, &data, "com.example.plain");
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert_eq!(answer.error_code(), "UNAUTHORIZED");
    let plugin = host.plugin("com.example.plain").unwrap();
    assert_eq!(plugin.state, ContainerState::Stopped);
    assert!(plugin.problem.is_some());
}

#[test]
fn reload_refuses_what_it_cannot_do_saying_why() {
    let (host, _data) = host();
    let no_id = post(&host, "/provd/pg_mgr/reload", json!({}));
    assert_eq!(no_id.status, 400);
    assert!(no_id.body.contains("\\\"id\\\""), "{}", no_id.body);
    let core = post(&host, "/provd/pg_mgr/reload", json!({ "id": PLUGIN_ID }));
    assert_eq!(core.status, 403);
    assert!(core.body.contains("CORE"), "{}", core.body);
    let not_json = request(&host, "POST", "/provd/pg_mgr/reload", Some("{\"id\""), &[]);
    assert_eq!(not_json.status, 400);
    let form = request(
        &host,
        "POST",
        "/provd/pg_mgr/reload",
        Some("id=x"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
    );
    assert_eq!(form.status, 415);
    let get = get(&host, "/provd/pg_mgr/reload");
    assert_eq!(get.status, 405);
    assert_eq!(get.header("allow"), Some("POST"));
}

#[test]
fn the_configuration_service_reads_and_sets_development_mode_and_language() {
    let (host, _data) = host();
    let params = get(&host, "/provd/configure").json();
    let ids: Vec<&str> = params["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["development_mode", "locale"]);
    assert_eq!(
        params["params"][1]["links"],
        json!([{ "href": "/provd/configure/locale", "rel": "srv.configure.param" }])
    );
    assert_eq!(
        get(&host, "/provd/configure/development_mode").json(),
        json!({ "param": { "value": true } })
    );
    let set = |id: &str, value: Value| {
        request(
            &host,
            "PUT",
            &format!("/provd/configure/{id}"),
            Some(&json!({ "param": { "value": value } }).to_string()),
            &[],
        )
    };
    assert_eq!(set("development_mode", json!(0)).status, 204);
    assert!(!host.development_mode());
    assert_eq!(set("locale", json!("de-DE")).status, 204);
    assert_eq!(host.language(), "de-DE");
    let bad = set("locale", json!("de DE"));
    assert_eq!(bad.status, 400);
    assert_eq!(bad.error_code(), "INVALID_ARG");
    assert_eq!(set("development_mode", json!("yes")).status, 400);
    assert_eq!(get(&host, "/provd/configure/nothing").status, 404);
}

#[test]
fn a_client_library_call_is_carried_out_and_answered_as_an_envelope() {
    let (host, _data) = host();
    let invoke = json!({ "id": 7, "message": {
        "@type": "type.googleapis.com/logi.protocol.plugin_manager.Invoke",
        "pluginId": PLUGIN_ID, "actionId": "toggle_mute", "instanceId": "i1",
        "buttonState": "BUTTON_STATE_DOWN" } });
    let answer = post(&host, "/logi/call", invoke);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let envelope = answer.json();
    assert_eq!(envelope["id"], 7);
    assert_eq!(envelope["response"]["result"], "SUCCESS");
    assert_eq!(envelope["message"]["actionStatus"]["text"], "Muted");
    let unknown = json!({ "message": {
        "@type": "type.googleapis.com/logi.protocol.plugin_manager.Invoke",
        "pluginId": "no.such.plugin", "actionId": "a", "buttonState": "BUTTON_STATE_DOWN" } });
    let answer = post(&host, "/logi/call", unknown);
    assert_eq!(answer.status, 404);
    assert_eq!(answer.error_code(), "NOT_FOUND");
    let garbage = post(&host, "/logi/call", json!({ "message": 3 }));
    assert_eq!(garbage.status, 400);
}

/// Reads one server-sent event: its name and data.
fn next_event(reader: &mut BufReader<TcpStream>) -> Option<(String, Value)> {
    let (mut name, mut data) = (String::new(), String::new());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            return None;
        }
        let line = line.trim_end();
        if let Some(value) = line.strip_prefix("event: ") {
            name = value.into();
        } else if let Some(value) = line.strip_prefix("data: ") {
            data = value.into();
        } else if line.is_empty() && !name.is_empty() {
            return Some((name, serde_json::from_str(&data).unwrap()));
        }
    }
}

fn open_events(host: &Served) -> BufReader<TcpStream> {
    let addr = host.admin_addr().unwrap();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let token = host.admin_token().unwrap();
    write!(
        stream,
        "GET /logi/events HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
    .unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "HTTP/1.1 200 OK\r\n");
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" {
            return reader;
        }
        if line.to_ascii_lowercase().starts_with("content-type") {
            assert_eq!(line.trim_end(), "Content-Type: text/event-stream");
        }
    }
}

#[test]
fn the_event_stream_starts_with_every_plugin_then_follows_the_host() {
    let (host, _data) = host();
    let mut events = open_events(&host);
    let (name, plugins) = next_event(&mut events).unwrap();
    assert_eq!(name, "plugins");
    assert_eq!(plugins[0]["pluginId"], PLUGIN_ID);
    assert_eq!(plugins[0]["containerState"], "CONTAINER_STATE_RUNNING");
    // A language change reconnects every plugin.
    host.set_language("de-DE").unwrap();
    loop {
        let (name, event) = next_event(&mut events).unwrap();
        assert_eq!(name, "host");
        if event["event"] == "connected" {
            assert_eq!(event["plugin_id"], PLUGIN_ID);
            break;
        }
    }
    smol::block_on(host.shutdown());
    // The host's shutdown ends the stream.
    while next_event(&mut events).is_some() {}
}

#[test]
fn a_plugins_new_log_lines_are_events_and_its_recent_ones_a_client_library_call() {
    let (host, _data) = host();
    let mut events = open_events(&host);
    // A language change closes every plugin's session, which the host notes in its log.
    host.set_language("de-DE").unwrap();
    let noted = loop {
        let (_, event) = next_event(&mut events).unwrap();
        let message = event["message"].as_str().unwrap_or_default();
        if event["event"] == "log" && message.starts_with("session closed") {
            break event;
        }
    };
    assert_eq!(
        (&noted["plugin_id"], &noted["source"], &noted["level"]),
        (&json!(PLUGIN_ID), &json!("host"), &json!("INFO"))
    );
    assert!(noted["time"].as_str().unwrap().ends_with('Z'), "{noted}");
    let ask = json!({ "id": 1, "message": {
        "@type": "type.googleapis.com/logi.protocol.plugin_manager.GetPluginLog",
        "pluginId": PLUGIN_ID } });
    let answer = post(&host, "/logi/call", ask);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let log = &answer.json()["message"];
    let kept = log["lines"].as_array().unwrap();
    let line = kept.iter().find(|line| line["seq"] == noted["seq"]);
    let line = line.unwrap_or_else(|| panic!("{} is not in {log}", noted["seq"]));
    assert_eq!(
        (&line["source"], &line["time"], &line["message"]),
        (&json!("LOG_SOURCE_HOST"), &noted["time"], &noted["message"])
    );
}

#[test]
fn a_request_naming_another_host_or_from_another_origin_is_refused() {
    let (host, _data) = host();
    let port = host.admin_addr().unwrap().port();
    let rebound = request(
        &host,
        "GET",
        "/provd/pg_mgr",
        None,
        &[("Host", "evil.example")],
    );
    assert_eq!(rebound.status, 403);
    assert_eq!(rebound.error_code(), "FORBIDDEN_HOST");
    let page = request(
        &host,
        "POST",
        "/provd/pg_mgr/reload",
        Some("{}"),
        &[("Origin", "https://evil.example")],
    );
    assert_eq!(page.status, 403);
    assert_eq!(page.error_code(), "FORBIDDEN_ORIGIN");
    // The console's own origin, and a program with none, are let in.
    let own = format!("http://localhost:{port}");
    let local = format!("localhost:{port}");
    let console = request(
        &host,
        "GET",
        "/provd/pg_mgr",
        None,
        &[("Host", &local), ("Origin", &own)],
    );
    assert_eq!(console.status, 200);
    assert_eq!(get(&host, "/provd/pg_mgr").status, 200);
}

#[test]
fn a_page_of_another_site_cannot_read_the_event_stream_or_post_without_json() {
    let (host, _data) = host();
    let stream = request(
        &host,
        "GET",
        "/logi/events",
        None,
        &[("Origin", "https://evil.example")],
    );
    assert_eq!(stream.status, 403);
    // A plain GET a page sends without an Origin still says where it comes from.
    let image = request(
        &host,
        "GET",
        "/provd/pg_mgr/install/installable",
        None,
        &[("Sec-Fetch-Site", "cross-site")],
    );
    assert_eq!(image.status, 403);
    assert_eq!(image.error_code(), "FORBIDDEN_SITE");
    // A POST with no body still has to say it is JSON.
    let bare = request(&host, "POST", "/provd/pg_mgr/install/uninstall", None, &[]);
    assert_eq!(bare.status, 415);
    assert_eq!(
        get(&host, &format!("/provd/pg_mgr/plugins/{PLUGIN_ID}")).status,
        200
    );
}

#[test]
fn a_page_of_an_allowed_origin_gets_its_cors_answers() {
    let (host, _data) = media_host(|_| {});
    let host = serving(host, |front| {
        front.admin = loopback();
        front.admin_origins = vec!["http://localhost:5173".into()];
    });
    let origin = [("Origin", "http://localhost:5173")];
    let preflight = request(&host, "OPTIONS", "/provd/pg_mgr/reload", None, &origin);
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    assert!(
        preflight
            .header("access-control-allow-headers")
            .unwrap()
            .contains("Content-Type")
    );
    let answer = request(&host, "GET", "/provd/pg_mgr", None, &origin);
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    let stranger = request(
        &host,
        "OPTIONS",
        "/provd/pg_mgr/reload",
        None,
        &[("Origin", "http://localhost:9999")],
    );
    assert_eq!(stranger.status, 403);
}

#[test]
fn the_console_page_and_its_script_are_served_with_a_strict_policy() {
    let (host, _data) = host();
    let page = get(&host, "/");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(page.body.contains("Developer console"));
    assert_eq!(
        page.header("content-security-policy"),
        Some(
            "default-src 'self'; connect-src 'self' ws://127.0.0.1:* ws://localhost:* \
             ws://[::1]:*; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
             form-action 'none'; frame-ancestors 'none'"
        )
    );
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    let script = get(&host, "/console/console.js");
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(script.body.contains("/logi/call"));
    assert_eq!(get(&host, "/console/nothing.js").status, 404);
    assert_eq!(get(&host, "/nowhere").status, 404);
}

#[test]
fn a_request_without_the_owners_credential_is_refused_401() {
    let (host, _data) = host();
    for path in ["/", "/provd/pg_mgr", "/logi/events"] {
        let refused = anonymous(&host, "GET", path, None);
        assert_eq!(refused.status, 401, "{path}");
        assert_eq!(refused.error_code(), "UNAUTHORIZED");
        assert!(refused.body.contains("admin.token"), "{}", refused.body);
        assert!(refused.header("www-authenticate").is_some());
    }
    let development = host.development_mode();
    let body = r#"{"param": {"value": false}}"#;
    let refused = anonymous(
        &host,
        "PUT",
        "/provd/configure/development_mode",
        Some(body),
    );
    assert_eq!(refused.status, 401);
    assert_eq!(host.development_mode(), development);
    let wrong = request(
        &host,
        "GET",
        "/provd/pg_mgr",
        None,
        &[("Authorization", "Bearer 0000")],
    );
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("not this manager's"), "{}", wrong.body);
}

#[test]
fn the_credential_is_kept_owner_only_in_the_data_directory() {
    let (host, data) = host();
    let kept = std::fs::read_to_string(data.path().join("admin.token")).unwrap();
    assert_eq!(kept.trim(), host.admin_token().unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(data.path().join("admin.token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// What `script` prints, run by bash as the user `nobody` (uid 65534); `None` (with the reason
/// printed) when this test does not run as root and cannot become another user.
#[cfg(unix)]
fn as_another_user(script: &str) -> Option<String> {
    use std::os::unix::process::CommandExt as _;
    if rustix::process::geteuid().as_raw() != 0 {
        eprintln!("skipped: only root can run the probe as another user (uid 65534)");
        return None;
    }
    let output = std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .uid(65534)
        .gid(65534)
        .current_dir("/")
        .output()
        .unwrap();
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(unix)]
#[test]
fn another_local_user_can_neither_read_the_credential_nor_install_or_switch_modes() {
    let (host, data) = media_host(|_| {});
    let host = serving(host, |front| front.admin = loopback());
    let addr = host.admin_addr().unwrap();
    let token_file = data.path().join("admin.token");
    // The probe of the issue, as user nobody: switch development mode on, then install a
    // package of its own by path; and read the owner's secret.
    let probe = format!(
        r#"
        send() {{
            exec 3<>/dev/tcp/127.0.0.1/{port}
            printf '%s %s HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: %s\r\n\r\n%s' "$1" "$2" "${{#3}}" "$3" >&3
            head -n 1 <&3
            exec 3<&-
        }}
        send PUT /provd/configure/development_mode '{{"param":{{"value":true}}}}'
        send POST /logi/call '{{"id":1,"message":{{"@type":"type.googleapis.com/logi.protocol.plugin_manager.InstallPlugin","pluginId":"x","packagePath":"/tmp/theirs.zip"}}}}'
        cat {token} >/dev/null 2>&1 && echo READ_THE_SECRET || echo cannot read the secret
        "#,
        port = addr.port(),
        token = token_file.display(),
    );
    let Some(seen) = as_another_user(&probe) else {
        return;
    };
    let lines: Vec<&str> = seen.lines().map(str::trim_end).collect();
    assert_eq!(
        lines,
        [
            "HTTP/1.1 401 Unauthorized",
            "HTTP/1.1 401 Unauthorized",
            "cannot read the secret"
        ],
        "{seen}"
    );
    assert!(!host.development_mode());
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt as _;
        // The data directory keeps everyone else out besides.
        let mode = std::fs::metadata(data.path()).unwrap().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}

#[test]
fn installing_by_a_file_path_is_refused_on_the_admin_port() {
    let (host, data) = host();
    let archive = plain_package("com.example.bypath", "1.0.0", "by path");
    let path = data.path().join("bypath.zip");
    std::fs::write(&path, archive).unwrap();
    let envelope = json!({
        "id": 7,
        "message": {
            "@type": "type.googleapis.com/logi.protocol.plugin_manager.InstallPlugin",
            "pluginId": "com.example.bypath",
            "packagePath": path,
        }
    });
    let refused = post(&host, "/logi/call", envelope);
    assert_eq!(refused.status, 403);
    assert_eq!(refused.error_code(), "UNAUTHORIZED");
    assert!(refused.body.contains("local socket"), "{}", refused.body);
    assert!(host.plugin("com.example.bypath").is_none());
}

#[test]
fn the_consoles_address_trades_its_token_for_a_strict_http_only_cookie() {
    let (host, _data) = host();
    let token = host.admin_token().unwrap().to_string();
    let opened = anonymous(&host, "GET", &format!("/?token={token}"), None);
    assert_eq!(opened.status, 303);
    // The secret leaves the address bar (and the history).
    assert_eq!(opened.header("location"), Some("/"));
    assert_eq!(
        opened.header("set-cookie"),
        Some(format!("logi_admin={token}; Path=/; HttpOnly; SameSite=Strict").as_str())
    );
    let cookie = format!("logi_admin={token}");
    let page = request(&host, "GET", "/", None, &[("Cookie", &cookie)]);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Developer console"));
    let guessed = anonymous(&host, "GET", "/?token=0123", None);
    assert_eq!(guessed.status, 401);
    assert!(guessed.header("set-cookie").is_none());
}

#[test]
fn a_request_repeating_its_host_or_origin_is_refused() {
    let (host, _data) = host();
    let addr = host.admin_addr().unwrap().to_string();
    let own = format!("http://{addr}");
    for (name, value) in [("Host", addr.as_str()), ("Origin", own.as_str())] {
        let twice = request(
            &host,
            "GET",
            "/provd/pg_mgr",
            None,
            &[("Host", &addr), (name, value), (name, value)],
        );
        assert_eq!(twice.status, 400, "{name}");
        assert_eq!(twice.error_code(), "DUPLICATE_HEADER");
        assert!(
            twice.body.contains(&name.to_ascii_lowercase()),
            "{}",
            twice.body
        );
    }
}

#[test]
fn a_head_over_the_limit_is_answered_431_every_time() {
    let (host, _data) = host();
    let addr = host.admin_addr().unwrap();
    for _ in 0..20 {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut head = format!("GET /provd/pg_mgr HTTP/1.1\r\nHost: {addr}\r\nX-Padding: ");
        head.push_str(&"a".repeat(64 * 1024));
        head.push_str("\r\n\r\n");
        // The client sends all of it before reading, as most do.
        stream.write_all(head.as_bytes()).unwrap();
        let mut text = Vec::new();
        let read = stream.read_to_end(&mut text);
        let text = String::from_utf8_lossy(&text);
        assert!(
            read.is_ok() && text.starts_with("HTTP/1.1 431 "),
            "{read:?}: {text:?}"
        );
    }
}

#[test]
fn event_streams_are_bounded_and_the_next_one_is_refused_503() {
    let (host, _data) = host();
    let open: Vec<_> = (0..16).map(|_| open_events(&host)).collect();
    let refused = get(&host, "/logi/events");
    assert_eq!(refused.status, 503);
    assert_eq!(refused.error_code(), "TOO_MANY_STREAMS");
    assert_eq!(refused.header("retry-after"), Some("15"));
    drop(open);
}
