//! The conformance kit's report as `logi-plugin --json conformance` prints it: one JSON line
//! per check, then the verdict.

use std::process::Output;

use serde_json::Value;

/// The checks of a run that passed whole (exit 0, a verdict `"ok": true`), each of which is
/// asserted to have passed in `mode` (`binary`, `json`); the report is shown on a failure.
pub fn all_passed_in(output: &Output, mode: &str) -> Vec<Value> {
    let report = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{report}\n{stderr}");
    let mut checks: Vec<Value> = report
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let verdict = checks.pop().expect("the kit printed nothing");
    assert_eq!(verdict["ok"], true, "{report}");
    for check in &checks {
        let seen = (check["outcome"].as_str(), check["mode"].as_str());
        assert_eq!(seen, (Some("pass"), Some(mode)), "{report}");
    }
    checks
}

/// Whether the check `name` is among `checks`.
pub fn has_check(checks: &[Value], name: &str) -> bool {
    checks.iter().any(|check| check["check"] == name)
}
