//! The provider of `nectar-telemetry`: takes the whole `/telemetry` subtree as one object.
//! Each transaction's thresholds are read and checked in prepare (the module's `must`
//! statements already refused inconsistent values) and take effect in apply, live: the VES
//! client re-arms its evaluation at once, and alerts of removed thresholds are cleared.
//! Operational state: the VES client's status and each threshold's last evaluated values.

use nectar_mgmt::MgmtError;
use nectar_mgmt::ly::{self, Tree};
use nectar_mgmt::provider::{Callbacks, Provider, StateArgs};
use nectar_yang::yang2::data::{DataFormat, DataPrinterFlags};

use super::VesState;
use super::thresholds::ThresholdConfig;

const TOP: &str = nectar_yang::paths::nectar_telemetry::telemetry::PATH;

/// Serves `nectar-telemetry`.
#[derive(Debug)]
pub struct TelemetryProvider {
    shared: VesState,
    pending: Option<ThresholdConfig>,
}

impl TelemetryProvider {
    pub fn new(shared: VesState) -> TelemetryProvider {
        TelemetryProvider {
            shared,
            pending: None,
        }
    }
}

/// Reads the thresholds of a (whole) running tree.
pub fn read_config(tree: &Tree) -> Result<ThresholdConfig, MgmtError> {
    let Some(node) = ly::find(tree, TOP)? else {
        return Ok(ThresholdConfig::default());
    };
    let text = nectar_yang::print::data(&node, DataFormat::JSON, DataPrinterFlags::WD_ALL)
        .map_err(|e| MgmtError::operation_failed(format!("printing {TOP}: {e}")))?
        .unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| MgmtError::operation_failed(format!("reading {TOP}: {e}")))?;
    ThresholdConfig::from_json(&json)
        .map_err(|e| MgmtError::invalid_value(e.message.clone()).with_path(e.path))
}

/// A predicate value in quotes that cannot occur in it.
fn quoted(v: &str) -> String {
    if v.contains('\'') {
        format!("\"{v}\"")
    } else {
        format!("'{v}'")
    }
}

fn state(p: &TelemetryProvider, _args: &StateArgs<'_>, out: &mut Tree) -> Result<(), MgmtError> {
    let status = p.shared.status();
    let base = format!("{TOP}/ves/status");
    let mut set = |leaf: &str, v: String| -> Result<(), MgmtError> {
        out.new_path(&format!("{base}/{leaf}"), Some(&v), false)?;
        Ok(())
    };
    match status.collector() {
        Some(url) => {
            let (hb, meas) = status.intervals();
            let (sent, failed, buffered) = status.counts();
            set("enabled", "true".into())?;
            set("collector", url.to_owned())?;
            set("heartbeat-interval", hb.to_string())?;
            set("measurement-interval", meas.to_string())?;
            set("events-sent", sent.to_string())?;
            set("delivery-failures", failed.to_string())?;
            set("events-buffered", buffered.to_string())?;
        }
        None => set("enabled", "false".into())?,
    }
    let configured = p.shared.thresholds();
    for (name, values) in status.threshold_values() {
        if !configured.thresholds.iter().any(|t| t.name == name) {
            continue;
        }
        for v in values {
            let target = v.interface.as_deref().unwrap_or("global");
            let entry = format!(
                "{TOP}/ves/thresholds/threshold[name={}]/value[target={}]",
                quoted(&name),
                quoted(target)
            );
            out.new_path(
                &format!("{entry}/current"),
                Some(&format!("{:.2}", v.value)),
                false,
            )?;
            out.new_path(
                &format!("{entry}/crossed"),
                Some(if v.active { "true" } else { "false" }),
                false,
            )?;
        }
    }
    Ok(())
}

impl Provider for TelemetryProvider {
    fn name(&self) -> &'static str {
        "telemetry"
    }

    fn callbacks() -> Callbacks<Self> {
        Callbacks::new().subtree(TOP).state(TOP, state)
    }

    fn prepare_done(&mut self, tree: &Tree) -> Result<(), MgmtError> {
        self.pending = Some(read_config(tree)?);
        Ok(())
    }

    fn apply_done(&mut self, _tree: &Tree) {
        if let Some(cfg) = self.pending.take() {
            tracing::info!(
                thresholds = cfg.thresholds.len(),
                evaluation_interval = ?cfg.evaluation_interval,
                "VES thresholds in effect"
            );
            self.shared.publish(cfg);
        }
    }

    fn abort_done(&mut self) {
        self.pending = None;
    }
}
