//! The managed-node (lifecycle) state machine of ROS 2 as a plain type.
//!
//! States, transition ids and labels are those of `lifecycle_msgs` and rcl_lifecycle's default state machine,
//! so `ros2 lifecycle` and nav2's lifecycle manager work against nodes built on it. A transition request moves a
//! primary state into a transition state; the node's callback result then moves it on:
//! success → goal primary state, failure → back to the start state, error → `ErrorProcessing`, from which the
//! error callback leads to `Unconfigured` (success) or `Finalized` (otherwise).

use thiserror::Error;

/// Lifecycle states with their `lifecycle_msgs/State` ids.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum State {
    Unknown = 0,
    Unconfigured = 1,
    Inactive = 2,
    Active = 3,
    Finalized = 4,
    Configuring = 10,
    CleaningUp = 11,
    ShuttingDown = 12,
    Activating = 13,
    Deactivating = 14,
    ErrorProcessing = 15,
}

impl State {
    /// Every state, in id order (what `~/get_available_states` lists).
    pub const ALL: [State; 11] = [
        State::Unknown,
        State::Unconfigured,
        State::Inactive,
        State::Active,
        State::Finalized,
        State::Configuring,
        State::CleaningUp,
        State::ShuttingDown,
        State::Activating,
        State::Deactivating,
        State::ErrorProcessing,
    ];

    /// `lifecycle_msgs/State` id.
    pub fn id(self) -> u8 {
        self as u8
    }

    /// rcl_lifecycle's label.
    pub fn label(self) -> &'static str {
        match self {
            State::Unknown => "unknown",
            State::Unconfigured => "unconfigured",
            State::Inactive => "inactive",
            State::Active => "active",
            State::Finalized => "finalized",
            State::Configuring => "configuring",
            State::CleaningUp => "cleaningup",
            State::ShuttingDown => "shuttingdown",
            State::Activating => "activating",
            State::Deactivating => "deactivating",
            State::ErrorProcessing => "errorprocessing",
        }
    }

    /// True for the four primary states (and Unknown).
    pub fn is_primary(self) -> bool {
        (self as u8) < 10
    }

    pub fn from_id(id: u8) -> Option<State> {
        State::ALL.into_iter().find(|s| s.id() == id)
    }
}

/// One edge of the state machine, with its `lifecycle_msgs/Transition` id and rcl label.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Transition {
    pub id: u8,
    pub label: &'static str,
    pub start: State,
    pub goal: State,
}

const fn t(id: u8, label: &'static str, start: State, goal: State) -> Transition {
    Transition { id, label, start, goal }
}

/// Transition ids of `lifecycle_msgs/Transition`.
pub mod transition_id {
    pub const CONFIGURE: u8 = 1;
    pub const CLEANUP: u8 = 2;
    pub const ACTIVATE: u8 = 3;
    pub const DEACTIVATE: u8 = 4;
    pub const UNCONFIGURED_SHUTDOWN: u8 = 5;
    pub const INACTIVE_SHUTDOWN: u8 = 6;
    pub const ACTIVE_SHUTDOWN: u8 = 7;
}

use State::*;

/// The whole graph (what `~/get_transition_graph` lists), as rcl_lifecycle registers it.
pub const TRANSITIONS: [Transition; 25] = [
    t(1, "configure", Unconfigured, Configuring),
    t(10, "transition_success", Configuring, Inactive),
    t(11, "transition_failure", Configuring, Unconfigured),
    t(12, "transition_error", Configuring, ErrorProcessing),
    t(2, "cleanup", Inactive, CleaningUp),
    t(20, "transition_success", CleaningUp, Unconfigured),
    t(21, "transition_failure", CleaningUp, Inactive),
    t(22, "transition_error", CleaningUp, ErrorProcessing),
    t(3, "activate", Inactive, Activating),
    t(30, "transition_success", Activating, Active),
    t(31, "transition_failure", Activating, Inactive),
    t(32, "transition_error", Activating, ErrorProcessing),
    t(4, "deactivate", Active, Deactivating),
    t(40, "transition_success", Deactivating, Inactive),
    t(41, "transition_failure", Deactivating, Active),
    t(42, "transition_error", Deactivating, ErrorProcessing),
    t(5, "shutdown", Unconfigured, ShuttingDown),
    t(6, "shutdown", Inactive, ShuttingDown),
    t(7, "shutdown", Active, ShuttingDown),
    t(50, "transition_success", ShuttingDown, Finalized),
    t(51, "transition_failure", ShuttingDown, Finalized),
    t(52, "transition_error", ShuttingDown, ErrorProcessing),
    t(60, "transition_success", ErrorProcessing, Unconfigured),
    t(61, "transition_failure", ErrorProcessing, Finalized),
    t(62, "transition_error", ErrorProcessing, Finalized),
];

/// What a node's transition callback returns (`lifecycle_msgs/Transition` TRANSITION_CALLBACK_*).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum CallbackResult {
    Success,
    Failure,
    Error,
}

impl CallbackResult {
    fn label(self) -> &'static str {
        match self {
            CallbackResult::Success => "transition_success",
            CallbackResult::Failure => "transition_failure",
            CallbackResult::Error => "transition_error",
        }
    }
}

/// Why a transition request was refused (the node stays where it is).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum LifecycleError {
    #[error("transition {requested} is not available in state `{state}`")]
    NotAvailable { requested: String, state: &'static str },
    #[error("node is busy in transition state `{state}`")]
    Busy { state: &'static str },
}

/// Which callback a transition state runs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Callback {
    Configure,
    Cleanup,
    Activate,
    Deactivate,
    /// Shutdown from the given primary state.
    Shutdown(State),
    /// Error processing after a failing callback in the given transition state.
    Error(State),
}

/// The state machine of one managed node.
#[derive(Clone, Debug)]
pub struct LifecycleMachine {
    state: State,
}

impl Default for LifecycleMachine {
    fn default() -> Self {
        LifecycleMachine { state: State::Unconfigured }
    }
}

impl LifecycleMachine {
    pub fn new() -> Self {
        Self::default()
    }

    /// Current state (primary, or a transition state while a callback runs).
    pub fn state(&self) -> State {
        self.state
    }

    /// Transitions a client may request now (`~/get_available_transitions`).
    pub fn available(&self) -> impl Iterator<Item = &'static Transition> + '_ {
        let state = self.state;
        TRANSITIONS.iter().filter(move |t| t.start == state && state.is_primary())
    }

    /// Finds the requested transition by id, or by label when the id is 0, among the available ones.
    pub fn lookup(&self, id: u8, label: &str) -> Result<&'static Transition, LifecycleError> {
        if !self.state.is_primary() {
            return Err(LifecycleError::Busy { state: self.state.label() });
        }
        let found =
            if id != 0 { self.available().find(|t| t.id == id) } else { self.available().find(|t| t.label == label) };
        found.ok_or_else(|| LifecycleError::NotAvailable {
            requested: if id != 0 { format!("id {id}") } else { format!("`{label}`") },
            state: self.state.label(),
        })
    }

    /// Runs a requested transition through to a primary state, calling `callback` for each transition state
    /// entered. Returns every edge taken (for `~/transition_event`) or the refusal.
    pub fn run(
        &mut self,
        id: u8,
        label: &str,
        mut callback: impl FnMut(Callback) -> CallbackResult,
    ) -> Result<Vec<Transition>, LifecycleError> {
        let first = *self.lookup(id, label)?;
        let mut events = vec![first];
        self.state = first.goal;
        let mut origin = first.start;
        while !self.state.is_primary() {
            let cb = match self.state {
                State::Configuring => Callback::Configure,
                State::CleaningUp => Callback::Cleanup,
                State::Activating => Callback::Activate,
                State::Deactivating => Callback::Deactivate,
                State::ShuttingDown => Callback::Shutdown(origin),
                _ => Callback::Error(origin),
            };
            let result = callback(cb);
            let from = self.state;
            let edge = TRANSITIONS
                .iter()
                .find(|t| t.start == from && t.label == result.label())
                .copied()
                .unwrap_or(Transition { id: 62, label: "transition_error", start: from, goal: State::Finalized });
            origin = from;
            self.state = edge.goal;
            events.push(edge);
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(_: Callback) -> CallbackResult {
        CallbackResult::Success
    }

    #[test]
    fn configure_activate_deactivate_cleanup_shutdown() {
        let mut m = LifecycleMachine::new();
        assert_eq!(m.run(1, "", ok).expect("configure").last().map(|t| t.goal), Some(Inactive));
        assert_eq!(m.run(0, "activate", ok).expect("activate").len(), 2);
        assert_eq!(m.state(), Active);
        m.run(4, "", ok).expect("deactivate");
        m.run(2, "", ok).expect("cleanup");
        assert_eq!(m.state(), Unconfigured);
        m.run(0, "shutdown", ok).expect("shutdown");
        assert_eq!(m.state(), Finalized);
        assert_eq!(m.available().count(), 0);
    }

    #[test]
    fn invalid_transitions_are_refused_without_state_change() {
        let mut m = LifecycleMachine::new();
        assert!(matches!(m.run(3, "", ok), Err(LifecycleError::NotAvailable { .. })));
        assert!(matches!(m.run(0, "deactivate", ok), Err(LifecycleError::NotAvailable { .. })));
        assert!(matches!(m.run(99, "", ok), Err(LifecycleError::NotAvailable { .. })));
        assert_eq!(m.state(), Unconfigured);
        // shutdown ids are per start state: 7 (active_shutdown) is not valid while unconfigured
        assert!(m.run(7, "", ok).is_err());
        assert!(m.run(5, "", ok).is_ok());
    }

    #[test]
    fn failure_returns_to_start_and_error_goes_through_error_processing() {
        let mut m = LifecycleMachine::new();
        m.run(1, "", |_| CallbackResult::Failure).expect("request accepted");
        assert_eq!(m.state(), Unconfigured);
        let mut seen = vec![];
        let ev = m
            .run(1, "", |cb| {
                seen.push(cb);
                match cb {
                    Callback::Configure => CallbackResult::Error,
                    _ => CallbackResult::Success,
                }
            })
            .expect("request accepted");
        assert_eq!(seen, vec![Callback::Configure, Callback::Error(Configuring)]);
        assert_eq!(ev.iter().map(|t| t.goal).collect::<Vec<_>>(), vec![Configuring, ErrorProcessing, Unconfigured]);
        assert_eq!(m.state(), Unconfigured);
        m.run(1, "", |cb| if cb == Callback::Configure { CallbackResult::Error } else { CallbackResult::Failure })
            .expect("request accepted");
        assert_eq!(m.state(), Finalized);
    }

    #[test]
    fn available_transitions_per_state() {
        let mut m = LifecycleMachine::new();
        let ids = |m: &LifecycleMachine| m.available().map(|t| t.id).collect::<Vec<_>>();
        assert_eq!(ids(&m), vec![1, 5]);
        m.run(1, "", ok).expect("configure");
        assert_eq!(ids(&m), vec![2, 3, 6]);
        m.run(3, "", ok).expect("activate");
        assert_eq!(ids(&m), vec![4, 7]);
    }

    #[test]
    fn shutdown_callback_knows_where_it_came_from() {
        let mut m = LifecycleMachine::new();
        m.run(1, "", ok).expect("configure");
        m.run(3, "", ok).expect("activate");
        let mut seen = None;
        m.run(0, "shutdown", |cb| {
            seen = Some(cb);
            CallbackResult::Success
        })
        .expect("shutdown");
        assert_eq!(seen, Some(Callback::Shutdown(Active)));
    }
}
