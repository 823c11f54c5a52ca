//! Dataplane events into the management event bus: link up/down becomes `OperChanged` for
//! the IETF and OpenConfig oper-status leaves and a `nectar-interfaces:link-state-change`
//! notification; a full table becomes a `nectar-interfaces:table-full` notification; a
//! dataplane reset or worker crash becomes `nectar-interfaces:dataplane-restart` (the
//! mapping replays the configuration on its own, see `Northbound::new`).

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::SystemTime;

use nectar_mgmt::Event as MgmtEvent;
use tokio::sync::broadcast;

use crate::keys::quote;
use nectar_dataplane::dataplane::Dataplane;
use nectar_dataplane::events::Event;

/// The management events one dataplane event stands for.
pub fn convert(e: &Event, time: SystemTime) -> Vec<MgmtEvent> {
    match e {
        Event::LinkUp { interface } | Event::LinkDown { interface } => {
            let up = matches!(e, Event::LinkUp { .. });
            let q = quote(interface);
            let note = serde_json::json!({
                "nectar-interfaces:link-state-change": {
                    "if-name": interface,
                    "oper-status": if up { "up" } else { "down" },
                }
            });
            vec![
                MgmtEvent::OperChanged {
                    path: format!("/ietf-interfaces:interfaces/interface[name={q}]/oper-status"),
                    value: Some(if up { "up" } else { "down" }.to_string()),
                    time,
                },
                MgmtEvent::OperChanged {
                    path: format!(
                        "/openconfig-interfaces:interfaces/interface[name={q}]/state/oper-status"
                    ),
                    value: Some(if up { "UP" } else { "DOWN" }.to_string()),
                    time,
                },
                MgmtEvent::Notification {
                    json: Arc::from(note.to_string()),
                    time,
                },
            ]
        }
        Event::TableFull { table, limit } => {
            let note = serde_json::json!({
                "nectar-interfaces:table-full": { "table": table, "limit": limit.to_string() }
            });
            vec![MgmtEvent::Notification {
                json: Arc::from(note.to_string()),
                time,
            }]
        }
        // The mapping itself replays the configuration (see `Northbound::new`).
        Event::Reset { reason } => {
            let note = serde_json::json!({
                "nectar-interfaces:dataplane-restart": { "reason": reason }
            });
            vec![MgmtEvent::Notification {
                json: Arc::from(note.to_string()),
                time,
            }]
        }
    }
}

/// Forwards the dataplane's events to `events` from a thread of its own, until the
/// dataplane goes away.
pub fn spawn_event_forwarder(
    dp: &Dataplane,
    events: broadcast::Sender<MgmtEvent>,
) -> std::io::Result<JoinHandle<()>> {
    let rx = dp.subscribe();
    std::thread::Builder::new()
        .name("dp-events".into())
        .spawn(move || {
            while let Ok(e) = rx.recv() {
                for ev in convert(&e, SystemTime::now()) {
                    // No receiver is not an error: nobody is subscribed right now.
                    let _ = events.send(ev);
                }
            }
        })
}
