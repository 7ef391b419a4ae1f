//! The developer console in a real browser: headless Chromium (Debian's `chromium`, which
//! `.ci/run` installs), driven over the DevTools protocol. It opens the console, presses the
//! example plugin's action and sees its status change, turns its dial, submits its
//! configuration form, logs in and out, switches development mode and the language, checks
//! the message log, and saves a screenshot as the test's artifact
//! (`target/tmp/console/console.png`).
//!
//! Without a Chromium (`/usr/bin/chromium`, or `$CHROMIUM`) the test says so and passes, unless
//! `LOGI_REQUIRE_BROWSER` is set, as CI sets it: there, no browser is a failure.

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{crashing, loopback, media_host, serving};
use logi_example_media::PLUGIN_ID;
use logi_plugin_core::proto::manager::ContainerState;
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

fn chromium() -> Option<PathBuf> {
    let candidates = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .into_iter()
        .chain(["/usr/bin/chromium", "/usr/bin/chromium-browser"].map(PathBuf::from));
    candidates.into_iter().find(|path| path.exists())
}

/// A headless Chromium, killed when dropped.
struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the browser; it and the DevTools address it listens on.
fn launch(executable: &PathBuf) -> (Browser, String) {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(executable)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    // Chromium prints where DevTools listens on stderr; the rest of its chatter is drained.
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("DevTools listening on ") {
                let _ = tx.send(url.trim().to_string());
            }
        }
    });
    let browser = Browser {
        child,
        _profile: profile,
    };
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("Chromium did not say where DevTools listens within 30 s");
    (browser, url)
}

/// A DevTools connection attached to one page.
struct Page {
    socket: WebSocket<TcpStream>,
    session: String,
    next_id: u64,
}

impl Page {
    fn open(devtools: &str) -> Page {
        let authority = devtools
            .strip_prefix("ws://")
            .and_then(|rest| rest.split('/').next())
            .expect("DevTools listens on ws://host:port/...");
        let stream = TcpStream::connect(authority).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let (socket, _) = tungstenite::client(devtools, stream).unwrap();
        let mut page = Page {
            socket,
            session: String::new(),
            next_id: 0,
        };
        let target = page.send("Target.createTarget", json!({ "url": "about:blank" }));
        let attached = page.send(
            "Target.attachToTarget",
            json!({ "targetId": target["targetId"], "flatten": true }),
        );
        page.session = attached["sessionId"].as_str().unwrap().to_string();
        page.send("Page.enable", json!({}));
        page
    }

    /// Sends a command (to the page once attached) and waits for its result.
    fn send(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut command = json!({ "id": id, "method": method, "params": params });
        if !self.session.is_empty() {
            command["sessionId"] = json!(self.session);
        }
        self.socket
            .send(Message::text(command.to_string()))
            .unwrap();
        loop {
            let Message::Text(text) = self.socket.read().unwrap() else {
                continue;
            };
            let answer: Value = serde_json::from_str(text.as_str()).unwrap();
            if answer["id"] == id {
                assert!(answer["error"].is_null(), "{method}: {}", answer["error"]);
                return answer["result"].clone();
            }
        }
    }

    /// The value of a JavaScript expression in the page.
    fn eval(&mut self, expression: &str) -> Value {
        let result = self.send(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("{expression}: {exception}");
        }
        result["result"]["value"].clone()
    }

    /// Waits until `expression` is true in the page (at most 20 s), saving a screenshot if it
    /// never is.
    fn until(&mut self, expression: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.eval(expression) != json!(true) {
            if Instant::now() > deadline {
                let shot = self.screenshot("failed");
                let log = self.eval("document.querySelector('#log').innerText");
                panic!(
                    "never true: {expression}\nscreenshot: {}\nmessage log:\n{}",
                    shot.display(),
                    log.as_str().unwrap_or("")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the text of the element at `selector` includes `text` (at most 20 s).
    fn until_text(&mut self, selector: &str, text: &str) {
        self.until(&format!("{}?.includes({text:?})", text_of(selector)));
    }

    fn click(&mut self, selector: &str) {
        let found = self.eval(&format!(
            "(() => {{ const e = document.querySelector({selector:?}); if (e) e.click(); return Boolean(e); }})()"
        ));
        assert_eq!(found, json!(true), "nothing to click at {selector}");
    }

    /// Saves a PNG of the page as the test's artifact; its path.
    fn screenshot(&mut self, name: &str) -> PathBuf {
        let shot = self.send("Page.captureScreenshot", json!({ "format": "png" }));
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }
}

/// A selector within the media plugin's card.
fn media(selector: &str) -> String {
    format!("[data-plugin=\"{PLUGIN_ID}\"] {selector}")
}

fn text_of(selector: &str) -> String {
    format!("(document.querySelector({selector:?}) || {{}}).textContent")
}

/// The browser to test in, or `None` (the test passes, saying so) where there is none and
/// none is required.
fn browser_or_skip() -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        assert!(
            std::env::var_os("LOGI_REQUIRE_BROWSER").is_none(),
            "LOGI_REQUIRE_BROWSER is set but no Chromium was found (install Debian's chromium)"
        );
        eprintln!("skipped: no Chromium at /usr/bin/chromium (or $CHROMIUM)");
    }
    found
}

#[test]
fn the_console_drives_the_example_plugin_in_a_real_browser() {
    let Some(executable) = browser_or_skip() else {
        return;
    };
    let (host, _data) = media_host(|_| {});
    let host = serving(host, |front| {
        front.admin = loopback();
        front.marketplace = loopback();
    });
    let (_browser, devtools) = launch(&executable);
    let mut page = Page::open(&devtools);
    // The address `logi-plugin serve` prints, with the owner's secret, which the port swaps
    // for a cookie.
    page.send(
        "Page.navigate",
        json!({ "url": host.console_url().unwrap() }),
    );
    page.until(&format!(
        "location.href === 'http://{}/' && document.readyState === 'complete'",
        host.admin_addr().unwrap()
    ));

    // The plugin is listed, running, with its action and dial.
    page.until_text(&media("[data-state]"), "RUNNING");
    page.until(&format!(
        "Boolean(document.querySelector({:?}))",
        media("[data-press=\"toggle_mute\"]")
    ));
    page.until("document.querySelector('#marketplace').textContent === 'marketplace: open'");

    // Pressing the action: its status changes to what the plugin answers.
    page.click(&media("[data-press=\"toggle_mute\"]"));
    page.until(&format!(
        "{} === 'Muted'",
        text_of(&media("[data-status=\"toggle_mute\"]"))
    ));
    let status = host.status(PLUGIN_ID, "console-toggle_mute").unwrap();
    assert!(format!("{status:?}").contains("Muted"), "{status:?}");

    // Turning the dial up one notch.
    page.click(&media("[data-turn=\"volume\"][data-delta=\"1\"]"));
    page.until(&format!(
        "{}?.startsWith('Volume')",
        text_of(&media("[data-status=\"volume\"]"))
    ));

    // The dial's configuration form, rendered from its JSON schema, submitted.
    page.click(&media("[data-configure=\"volume\"]"));
    page.until("document.querySelector('#configure').open && Boolean(document.querySelector('#config-fields input[name=step]'))");
    assert_eq!(
        page.eval("document.querySelector('#config-fields input[name=step]').max"),
        json!("10")
    );
    page.eval("document.querySelector('#config-fields input[name=step]').value = '5'");
    page.click("#config-submit");
    page.until("!document.querySelector('#configure').open");
    let deadline = Instant::now() + Duration::from_secs(10);
    while host
        .settings()
        .get(PLUGIN_ID, "instance/console-volume")
        .unwrap()
        .map(|s| s.value)
        != Some(r#"{"step":5}"#.into())
    {
        assert!(Instant::now() < deadline, "the plugin never stored step 5");
        std::thread::sleep(Duration::from_millis(50));
    }

    // Log in goes through the marketplace bridge; the media plugin has no account, and its
    // refusal comes back as an error line. Log out is a client-library call.
    page.click(&media("[data-login]"));
    page.until(
        "document.querySelector('#log').innerText.includes('does not handle a login (InitLogin)')",
    );
    page.click(&media("[data-logout]"));
    page.until(
        "document.querySelector('#log').innerText.includes('error InvokeLogout: NOT_IMPLEMENTED')",
    );

    // Development mode and the language, through provd's configuration service.
    let development = host.development_mode();
    page.click("#development-mode");
    let deadline = Instant::now() + Duration::from_secs(10);
    while host.development_mode() == development {
        assert!(Instant::now() < deadline, "development mode never changed");
        std::thread::sleep(Duration::from_millis(50));
    }
    page.eval(
        "(() => { const s = document.querySelector('#language'); s.value = 'de-DE'; \
         s.dispatchEvent(new Event('change')); })()",
    );
    // The plugin reconnects in German (and says so in its log): pressing again says so too.
    page.until("document.querySelector('#log').innerText.includes('language de-DE')");
    assert_eq!(host.language(), "de-DE");
    page.until_text(&media("[data-state]"), "RUNNING · connected");
    page.click(&media("[data-press=\"toggle_mute\"]"));
    page.until(&format!(
        "{} === 'Ton an'",
        text_of(&media("[data-status=\"toggle_mute\"]"))
    ));
    // Its card's log has the host's note of the closed session, as it came.
    page.until_text(&media("[data-plugin-log]"), "session closed");

    // The message log saw the calls, their answers, host events and marketplace lines.
    let log = page.eval("document.querySelector('#log').innerText");
    let log = log.as_str().unwrap();
    for seen in [
        "call Invoke",
        "answer Invoke",
        "event ",
        "line-in MPInstalledPlugins",
    ] {
        assert!(log.contains(seen), "the log has no {seen:?}:\n{log}");
    }
    let shot = page.screenshot("console");
    assert!(std::fs::metadata(&shot).unwrap().len() > 1000);
    eprintln!("screenshot: {}", shot.display());
}

#[cfg(unix)]
#[test]
fn a_plugins_card_shows_its_recent_log_and_why_its_last_run_ended() {
    let Some(executable) = browser_or_skip() else {
        return;
    };
    let (host, _data, events) = crashing("#!/bin/sh\necho 'no config file' >&2\nexit 3\n");
    common::until(&events, |event| {
        matches!(event, logi_plugin_manager::HostEvent::State { state, .. }
            if *state == ContainerState::Crashed)
    });
    let host = serving(host, |front| front.admin = loopback());
    let (_browser, devtools) = launch(&executable);
    let mut page = Page::open(&devtools);
    page.send(
        "Page.navigate",
        json!({ "url": host.console_url().unwrap() }),
    );
    let card = |selector: &str| format!("[data-plugin=\"com.example.script\"] {selector}");
    // Its lines, with their source.
    page.until_text(&card("[data-plugin-log]"), "stderr no config file");
    page.until_text(&card("[data-stop]"), "crashed (exit status: 3)");
    // Its stop report is the latest: quarantined after the third crash in a row.
    page.until_text(&card("[data-stop]"), "quarantined");
    // Reloaded, it crashes again: the host's note comes into the log as it is made, and the
    // report shown (wiped here) is the new run's.
    page.eval(&format!(
        "document.querySelector({:?}).replaceChildren()",
        card("[data-stop]")
    ));
    page.click(&card("[data-reload]"));
    page.until_text(&card("[data-plugin-log]"), "host reloading from");
    page.until_text(&card("[data-stop]"), "crashed (exit status: 3)");
    let shot = page.screenshot("stop-report");
    eprintln!("screenshot: {}", shot.display());
}

/// Serves `page` as HTML to every connection on a loopback port of its own, on a thread; the
/// page's origin.
fn serve_page(page: &'static str) -> String {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    format!("http://localhost:{port}")
}

#[test]
fn a_page_of_an_allowed_origin_calls_the_admin_port_through_cors_in_a_real_browser() {
    let Some(executable) = browser_or_skip() else {
        return;
    };
    // A tool of the user's own, on another origin, given the port's secret.
    let origin = serve_page("<!doctype html><title>tool</title><p>tool</p>");
    let (host, _data) = media_host(|_| {});
    let host = serving(host, |front| {
        front.admin = loopback();
        front.admin_origins = vec![origin.clone()];
    });
    let (_browser, devtools) = launch(&executable);
    let mut page = Page::open(&devtools);
    page.send("Page.navigate", json!({ "url": format!("{origin}/") }));
    page.until("document.readyState === 'complete' && document.title === 'tool'");
    // A JSON body and a bearer token: the browser asks first (a preflight), then sends.
    let call = format!(
        "fetch('http://{}/provd/configure/locale', {{ method: 'PUT', \
           headers: {{ 'Content-Type': 'application/json', 'Authorization': 'Bearer {}' }}, \
           body: JSON.stringify({{ param: {{ value: 'fr-FR' }} }}) }}) \
         .then((answer) => answer.status, (error) => String(error))",
        host.admin_addr().unwrap(),
        host.admin_token().unwrap()
    );
    assert_eq!(page.eval(&call), json!(204));
    assert_eq!(host.language(), "fr-FR");
    let read = format!(
        "fetch('http://{}/provd/pg_mgr/plugins', {{ headers: {{ 'Authorization': 'Bearer {}' }} }}) \
         .then((answer) => answer.json()).then((body) => Object.keys(body.plugins), String)",
        host.admin_addr().unwrap(),
        host.admin_token().unwrap()
    );
    assert_eq!(page.eval(&read), json!([PLUGIN_ID]));
}
