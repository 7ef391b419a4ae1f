//! The daemon's footprint and an install's phases, each beside a raw baseline measured in the
//! same run (Linux only: the figures are read from `/proc`).
//!
//! - **Install phases.** `logi-plugin serve` (a fresh temporary `--data-dir`) gets the packed
//!   example plugin (signed with a fresh key it trusts) from `logi-plugin install`, several
//!   times over; the phases are the host's own measure, from its `installed` event (read,
//!   unpack, verify, write, launch, hello). Beside each, its raw baseline on the same archive:
//!   `std::fs::read` of the file; the zip crate inflating every entry into memory; SHA-256 of
//!   every file and the Ed25519 check of the listing, with the crates directly; `std::fs::write`
//!   of every file into a fresh folder; the program started as the host starts it until its
//!   first bytes reach a bare socket (launch and hello together). Medians.
//! - **Footprint.** `serve` started again on that data directory (the plugin installed, checked
//!   and launched at the start, as a daemon runs day to day); once the plugin is `RUNNING` and
//!   has settled, over a measured window: the
//!   resident memory (`VmRSS`, and `VmHWM`), threads, wake-ups per second (voluntary and
//!   involuntary context switches of every thread, `/proc/<pid>/task/*/status`, sampled every
//!   100 ms so that threads which end within the window still count) and CPU time (`utime +
//!   stime`, `/proc/<pid>/stat`) of `serve`, of the plugin's process, and of a bare process that
//!   only holds a listening socket (this bench run again as that process: it binds a
//!   `UnixListener` and blocks in `accept`), measured over the same window.
//!
//! `cargo bench -p logi-plugin-manager --bench footprint`; `LOGI_FOOTPRINT_SECS` sets the window
//! (default 60 s), `LOGI_FOOTPRINT_INSTALLS` the installs (default 5).

#[cfg(target_os = "linux")]
mod common;
/// `logi-plugin serve` as a child process, as the tests run it.
#[cfg(target_os = "linux")]
#[allow(dead_code)] // Not all of it is used here.
#[path = "../tests/common/daemon.rs"]
mod daemon;

fn main() {
    #[cfg(target_os = "linux")]
    linux::main();
    #[cfg(not(target_os = "linux"))]
    println!(
        "footprint: skipped: it reads resident memory, threads and context switches from /proc, \
         which only Linux has"
    );
}

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::HashMap;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixListener;
    use std::path::Path;
    use std::process::{Command, Stdio};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use logi_example_media::PROGRAM_PATH;
    use logi_plugin_package::signature::SecretKey;
    use serde_json::Value;
    use sha2::{Digest, Sha256};

    use super::common;
    use super::daemon::{Daemon, LOGI_PLUGIN};

    /// Set (to a folder) in the environment of this bench run again as the bare process.
    const BARE_ENV: &str = "LOGI_FOOTPRINT_BARE";
    /// How long everything is left alone before the window opens.
    const SETTLE: Duration = Duration::from_secs(5);
    /// How often the threads' counters are read during the window.
    const SAMPLE_EVERY: Duration = Duration::from_millis(100);

    pub fn main() {
        if let Some(dir) = std::env::var_os(BARE_ENV) {
            bare(Path::new(&dir));
        }
        let secs = env_number("LOGI_FOOTPRINT_SECS", 60);
        let installs = env_number("LOGI_FOOTPRINT_INSTALLS", 5).max(1);
        let exe = Path::new(LOGI_PLUGIN);
        let work = tempfile::tempdir().unwrap();
        let mut package = logi_example_media::package::packed(exe).unwrap();
        // The raw launch baseline runs the program as installed, under its plugin name.
        let staging = work.path().join("staging");
        package.extract(&staging).unwrap();
        let key = SecretKey::generate().unwrap();
        package.sign("footprint bench", &key);
        let archive_path = work.path().join("media.zip");
        std::fs::write(&archive_path, package.to_zip().unwrap()).unwrap();
        let trust = work.path().join("trust.txt");
        std::fs::write(&trust, format!("{} footprint bench\n", key.public_key())).unwrap();

        let data = work.path().join("data");
        let endpoint = work.path().join("manager.sock");
        let mut serve = Command::new(exe);
        serve
            .arg("--json")
            .arg("serve")
            .arg("--data-dir")
            .arg(&data);
        serve
            .arg("--endpoint")
            .arg(&endpoint)
            .arg("--trust")
            .arg(&trust);
        let (daemon, lines) = Daemon::spawn(&mut serve);
        lines
            .recv_timeout(Duration::from_secs(10))
            .expect("serve printed nothing within 10 s");

        println!("install phases: {installs} installs of the packed example into serve");
        let mut host: HashMap<&str, Vec<f64>> = HashMap::new();
        let mut sizes = (0, 0);
        for _ in 0..installs {
            let installed = install(exe, &archive_path, &endpoint, &lines);
            for phase in [
                "read", "unpack", "verify", "write", "launch", "hello", "total",
            ] {
                let ms = installed[format!("{phase}_ms")]
                    .as_f64()
                    .unwrap_or(f64::NAN);
                host.entry(phase).or_default().push(ms);
            }
            sizes = (
                installed["archive_bytes"].as_u64().unwrap_or_default(),
                installed["unpacked_bytes"].as_u64().unwrap_or_default(),
            );
        }
        let program = staging.join(PROGRAM_PATH);
        let raw = raw_phases(&archive_path, &program, &key, installs, work.path());
        print_phases(&host, &raw, sizes);

        let after_installs = std::fs::read_to_string(format!("/proc/{}/status", daemon.id()));
        let after_installs = after_installs.unwrap_or_default();
        println!(
            "serve after the installs: VmRSS {} KiB, VmHWM {} KiB",
            status_field(&after_installs, "VmRSS").unwrap_or_default(),
            status_field(&after_installs, "VmHWM").unwrap_or_default()
        );
        // The footprint is the daemon's as it runs day to day: started with the plugin
        // installed (checked and launched at the start), not just after installing.
        // Asked to stop (SIGTERM: it stops its plugin) and reaped.
        drop(daemon);
        drop(lines);
        let (daemon, lines) = Daemon::spawn(&mut serve);
        let running = |line: &Value| line.to_string().contains("CONTAINER_STATE_RUNNING");
        while !running(
            &lines
                .recv_timeout(Duration::from_secs(30))
                .expect("the plugin was not RUNNING within 30 s of serve's start"),
        ) {}
        let serve_pid = daemon.id();
        let plugin_pid = child_of(serve_pid).expect("serve runs the plugin's program");
        let bare_dir = tempfile::tempdir().unwrap();
        let mut bare = Command::new(std::env::current_exe().unwrap());
        bare.env(BARE_ENV, bare_dir.path());
        let (bare, bare_lines) = Daemon::spawn(&mut bare);
        bare_lines
            .recv_timeout(Duration::from_secs(10))
            .expect("the bare process did not start listening within 10 s");
        // What serve prints from now on is drained, unread.
        std::thread::spawn(move || lines.into_iter().for_each(drop));

        std::thread::sleep(SETTLE);
        let pids = [
            ("serve", serve_pid),
            ("plugin", plugin_pid),
            ("bare", bare.id()),
        ];
        let window = Duration::from_secs(secs);
        println!("\nfootprint: window {secs} s, after {SETTLE:?} settled");
        let measured = measure(&pids, window);
        print_footprint(&measured);

        drop(bare);
        drop(daemon);
    }

    /// The bare process: holds a listening socket, and nothing else.
    fn bare(dir: &Path) -> ! {
        let listener = UnixListener::bind(dir.join("bare.sock")).unwrap();
        println!("listening");
        std::io::stdout().flush().unwrap();
        loop {
            let _ = listener.accept();
        }
    }

    fn env_number(name: &str, default: u64) -> u64 {
        match std::env::var(name) {
            Ok(text) => text
                .parse()
                .unwrap_or_else(|_| panic!("{name}={text:?} is not a whole number")),
            Err(_) => default,
        }
    }

    /// Installs the archive with `logi-plugin install` and returns serve's `installed` event.
    fn install(
        exe: &Path,
        archive: &Path,
        endpoint: &Path,
        lines: &mpsc::Receiver<Value>,
    ) -> Value {
        let status = Command::new(exe)
            .arg("--json")
            .arg("install")
            .arg(archive)
            .arg("--endpoint")
            .arg(endpoint)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "logi-plugin install failed: {status}");
        loop {
            let line = lines
                .recv_timeout(Duration::from_secs(30))
                .expect("serve said nothing of the install within 30 s");
            if line["event"] == "installed" {
                assert!(
                    line["hello_ms"].is_number(),
                    "the plugin said no hello: {line}"
                );
                return line;
            }
        }
    }

    /// The raw baselines of the phases, in milliseconds, `runs` times each.
    fn raw_phases(
        archive_path: &Path,
        program: &Path,
        key: &SecretKey,
        runs: u64,
        work: &Path,
    ) -> HashMap<&'static str, Vec<f64>> {
        let ms = |elapsed: Duration| elapsed.as_secs_f64() * 1e3;
        let time = |run: &mut dyn FnMut()| {
            let began = Instant::now();
            run();
            ms(began.elapsed())
        };
        let archive = std::fs::read(archive_path).unwrap();
        let files = unzip(&archive);
        let listing = listing_of(&files);
        let signature = ed25519_dalek::Signer::sign(&signing_key(key), listing.as_bytes());
        let verifying = signing_key(key).verifying_key();
        let socket = work.join("raw.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        let mut raw: HashMap<&str, Vec<f64>> = HashMap::new();
        for run in 0..runs {
            let target = work.join(format!("raw-write-{run}"));
            let measured = [
                (
                    "read",
                    time(&mut || drop(std::fs::read(archive_path).unwrap())),
                ),
                ("unpack", time(&mut || drop(unzip(&archive)))),
                (
                    "verify",
                    time(&mut || {
                        let listing = listing_of(&files);
                        verifying
                            .verify_strict(listing.as_bytes(), &signature)
                            .unwrap();
                    }),
                ),
                (
                    "write",
                    time(&mut || {
                        for (path, bytes) in &files {
                            let path = target.join(path);
                            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                            std::fs::write(path, bytes).unwrap();
                        }
                    }),
                ),
                (
                    "launch+hello",
                    ms(common::spawn_to_hello(program, &socket, &listener)),
                ),
            ];
            std::fs::remove_dir_all(&target).unwrap();
            for (phase, ms) in measured {
                raw.entry(phase).or_default().push(ms);
            }
        }
        raw
    }

    /// Every entry of a zip archive, inflated into memory by the zip crate.
    fn unzip(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).unwrap();
        (0..zip.len())
            .map(|index| {
                let mut entry = zip.by_index(index).unwrap();
                let mut bytes = Vec::with_capacity(entry.size() as usize);
                entry.read_to_end(&mut bytes).unwrap();
                (entry.name().unwrap().into_owned(), bytes)
            })
            .filter(|(name, _)| !name.starts_with("META-INF/"))
            .collect()
    }

    /// The listing the signature covers (`sha256sum`'s format), hashed with `sha2` directly.
    fn listing_of(files: &[(String, Vec<u8>)]) -> String {
        let mut text = String::from("logi-plugin-package-listing v1\n");
        for (path, bytes) in files {
            text.push_str(&format!("{}  {path}\n", hex::encode(Sha256::digest(bytes))));
        }
        text
    }

    fn signing_key(key: &SecretKey) -> ed25519_dalek::SigningKey {
        let mut seed = [0u8; 32];
        hex::decode_to_slice(key.to_text(), &mut seed).unwrap();
        ed25519_dalek::SigningKey::from_bytes(&seed)
    }

    fn median(values: &[f64]) -> f64 {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
    }

    fn print_phases(
        host: &HashMap<&str, Vec<f64>>,
        raw: &HashMap<&str, Vec<f64>>,
        (archive, unpacked): (u64, u64),
    ) {
        let mb = |bytes: u64| bytes as f64 / 1e6;
        println!(
            "archive {:.1} MB, unpacked {:.1} MB; medians",
            mb(archive),
            mb(unpacked)
        );
        println!(
            "| phase | host (ms) | raw baseline (ms) | host / raw |\n| --- | ---: | ---: | ---: |"
        );
        let host_ms = |phase: &str| median(&host[phase]);
        let rows = [
            ("read", host_ms("read"), median(&raw["read"])),
            ("unpack", host_ms("unpack"), median(&raw["unpack"])),
            ("verify", host_ms("verify"), median(&raw["verify"])),
            ("write", host_ms("write"), median(&raw["write"])),
            (
                "launch + hello",
                host_ms("launch") + host_ms("hello"),
                median(&raw["launch+hello"]),
            ),
        ];
        for (phase, host, raw) in rows {
            println!("| {phase} | {host:.2} | {raw:.2} | {:.2}x |", host / raw);
        }
        let raw_total: f64 = rows.iter().map(|(_, _, raw)| raw).sum();
        let total = host_ms("total");
        println!(
            "| install to RUNNING (total) | {total:.2} | {raw_total:.2} | {:.2}x |",
            total / raw_total
        );
        println!(
            "host launch {:.2} ms, hello {:.2} ms",
            host_ms("launch"),
            host_ms("hello")
        );
    }

    /// The pid of the one living child of `parent`, waiting up to 10 s for it.
    fn child_of(parent: u32) -> Option<u32> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let children: Vec<u32> = std::fs::read_dir("/proc")
                .ok()?
                .flatten()
                .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
                .filter(|pid| {
                    stat_fields(*pid).is_some_and(|f| f[1] == parent.to_string() && f[0] != "Z")
                })
                .collect();
            if children.len() == 1 {
                return children.first().copied();
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The fields of `/proc/<pid>/stat` after the command name: state, ppid, ...
    fn stat_fields(pid: u32) -> Option<Vec<String>> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (_, rest) = stat.rsplit_once(") ")?;
        Some(rest.split_ascii_whitespace().map(String::from).collect())
    }

    /// A `/proc/<pid>/status` field's number (the first word after the name).
    fn status_field(status: &str, name: &str) -> Option<u64> {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))?
            .split_ascii_whitespace()
            .next()?
            .parse()
            .ok()
    }

    /// CPU time used (`utime + stime`, of every thread that ever ran), in clock ticks.
    fn cpu_ticks(pid: u32) -> u64 {
        let fields = stat_fields(pid).unwrap_or_default();
        // utime and stime are the 14th and 15th fields; these start at the 3rd.
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
        field(14).unwrap_or_default() + field(15).unwrap_or_default()
    }

    /// Each thread of `pid` with its name and context switches so far.
    fn threads(pid: u32) -> HashMap<u32, (String, u64)> {
        let mut threads = HashMap::new();
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return threads;
        };
        for task in tasks.flatten() {
            let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
                continue;
            };
            let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
                continue;
            };
            let switches = status_field(&status, "voluntary_ctxt_switches").unwrap_or(0)
                + status_field(&status, "nonvoluntary_ctxt_switches").unwrap_or(0);
            let name = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            threads.insert(tid, (name.trim().to_string(), switches));
        }
        threads
    }

    /// What one process did over the window.
    struct Measured {
        name: &'static str,
        rss_kb: u64,
        hwm_kb: u64,
        threads: u64,
        /// Threads seen during the window that were not there when it opened.
        new_threads: usize,
        wakeups_per_s: f64,
        cpu_ms: f64,
        /// Wake-ups per second of each thread name, most first.
        by_thread: Vec<(String, f64)>,
    }

    /// Measures each of `pids` over `window`.
    fn measure(pids: &[(&'static str, u32)], window: Duration) -> Vec<Measured> {
        let ticks = rustix::param::clock_ticks_per_second() as f64;
        let cpu_before: Vec<u64> = pids.iter().map(|(_, pid)| cpu_ticks(*pid)).collect();
        let first: Vec<_> = pids.iter().map(|(_, pid)| threads(*pid)).collect();
        let mut last = first.clone();
        let opened = Instant::now();
        while opened.elapsed() < window {
            std::thread::sleep(SAMPLE_EVERY.min(window.saturating_sub(opened.elapsed())));
            for (index, (_, pid)) in pids.iter().enumerate() {
                // A thread that ended keeps the counts it was last seen with.
                last[index].extend(threads(*pid));
            }
        }
        let seconds = opened.elapsed().as_secs_f64();
        pids.iter()
            .enumerate()
            .map(|(index, (name, pid))| {
                let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
                let mut by_name: HashMap<String, u64> = HashMap::new();
                let mut total = 0;
                for (tid, (thread, switches)) in &last[index] {
                    let before = first[index].get(tid).map_or(0, |(_, n)| *n);
                    let delta = switches - before;
                    total += delta;
                    *by_name.entry(thread.clone()).or_default() += delta;
                }
                let mut by_thread: Vec<(String, f64)> = by_name
                    .into_iter()
                    .map(|(thread, n)| (thread, n as f64 / seconds))
                    .collect();
                by_thread.sort_by(|a, b| b.1.total_cmp(&a.1));
                Measured {
                    name,
                    rss_kb: status_field(&status, "VmRSS").unwrap_or_default(),
                    hwm_kb: status_field(&status, "VmHWM").unwrap_or_default(),
                    threads: status_field(&status, "Threads").unwrap_or_default(),
                    new_threads: last[index].len() - first[index].len(),
                    wakeups_per_s: total as f64 / seconds,
                    cpu_ms: (cpu_ticks(*pid) - cpu_before[index]) as f64 / ticks * 1e3,
                    by_thread,
                }
            })
            .collect()
    }

    fn print_footprint(measured: &[Measured]) {
        println!(
            "| process | VmRSS (KiB) | VmHWM (KiB) | threads | threads started | wake-ups/s | CPU \
             in window (ms) |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for m in measured {
            println!(
                "| {} | {} | {} | {} | {} | {:.2} | {:.0} |",
                m.name, m.rss_kb, m.hwm_kb, m.threads, m.new_threads, m.wakeups_per_s, m.cpu_ms
            );
        }
        let bare = measured.iter().find(|m| m.name == "bare").unwrap();
        for m in measured.iter().filter(|m| m.name != "bare") {
            let ratio = |a: f64, b: f64| {
                if b > 0.0 {
                    format!("{:.2}x", a / b)
                } else {
                    format!("{a:.2} against 0")
                }
            };
            println!(
                "{} / bare: VmRSS {}, VmHWM {}, threads {}, wake-ups/s {}, CPU {}",
                m.name,
                ratio(m.rss_kb as f64, bare.rss_kb as f64),
                ratio(m.hwm_kb as f64, bare.hwm_kb as f64),
                ratio(m.threads as f64, bare.threads as f64),
                ratio(m.wakeups_per_s, bare.wakeups_per_s),
                ratio(m.cpu_ms, bare.cpu_ms),
            );
        }
        for m in measured {
            let threads: Vec<String> = m
                .by_thread
                .iter()
                .map(|(thread, rate)| format!("{thread} {rate:.2}"))
                .collect();
            println!("{} wake-ups/s by thread: {}", m.name, threads.join(", "));
        }
    }
}
