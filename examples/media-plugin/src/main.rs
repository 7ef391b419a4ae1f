//! The example plugin's executable, as the host launches it.

fn main() -> std::process::ExitCode {
    match logi_example_media::main_from_env() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("media-plugin: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
