//! Which transitions one round of the watch loop asks for.

use std::time::Instant;

use intent_shared_control_core::lifecycle::State;

use super::managed::{step_toward, Managed};

/// Decides the transitions of this round and marks them in flight; returns the indices of the nodes to ask.
///
/// Each reachable node is taken one step toward its target: Active, Inactive while a critical node is lost
/// (for the others: they are *held*), or the state an outside request left it in. Across nodes, in the order
/// of `managed_nodes`: a node waits while an earlier one is in a transition or was just asked. A node that
/// failed is not asked again before its retry time; one at its target forgets its failures.
pub(super) fn plan_transitions(managed: &mut [Managed], critical_nodes: &[String], now: Instant) -> Vec<usize> {
    let critical_lost = managed.iter().any(|m| m.lost && critical_nodes.contains(&m.name));
    let mut to_send = Vec::new();
    let mut earlier_busy = false;
    for (index, m) in managed.iter_mut().enumerate() {
        if m.in_flight.is_some() {
            earlier_busy = true;
            continue;
        }
        if m.lost {
            continue;
        }
        let Some(state) = m.state else { continue };
        m.held = critical_lost && !critical_nodes.contains(&m.name);
        let target = m.operator_hold.unwrap_or(if m.held { State::Inactive } else { State::Active });
        let Some(id) = step_toward(state, target) else {
            // At its target (or in a state the supervisor does not drive, e.g. finalized).
            m.failed = None;
            m.failures = 0;
            m.retry_at = None;
            continue;
        };
        if earlier_busy || m.retry_at.is_some_and(|t| now < t) {
            continue;
        }
        m.in_flight = Some(id);
        to_send.push(index);
        earlier_busy = true;
    }
    to_send
}
