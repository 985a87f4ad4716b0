//! The nodes the supervisor manages: what it knows about each, the liveness probe, transitions and their
//! retries, and what a change of state it did not ask for means.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use intent_shared_control_core::lifecycle::{transition_id, State};
use r2r::lifecycle_msgs::msg::Transition as TransitionMsg;
use r2r::lifecycle_msgs::srv::{ChangeState, GetState};
use r2r::QosProfile;
use tracing::{error, info, warn};

/// Shortest time between two attempts of a transition that failed: a node that refuses a transition (e.g.
/// `configure` without its model) is asked again after 1 s, then 2, 4, … at most every [`MAX_RETRY_PERIOD`].
pub const RETRY_PERIOD: Duration = Duration::from_secs(1);

/// Longest wait between two attempts of a failing transition.
pub const MAX_RETRY_PERIOD: Duration = Duration::from_secs(30);

/// Wait before the next attempt after `failures` failed attempts in a row (≥ 1).
pub fn retry_delay(failures: u32) -> Duration {
    RETRY_PERIOD.saturating_mul(1u32 << failures.saturating_sub(1).min(5)).min(MAX_RETRY_PERIOD)
}

/// What the supervisor knows about one managed node.
pub(super) struct Managed {
    pub(super) name: String,
    pub(super) get_state: r2r::Client<GetState::Service>,
    pub(super) change_state: r2r::Client<ChangeState::Service>,
    /// Last state reported (or reached by a transition the supervisor asked for), if it ever answered.
    pub(super) state: Option<State>,
    pub(super) last_answer: Option<Instant>,
    /// No answer for `liveness_timeout`: killed, hung, stopped, or (never answered) not started.
    pub(super) lost: bool,
    /// Held Inactive by the supervisor because a critical node is lost.
    pub(super) held: bool,
    /// Taken to this state by a transition requested from outside: the supervisor keeps it there.
    pub(super) operator_hold: Option<State>,
    /// The last transition the supervisor asked for failed (e.g. configure without its model): the node is
    /// reachable but cannot be brought up; reported as ERROR until a transition succeeds.
    pub(super) failed: Option<&'static str>,
    /// Failed attempts in a row.
    pub(super) failures: u32,
    /// A transition requested and not answered yet. The node is not probed meanwhile: a node busy with a
    /// transition (e.g. loading its model) answers nothing else until it is done.
    pub(super) in_flight: Option<u8>,
    /// After a failed transition: not asked again before this.
    pub(super) retry_at: Option<Instant>,
}

/// A transition on its way: (index of the node, transition id, success).
pub(super) type Pending = Pin<Box<dyn Future<Output = (usize, u8, bool)>>>;

async fn get_state(client: &r2r::Client<GetState::Service>, timeout: Duration) -> Option<State> {
    let fut = client.request(&GetState::Request {}).ok()?;
    match tokio::time::timeout(timeout, fut).await {
        Ok(Ok(resp)) => State::from_id(resp.current_state.id),
        _ => None,
    }
}

/// Liveness probe of one node; a node with a transition under way is not asked.
pub(super) async fn probe(m: &Managed, timeout: Duration) -> Option<State> {
    if m.in_flight.is_some() {
        return None;
    }
    get_state(&m.get_state, timeout).await
}

/// Sends the transition now and returns the future of its outcome (false on a refusal, no answer within
/// `timeout` or a request that could not be sent).
pub(super) fn request_transition(m: &Managed, index: usize, id: u8, timeout: Duration) -> Pending {
    let req = ChangeState::Request { transition: TransitionMsg { id, label: String::new() } };
    let sent = m.change_state.request(&req);
    Box::pin(async move {
        let ok = match sent {
            Ok(fut) => matches!(tokio::time::timeout(timeout, fut).await, Ok(Ok(resp)) if resp.success),
            Err(_) => false,
        };
        (index, id, ok)
    })
}

/// Label of a primary transition id (for logs and diagnostics).
pub(super) fn transition_label(id: u8) -> &'static str {
    match id {
        transition_id::CONFIGURE => "configure",
        transition_id::ACTIVATE => "activate",
        transition_id::DEACTIVATE => "deactivate",
        transition_id::CLEANUP => "cleanup",
        _ => "transition",
    }
}

/// State a node is in after a primary transition succeeded.
pub(super) fn state_after(id: u8) -> Option<State> {
    match id {
        transition_id::CONFIGURE | transition_id::DEACTIVATE => Some(State::Inactive),
        transition_id::ACTIVATE => Some(State::Active),
        transition_id::CLEANUP => Some(State::Unconfigured),
        _ => None,
    }
}

/// Next transition that moves `state` toward `target` (Active, or Inactive when held).
pub(super) fn step_toward(state: State, target: State) -> Option<u8> {
    match (state, target) {
        (State::Unconfigured, State::Active | State::Inactive) => Some(transition_id::CONFIGURE),
        (State::Inactive, State::Active) => Some(transition_id::ACTIVATE),
        (State::Active, State::Inactive) => Some(transition_id::DEACTIVATE),
        _ => None,
    }
}

/// What a change of state the supervisor did not ask for means.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum OutsideChange {
    /// A primary transition requested by someone else (`ros2 lifecycle set`, another tool): hold the node there.
    Operator,
    /// Activated from outside: the operator hands the node back.
    HandedBack,
    /// Back unconfigured without a transition that leads there (a respawned process): recover it.
    Restarted,
    /// Configured from outside: a step the supervisor takes anyway (or a late answer to its own request).
    Neutral,
}

/// Classifies a change from `before` to `after` seen by the liveness probe while no transition of the
/// supervisor's was under way.
pub(super) fn outside_change(before: State, after: State) -> OutsideChange {
    match (before, after) {
        (_, State::Active) => OutsideChange::HandedBack,
        (State::Unconfigured, State::Inactive) => OutsideChange::Neutral,
        (State::Active, State::Inactive) | (State::Inactive, State::Unconfigured) | (_, State::Finalized) => {
            OutsideChange::Operator
        }
        _ => OutsideChange::Restarted,
    }
}

/// Records a state answered by `m`, logging a node that appears, comes back or changes state on its own, and
/// holding a node that was taken to another state from outside.
pub(super) fn observe(m: &mut Managed, state: State, now: Instant) {
    if m.state.is_none() {
        info!(node = %m.name, state = state.label(), "node is up");
    } else if m.lost {
        info!(node = %m.name, state = state.label(), "node answers again");
    } else if let Some(before) = m.state.filter(|b| *b != state) {
        match outside_change(before, state) {
            OutsideChange::Operator if state == State::Finalized => {
                warn!(node = %m.name, "node finalized from outside ({} -> finalized); it cannot be brought back without restarting it", before.label());
                m.operator_hold = Some(state);
            }
            OutsideChange::Operator => {
                warn!(node = %m.name, "node taken {} -> {} from outside: held there as requested (activate it the same way to hand it back)", before.label(), state.label());
                m.operator_hold = Some(state);
            }
            OutsideChange::HandedBack if m.operator_hold.is_some() => {
                info!(node = %m.name, "node activated from outside: managed again");
                m.operator_hold = None;
            }
            OutsideChange::HandedBack => {
                info!(node = %m.name, "node changed state: {} -> active", before.label());
            }
            OutsideChange::Neutral => {
                info!(node = %m.name, "node changed state: {} -> {}", before.label(), state.label());
            }
            OutsideChange::Restarted => {
                warn!(node = %m.name, "node back {} without a transition (restarted?): bringing it up again", state.label());
                m.operator_hold = None;
            }
        }
    }
    m.lost = false;
    m.state = Some(state);
    m.last_answer = Some(now);
}

impl Managed {
    /// A node not seen yet, with the clients of its `~/get_state` and `~/change_state`.
    pub(super) fn new(node: &mut r2r::Node, name: &str) -> anyhow::Result<Self> {
        Ok(Managed {
            name: name.to_owned(),
            get_state: node
                .create_client::<GetState::Service>(&format!("{name}/get_state"), QosProfile::services_default())?,
            change_state: node.create_client::<ChangeState::Service>(
                &format!("{name}/change_state"),
                QosProfile::services_default(),
            )?,
            state: None,
            last_answer: None,
            lost: false,
            held: false,
            operator_hold: None,
            failed: None,
            failures: 0,
            in_flight: None,
            retry_at: None,
        })
    }

    /// Records the outcome of transition `id` the supervisor asked for, logging it once (not per retry).
    pub(super) fn answered(&mut self, id: u8, ok: bool, now: Instant) {
        let m = self;
        m.in_flight = None;
        let label = transition_label(id);
        if ok {
            m.last_answer = Some(now);
            m.state = state_after(id).or(m.state);
            let state = m.state.map_or("?", |s| s.label());
            if m.failures > 0 {
                info!(node = %m.name, "{label} succeeded after {} failed attempts: now {state}", m.failures);
            } else {
                info!(node = %m.name, "{label} succeeded: now {state}");
            }
            m.failed = None;
            m.failures = 0;
            m.retry_at = None;
        } else {
            if m.failed != Some(label) {
                error!(node = %m.name, "{label} failed or not answered (see the node's log); asking again after {} s, then less and less often (at most every {} s), reported as ERROR until it succeeds", RETRY_PERIOD.as_secs_f64(), MAX_RETRY_PERIOD.as_secs_f64());
            }
            m.failed = Some(label);
            m.failures += 1;
            m.retry_at = Some(now + retry_delay(m.failures));
        }
    }

    /// After a probe: records the answer (if any) and marks the node lost once it has been silent for longer
    /// than `timeout` (since `since` when it never answered), logging that once.
    pub(super) fn probed(
        &mut self,
        answer: Option<State>,
        now: Instant,
        since: Instant,
        timeout: Duration,
        critical: bool,
    ) {
        let m = self;
        if let Some(s) = answer {
            observe(m, s, now);
        }
        let silent = now.saturating_duration_since(m.last_answer.unwrap_or(since));
        if m.in_flight.is_none() && !m.lost && silent > timeout {
            m.lost = true;
            let secs = timeout.as_secs_f64();
            if m.last_answer.is_none() {
                warn!(node = %m.name, critical, "node not answering ~/get_state ({:.2} s since the supervisor started watching)", silent.as_secs_f64());
            } else if critical {
                error!(node = %m.name, critical, "node lost: no answer to ~/get_state for {:.2} s", secs);
            } else {
                error!(node = %m.name, critical, "node lost: no answer to ~/get_state for {:.2} s; not critical, the other nodes run on without it", secs);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_transitions_are_the_operators_intent_and_a_restart_is_recovered() {
        use OutsideChange::*;
        assert_eq!(outside_change(State::Active, State::Inactive), Operator);
        assert_eq!(outside_change(State::Inactive, State::Unconfigured), Operator);
        assert_eq!(outside_change(State::Unconfigured, State::Inactive), Neutral);
        assert_eq!(outside_change(State::Active, State::Finalized), Operator);
        assert_eq!(outside_change(State::Inactive, State::Active), HandedBack);
        // Active -> unconfigured takes two transitions; seen between two probes it is a respawned process.
        assert_eq!(outside_change(State::Active, State::Unconfigured), Restarted);
        // A held node's target is the state it was taken to: no transition is sent.
        assert_eq!(step_toward(State::Inactive, State::Inactive), None);
        assert_eq!(step_toward(State::Unconfigured, State::Unconfigured), None);
    }

    #[test]
    fn a_failing_transition_is_retried_less_and_less_often() {
        let secs: Vec<u64> = (1..=8).map(|n| retry_delay(n).as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn transitions_lead_to_the_target() {
        assert_eq!(step_toward(State::Unconfigured, State::Active), Some(transition_id::CONFIGURE));
        assert_eq!(step_toward(State::Inactive, State::Active), Some(transition_id::ACTIVATE));
        assert_eq!(step_toward(State::Active, State::Inactive), Some(transition_id::DEACTIVATE));
        assert_eq!(step_toward(State::Active, State::Active), None);
        assert_eq!(step_toward(State::Finalized, State::Active), None);
        assert_eq!(state_after(transition_id::CONFIGURE), Some(State::Inactive));
        assert_eq!(state_after(transition_id::ACTIVATE), Some(State::Active));
        assert_eq!(state_after(transition_id::DEACTIVATE), Some(State::Inactive));
    }
}
