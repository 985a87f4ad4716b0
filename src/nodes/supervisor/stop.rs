//! The zero commands the supervisor publishes on `cmd_vel` while a critical node cannot publish itself.

use std::sync::Arc;
use std::time::Duration;

use intent_shared_control_core::lifecycle::{transition_id, State};
use intent_shared_control_core::Twist;
use r2r::geometry_msgs::msg::TwistStamped;
use r2r::std_msgs::msg::Header;
use tokio::sync::watch;
use tracing::{info, warn};

use super::managed::Managed;
use super::SupervisorConfig;
use crate::ros::convert::{stamp_to_msg, twist_to_msg};
use crate::ros::metrics::Metrics;
use crate::ros::node_util::NodeClock;

/// Why a critical node cannot publish on `cmd_vel` itself, or `None` while it can: Active, being activated
/// by the supervisor (it writes from its first cycle on), or not seen yet and not yet lost.
pub(super) fn critical_gap(lost: bool, state: Option<State>, activating: bool) -> Option<&'static str> {
    if lost {
        return Some("lost");
    }
    if activating {
        return None;
    }
    match state {
        None | Some(State::Active) => None,
        Some(s) => Some(s.label()),
    }
}

/// Why the supervisor has to publish the stop itself (every critical node that cannot), or `None`.
pub(super) fn stop_reason(managed: &[Managed], critical: &[String]) -> Option<String> {
    let gaps: Vec<String> = managed
        .iter()
        .filter(|m| critical.contains(&m.name))
        .filter_map(|m| {
            critical_gap(m.lost, m.state, m.in_flight == Some(transition_id::ACTIVATE))
                .map(|g| format!("{} {g}", m.name))
        })
        .collect();
    (!gaps.is_empty()).then(|| gaps.join(", "))
}

/// What the stop publisher is told: publish zero every `period`, or nothing (`None` in the channel).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct StopOrder {
    period: Duration,
    frame_id: String,
}

/// The supervisor's side of the stop publisher: starts and ends the zero commands, logging each once.
pub(super) struct StopControl {
    pub(super) tx: watch::Sender<Option<StopOrder>>,
    pub(super) reason: Option<String>,
    pub(super) metrics: Arc<Metrics>,
}

impl StopControl {
    /// Publish zero on `cmd_vel` at `stop_rate` from now on (or keep doing so, at the current rate).
    pub(super) fn force(&mut self, reason: String, cfg: &SupervisorConfig) {
        let order =
            StopOrder { period: Duration::from_secs_f64(1.0 / cfg.stop_rate), frame_id: cfg.cmd_frame_id.clone() };
        if self.reason.is_none() {
            self.metrics.stops.inc();
            warn!(
                "publishing zero on cmd_vel at {:.1} Hz until the critical nodes are active again: {reason}",
                cfg.stop_rate
            );
        }
        self.tx.send_if_modified(|cur| {
            let changed = cur.as_ref() != Some(&order);
            *cur = Some(order);
            changed
        });
        self.reason = Some(reason);
    }

    /// Stop publishing on `cmd_vel` (the critical nodes publish themselves, or the supervisor is not active).
    pub(super) fn release(&mut self, why: &str) {
        if self.reason.take().is_some() {
            info!("stopped publishing zero on cmd_vel: {why}");
        }
        self.tx.send_if_modified(|cur| cur.take().is_some());
    }

    /// Forces or releases as the critical nodes' states demand.
    pub(super) fn follow(&mut self, managed: &[Managed], cfg: &SupervisorConfig) {
        match stop_reason(managed, &cfg.critical_nodes) {
            Some(reason) => self.force(reason, cfg),
            None => self.release("the critical nodes publish on cmd_vel themselves"),
        }
    }
}

/// Publishes zero on `cmd_vel` every `period` of the current order; nothing while there is none. Runs as a
/// task of its own, so the rate holds while the watch loop waits for answers.
pub(super) async fn publish_stops(
    cmd_pub: r2r::Publisher<TwistStamped>,
    clock: NodeClock,
    mut orders: watch::Receiver<Option<StopOrder>>,
) {
    loop {
        let current = orders.borrow_and_update().clone();
        let Some(order) = current else {
            if orders.changed().await.is_err() {
                return;
            }
            continue;
        };
        let mut tick = tokio::time::interval(order.period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                biased;
                changed = orders.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    break;
                }
                _ = tick.tick() => {
                    if orders.borrow().is_none() {
                        break;
                    }
                    let stamp = clock.now().unwrap_or_default();
                    let msg = TwistStamped {
                        header: Header { stamp: stamp_to_msg(stamp), frame_id: order.frame_id.clone() },
                        twist: twist_to_msg(&Twist::ZERO),
                    };
                    if let Err(e) = cmd_pub.publish(&msg) {
                        warn!("publishing zero cmd_vel failed: {e}");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_critical_node_needs_the_stop_only_while_it_cannot_publish() {
        assert_eq!(critical_gap(true, Some(State::Active), false), Some("lost"));
        assert_eq!(critical_gap(true, None, false), Some("lost"));
        assert_eq!(critical_gap(false, Some(State::Unconfigured), false), Some("unconfigured"));
        assert_eq!(critical_gap(false, Some(State::Inactive), false), Some("inactive"));
        assert_eq!(critical_gap(false, Some(State::Finalized), false), Some("finalized"));
        // Active, or being activated: it writes on cmd_vel itself
        assert_eq!(critical_gap(false, Some(State::Active), false), None);
        assert_eq!(critical_gap(false, Some(State::Inactive), true), None);
        // not seen yet and not yet lost
        assert_eq!(critical_gap(false, None, false), None);
    }
}
