//! The example plugin's executable, as the host launches it: the SDK reads the `token` and the
//! endpoint the host set, and serves until the manager stops the plugin.

fn main() -> std::process::ExitCode {
    logi_example_media::plugin().run()
}
