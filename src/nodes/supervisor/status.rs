//! The supervisor's `/diagnostics`: the system and one status per managed node.

use intent_shared_control_core::health::Level;
use intent_shared_control_core::lifecycle::State;

use super::managed::Managed;
use super::SupervisorConfig;
use crate::ros::diagnostics::Status;
use crate::ros::lifecycle::LifecycleServer;

/// Whether every managed node is Active (ready), and the statuses to publish.
pub(super) fn report(
    managed: &[Managed],
    cfg: &SupervisorConfig,
    stop_reason: Option<&String>,
    lifecycle: &LifecycleServer,
) -> (bool, Vec<Status>) {
    let lost: Vec<&str> = managed.iter().filter(|m| m.lost).map(|m| m.name.as_str()).collect();
    let finalized: Vec<&str> =
        managed.iter().filter(|m| !m.lost && m.state == Some(State::Finalized)).map(|m| m.name.as_str()).collect();
    let failed: Vec<String> = managed
        .iter()
        .filter(|m| !m.lost)
        .filter_map(|m| m.failed.map(|t| format!("{} ({t} failed)", m.name)))
        .collect();
    let all_active = managed.iter().all(|m| m.state == Some(State::Active) && !m.lost);
    let operator_held: Vec<String> =
        managed.iter().filter_map(|m| m.operator_hold.map(|s| format!("{} {}", m.name, s.label()))).collect();
    let mut problems = Vec::new();
    if !lost.is_empty() {
        problems.push(format!("lost: {}", lost.join(", ")));
    }
    if !finalized.is_empty() {
        problems.push(format!("finalized: {}", finalized.join(", ")));
    }
    if !failed.is_empty() {
        problems.push(format!("cannot bring up: {}", failed.join(", ")));
    }
    let held_note =
        (!operator_held.is_empty()).then(|| format!("held by an outside request: {}", operator_held.join(", ")));
    let (level, message) = if !problems.is_empty() {
        if let Some(r) = stop_reason {
            problems.push(format!("publishing zero on cmd_vel ({r})"));
        }
        (Level::Error, problems.join("; "))
    } else if let Some(note) = held_note {
        let stop = stop_reason.map_or(String::new(), |r| format!("; publishing zero on cmd_vel ({r})"));
        (Level::Warn, format!("{note}{stop}"))
    } else if let Some(r) = stop_reason {
        (Level::Error, format!("publishing zero on cmd_vel ({r})"))
    } else if all_active {
        (Level::Ok, "all managed nodes active".to_owned())
    } else {
        (Level::Warn, "bringing nodes up".to_owned())
    };
    let mut statuses = vec![Status::new("system", level, message)
        .kv("lifecycle_state", lifecycle.state().label())
        .kv("publishing_stop", stop_reason.is_some())];
    for m in managed {
        let level = if m.lost || m.failed.is_some() {
            Level::Error
        } else if m.state == Some(State::Active) {
            Level::Ok
        } else {
            Level::Warn
        };
        let message = if let Some(h) = m.operator_hold.filter(|_| !m.lost) {
            format!("{} (held by an outside request)", h.label())
        } else if m.lost {
            if m.state.is_none() {
                "not answering (never seen)".to_owned()
            } else {
                "lost".to_owned()
            }
        } else if let Some(t) = m.failed {
            format!("{t} failed, {}", m.state.map_or("?", |s| s.label()))
        } else {
            m.state.map_or("not seen yet".to_owned(), |s| s.label().to_owned())
        };
        statuses.push(
            Status::new(&format!("node {}", m.name), level, message)
                .kv("state", m.state.map_or("unknown", |s| s.label()))
                .kv(
                    "last_answer_age_s",
                    m.last_answer.map_or("never".to_owned(), |t| format!("{:.3}", t.elapsed().as_secs_f64())),
                )
                .kv("critical", cfg.critical_nodes.contains(&m.name))
                .kv("held_inactive", m.held)
                .kv("held_by_request", m.operator_hold.is_some())
                .kv("failed_attempts", m.failures),
        );
    }
    (all_active, statuses)
}
