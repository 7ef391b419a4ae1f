//! A counter plugin: the key `count` adds the step to the count, the dial `step` changes the
//! step; both are kept in the plugin's settings, so the count survives restarts.

use logi_plugin_sdk::plugin::{Action, AnalogControl, Cx, Plugin, Status, Turn};

#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Counter {
    pub count: i64,
    pub step: i64,
}

pub struct Count;

impl Action<Counter> for Count {
    const ID: &'static str = "count";

    fn key_down(&mut self, cx: &mut Cx<'_, Counter>) -> Status {
        cx.settings.count += cx.settings.step.max(1);
        Status::text(cx.settings.count.to_string())
    }
}

pub struct Step;

impl AnalogControl<Counter> for Step {
    const ID: &'static str = "step";

    fn turned(&mut self, cx: &mut Cx<'_, Counter>, turn: Turn) -> Status {
        cx.settings.step = (cx.settings.step.max(1) + turn.delta as i64).clamp(1, 100);
        Status::text(format!("step {}", cx.settings.step))
    }
}

fn main() -> std::process::ExitCode {
    let plugin = Plugin::new("com.logi.example.counter", "1.0.0");
    plugin.action(Count).control(Step).run()
}
