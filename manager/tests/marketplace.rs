//! The marketplace bridge (seed chapters 10-11) over its loopback WebSocket: the text protocol,
//! the broadcast after an install, error lines, and the `Origin` rule.

mod common;

use std::net::TcpStream;
use std::time::Duration;

use common::{Served, loopback, media_host, media_manifest, serving};
use logi_example_media::PLUGIN_ID;
use serde_json::Value;
use tungstenite::client::IntoClientRequest;
use tungstenite::{Message, WebSocket};

type View = WebSocket<TcpStream>;

const PAGE: &str = "https://marketplace.example";

/// A host with the media plugin (CORE), a marketplace listener admitting `PAGE`, and a package
/// source in its data directory.
fn host() -> (Served, tempfile::TempDir) {
    let (host, data) = media_host(|config| {
        config.package_source = Some(config.data_dir.join("source"));
        config.development = true;
    });
    std::fs::create_dir_all(data.path().join("source")).unwrap();
    let host = serving(host, |front| {
        front.marketplace = loopback();
        front.marketplace_options.allowed_origins = vec![PAGE.into()];
    });
    (host, data)
}

/// Opens a view, as a web page from `origin` would (or a program, with `None`), given its
/// address with the owner's credential.
fn open(host: &Served, origin: Option<&str>) -> Result<View, tungstenite::Error> {
    let token = host.admin_token().unwrap();
    open_at(host, &format!("/?token={token}"), origin)
}

/// Opens a view at `path` (which may carry a `?token=`).
fn open_at(host: &Served, path: &str, origin: Option<&str>) -> Result<View, tungstenite::Error> {
    let addr = host.marketplace_addr().unwrap();
    let mut request = format!("ws://{addr}{path}").into_client_request().unwrap();
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
    }
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    tungstenite::client(request, stream)
        .map(|(view, _)| view)
        .map_err(|error| match error {
            tungstenite::HandshakeError::Failure(error) => error,
            tungstenite::HandshakeError::Interrupted(_) => panic!("blocking handshake interrupted"),
        })
}

fn view(host: &Served) -> View {
    open(host, Some(PAGE)).unwrap()
}

fn send(view: &mut View, line: &str) {
    view.send(Message::text(line)).unwrap();
}

/// The next line: its name and its JSON body.
fn receive(view: &mut View) -> (String, Value) {
    loop {
        if let Message::Text(text) = view.read().unwrap() {
            let (name, body) = text.as_str().split_once(' ').unwrap();
            return (name.to_string(), serde_json::from_str(body).unwrap());
        }
    }
}

/// The next line named `name`, passing over others.
fn receive_named(view: &mut View, name: &str) -> Value {
    loop {
        let (found, body) = receive(view);
        if found == name {
            return body;
        }
    }
}

fn plugin_ids(installation: &Value) -> Vec<&str> {
    installation["installedPlugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|plugin| plugin["pluginId"].as_str().unwrap())
        .collect()
}

#[test]
fn get_installed_plugins_answers_with_every_plugin_and_its_version() {
    let (host, _data) = host();
    let mut view = view(&host);
    send(&mut view, "MPGetInstalledPlugins {}");
    let (name, body) = receive(&mut view);
    assert_eq!(name, "MPInstalledPlugins");
    let media = &body["installedPlugins"][0];
    assert_eq!(media["pluginId"], PLUGIN_ID);
    assert_eq!(media["version"], logi_example_media::VERSION);
    assert_eq!(media["loginRequired"], false);
    assert_eq!(media["description"], media_manifest().description);
}

#[cfg(unix)]
#[test]
fn an_install_from_the_package_source_is_broadcast_to_every_open_view() {
    let (host, data) = host();
    let package = common::script_package("#!/bin/sh\nexec sleep 30\n");
    let archive = data.path().join("source/com.example.script-1.0.0.zip");
    std::fs::write(archive, package.to_zip().unwrap()).unwrap();
    let mut asking = view(&host);
    let mut watching = view(&host);
    // Both views are served before the install starts.
    for view in [&mut asking, &mut watching] {
        send(view, "MPGetInstalledPlugins");
        receive_named(view, "MPInstalledPlugins");
    }
    send(
        &mut asking,
        r#"MPInstallPlugin {"pluginId": "com.example.script"}"#,
    );
    for view in [&mut asking, &mut watching] {
        let installation = receive_named(view, "MPInstalledPlugins");
        // In the order of their ids.
        assert_eq!(plugin_ids(&installation), ["com.example.script", PLUGIN_ID]);
    }
    let script = host.plugin("com.example.script").unwrap();
    assert_eq!(script.manifest.version.to_string(), "1.0.0");
}

#[test]
fn a_malformed_line_gets_an_error_line_and_the_view_stays_open() {
    let (host, _data) = host();
    let mut view = view(&host);
    for (line, request) in [
        ("hello there", "hello"),
        ("MPInstallPlugin {not json", "MPInstallPlugin"),
        ("MPLogin {}", "MPLogin"),
    ] {
        send(&mut view, line);
        let (name, body) = receive(&mut view);
        assert_eq!(name, "MPError", "{line}");
        assert_eq!(body["request"], request, "{line}");
        assert!(!body["error"].as_str().unwrap().is_empty());
    }
    view.send(Message::binary(vec![1, 2, 3])).unwrap();
    assert_eq!(receive(&mut view).0, "MPError");
    send(&mut view, "MPGetInstalledPlugins {}");
    assert_eq!(receive(&mut view).0, "MPInstalledPlugins");
}

#[test]
fn a_plugin_missing_from_the_package_source_gets_an_error_line_naming_it() {
    let (host, _data) = host();
    let mut view = view(&host);
    send(
        &mut view,
        r#"MPInstallPlugin {"pluginId": "com.example.none", "version": "2.0.0"}"#,
    );
    let body = receive_named(&mut view, "MPError");
    assert_eq!(body["request"], "MPInstallPlugin");
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("com.example.none-2.0.0.zip"), "{error}");
}

#[test]
fn updating_a_plugin_that_is_not_installed_gets_an_error_line() {
    let (host, _data) = host();
    let mut view = view(&host);
    send(
        &mut view,
        r#"MPUpdatePlugin {"pluginId": "com.example.none"}"#,
    );
    let body = receive_named(&mut view, "MPError");
    assert_eq!(body["request"], "MPUpdatePlugin");
    assert!(body["error"].as_str().unwrap().contains("com.example.none"));
}

#[test]
fn login_reaches_the_plugin_and_its_refusal_comes_back_as_an_error_line() {
    let (host, _data) = host();
    let mut view = view(&host);
    // The media plugin has no account to log in to: it answers NOT_IMPLEMENTED.
    send(
        &mut view,
        &format!(r#"MPLogin {{"pluginId": "{PLUGIN_ID}"}}"#),
    );
    let body = receive_named(&mut view, "MPError");
    assert_eq!(body["request"], "MPLogin");
    assert!(body["error"].as_str().unwrap().contains("NOT_IMPLEMENTED"));
}

#[test]
fn a_page_from_another_origin_is_refused_and_programs_are_let_in() {
    let (host, _data) = host();
    match open(&host, Some("https://evil.example")) {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected a 403 refusal, got {other:?}"),
    }
    let mut program = open(&host, None).unwrap();
    send(&mut program, "MPGetInstalledPlugins {}");
    assert_eq!(receive(&mut program).0, "MPInstalledPlugins");
}

#[test]
fn shutdown_closes_every_open_view() {
    let (host, _data) = host();
    let mut view = view(&host);
    send(&mut view, "MPGetInstalledPlugins");
    receive_named(&mut view, "MPInstalledPlugins");
    smol::block_on(host.shutdown());
    loop {
        match view.read() {
            Ok(Message::Close(_)) | Err(tungstenite::Error::ConnectionClosed) => break,
            Err(tungstenite::Error::Io(error))
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                panic!("the view is still open 10 s after the shutdown")
            }
            Err(tungstenite::Error::Io(_)) => break,
            Ok(_) => {}
            Err(error) => panic!("{error}"),
        }
    }
}

/// A CORE plugin whose configuration scheme says the user must log in.
async fn account_plugin(client: logi_plugin_sdk::PluginClient) {
    use logi_plugin_core::Message;
    use logi_plugin_core::proto::plugin::PluginActionConfigurationSchemeResponse;
    use logi_plugin_core::session::Reply;
    use logi_plugin_sdk::ClientEvent;
    while let Some(event) = client.next_event().await {
        match event {
            ClientEvent::Request {
                id,
                message: Message::PluginActionConfigurationSchemeRequest(request),
            } => {
                let scheme = PluginActionConfigurationSchemeResponse {
                    action_id: request.action_id,
                    login_required: Some(true),
                    ..Default::default()
                };
                let reply = Reply::Message(scheme.into());
                let _ = client.send_response(id, reply).await;
            }
            ClientEvent::Stopped(_) => break,
            _ => {}
        }
    }
}

#[test]
fn a_plugin_asking_for_a_login_is_broadcast_to_every_open_view() {
    let (host, _data) = host();
    let events = host.subscribe();
    let mut manifest = media_manifest();
    manifest.plugin_id = "com.example.account".into();
    host.add_core(manifest, account_plugin).unwrap();
    common::until_state(
        &events,
        "com.example.account",
        logi_plugin_core::proto::manager::ContainerState::Running,
    );
    let mut view = view(&host);
    send(&mut view, "MPGetInstalledPlugins");
    let before = receive_named(&mut view, "MPInstalledPlugins");
    assert_eq!(before["installedPlugins"][0]["loginRequired"], false);
    // The configuration software opens the plugin's configuration: its scheme asks for a login.
    let ask = logi_plugin_core::proto::plugin::PluginActionConfigurationSchemeRequest {
        action_id: "toggle_mute".into(),
        ..Default::default()
    };
    smol::block_on(host.request("com.example.account", ask)).unwrap();
    let after = receive_named(&mut view, "MPInstalledPlugins");
    let account = &after["installedPlugins"][0];
    assert_eq!(account["pluginId"], "com.example.account");
    assert_eq!(account["loginRequired"], true);
}

/// The HTTP status an upgrade was refused with.
fn refused_status(result: Result<View, tungstenite::Error>) -> u16 {
    match result {
        Err(tungstenite::Error::Http(answer)) => answer.status().as_u16(),
        Err(other) => panic!("refused otherwise: {other}"),
        Ok(_) => panic!("admitted"),
    }
}

#[test]
fn a_view_must_present_the_owners_credential() {
    let (host, _data) = host();
    assert_eq!(refused_status(open_at(&host, "/", Some(PAGE))), 401);
    assert_eq!(refused_status(open_at(&host, "/?token=0123", None)), 401);
    // The console's cookie, and a program's bearer token, are let in too.
    let addr = host.marketplace_addr().unwrap();
    let token = host.admin_token().unwrap();
    for (name, value) in [
        ("cookie", format!("logi_admin={token}")),
        ("authorization", format!("Bearer {token}")),
    ] {
        let mut request = format!("ws://{addr}/").into_client_request().unwrap();
        request.headers_mut().insert(name, value.parse().unwrap());
        let stream = TcpStream::connect(addr).unwrap();
        assert!(tungstenite::client(request, stream).is_ok(), "{name}");
    }
    let mut view = view(&host);
    send(&mut view, "MPGetInstalledPlugins {}");
    assert_eq!(receive(&mut view).0, "MPInstalledPlugins");
}

#[test]
fn views_past_the_limit_are_closed_saying_why() {
    let (host, _data) = host();
    let mut open: Vec<View> = (0..logi_plugin_manager::marketplace::MAX_VIEWS)
        .map(|_| view(&host))
        .collect();
    let mut one_too_many = view(&host);
    let (name, body) = receive(&mut one_too_many);
    assert_eq!(name, "MPError");
    assert!(
        body["error"].as_str().unwrap().contains("open already"),
        "{body}"
    );
    // Those open are served as before.
    send(&mut open[0], "MPGetInstalledPlugins {}");
    assert_eq!(receive(&mut open[0]).0, "MPInstalledPlugins");
}

#[test]
fn idle_connections_cannot_hold_a_view_out() {
    let (host, _data) = host();
    let addr = host.marketplace_addr().unwrap();
    // More idle connections than upgrades may wait at once, none of them saying anything.
    let idle: Vec<TcpStream> = (0..2 * logi_plugin_transports::listener::MAX_UPGRADING)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    let started = std::time::Instant::now();
    let mut view = view(&host);
    send(&mut view, "MPGetInstalledPlugins {}");
    assert_eq!(receive(&mut view).0, "MPInstalledPlugins");
    // Well before the first idle one's upgrade time is up.
    assert!(
        started.elapsed() < logi_plugin_transports::ws::UPGRADE_TIMEOUT / 2,
        "{:?}",
        started.elapsed()
    );
    drop(idle);
}

#[test]
fn an_upgrade_sent_a_byte_at_a_time_is_dropped_at_the_time_limit() {
    use std::io::{Read as _, Write as _};
    let (host, _data) = host();
    let addr = host.marketplace_addr().unwrap();
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_millis(1000)))
        .unwrap();
    let started = std::time::Instant::now();
    let limit = logi_plugin_transports::ws::UPGRADE_TIMEOUT;
    let head = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ");
    let mut bytes = head.bytes().chain(std::iter::repeat(b'a'));
    loop {
        assert!(
            started.elapsed() < limit * 2,
            "still held after {:?}",
            started.elapsed()
        );
        if slow.write_all(&[bytes.next().unwrap()]).is_err() {
            break;
        }
        let mut buf = [0u8; 64];
        match slow.read(&mut buf) {
            Ok(0) => break,
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(error) if error.kind() == std::io::ErrorKind::TimedOut => {}
            _ => break,
        }
    }
    assert!(started.elapsed() >= limit / 2, "{:?}", started.elapsed());
}
