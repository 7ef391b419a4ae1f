//! How long each phase of an install took, measured by the host on its own clock: reading the
//! archive file, unpacking (decompressing) its entries, verifying (hashing the files, checking
//! the signature), writing the files into the plugin's folder, running the installation
//! commands, launching the program (until the child runs) and its hello (until it is
//! `RUNNING`). The first four are measured by the install itself, the last two by the
//! supervisor and the session of the first run ([`super::installing`]); once the run says hello
//! (or ends without), the install is told whole: one line in the log and
//! [`HostEvent::Installed`](super::HostEvent::Installed).

use std::fmt;
use std::time::Duration;

/// How long each phase of one install took (wall clock, measured in the host), and how many
/// bytes it handled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InstallPhases {
    /// From the start of the install (of the read, when there is one) to its end: the hello
    /// of its first run, or the last phase before it when there is none. The phases add up to
    /// a little less: what lies between them (the previous version stopped, the folder moved
    /// into place, the supervisor's turn) is in the total only.
    pub total: Duration,
    /// Reading the archive file; `None` when the archive was handed over in memory
    /// ([`Host::install`](super::Host::install)).
    pub read: Option<Duration>,
    /// Unpacking: reading the zip's entries, decompressed, under the limits.
    pub unpack: Duration,
    /// Verifying: hashing every file and checking the signature.
    pub verify: Duration,
    /// Writing the files (and the kept signature) into the plugin's folder.
    pub write: Duration,
    /// Running the installation commands for this platform (zero when there are none).
    pub commands: Duration,
    /// Starting the program, until the child process runs; `None` for a plugin with no
    /// program, or one that could not be started.
    pub launch: Option<Duration>,
    /// From the child running until its hello is accepted (`RUNNING`); `None` when it has no
    /// program or its first run ended without a hello.
    pub hello: Option<Duration>,
    /// The archive's size.
    pub archive_bytes: u64,
    /// The size of its files once unpacked.
    pub unpacked_bytes: u64,
}

/// Milliseconds, with two decimals under 10 ms, as a person reads them.
struct Millis(Duration);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_secs_f64() * 1e3;
        if ms < 10.0 {
            write!(f, "{ms:.2} ms")
        } else {
            write!(f, "{ms:.0} ms")
        }
    }
}

impl fmt::Display for InstallPhases {
    /// `in 612 ms: read 3.10 ms, unpack 350 ms, ... (archive 24 MB, unpacked 96 MB)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "in {}:", Millis(self.total))?;
        let mut phases = Vec::new();
        if let Some(read) = self.read {
            phases.push(format!("read {}", Millis(read)));
        }
        phases.push(format!("unpack {}", Millis(self.unpack)));
        phases.push(format!("verify {}", Millis(self.verify)));
        phases.push(format!("write {}", Millis(self.write)));
        if !self.commands.is_zero() {
            phases.push(format!("commands {}", Millis(self.commands)));
        }
        if let Some(launch) = self.launch {
            phases.push(format!("launch {}", Millis(launch)));
        }
        if let Some(hello) = self.hello {
            phases.push(format!("hello {}", Millis(hello)));
        }
        write!(
            f,
            " {} (archive {:.1} MB, unpacked {:.1} MB)",
            phases.join(", "),
            self.archive_bytes as f64 / 1e6,
            self.unpacked_bytes as f64 / 1e6
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_line_names_every_phase_measured_and_the_sizes() {
        let ms = Duration::from_millis;
        let phases = InstallPhases {
            total: ms(470),
            read: Some(Duration::from_micros(3100)),
            unpack: ms(350),
            verify: ms(40),
            write: ms(60),
            commands: Duration::ZERO,
            launch: Some(ms(2)),
            hello: Some(ms(5)),
            archive_bytes: 24_000_000,
            unpacked_bytes: 96_000_000,
        };
        assert_eq!(
            phases.to_string(),
            "in 470 ms: read 3.10 ms, unpack 350 ms, verify 40 ms, write 60 ms, launch 2.00 ms, \
             hello 5.00 ms (archive 24.0 MB, unpacked 96.0 MB)"
        );
    }
}
