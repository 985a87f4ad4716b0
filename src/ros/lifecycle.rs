//! Managed (lifecycle) nodes for r2r, which has no lifecycle support of its own.
//!
//! [`LifecycleServer`] serves the standard `lifecycle_msgs` interface under the node's private namespace —
//! `~/change_state`, `~/get_state`, `~/get_available_states`, `~/get_available_transitions`,
//! `~/get_transition_graph` and the `~/transition_event` topic — on top of the core's
//! [`LifecycleMachine`], so `ros2 lifecycle` and nav2's lifecycle manager work unchanged. Queries are answered
//! inside [`LifecycleServer::next_change`]; change requests are handed to the node, which runs its callbacks
//! through [`LifecycleServer::apply`].

use std::pin::Pin;

use anyhow::Context as _;
use futures::{Stream, StreamExt};
use intent_shared_control_core::lifecycle::{
    Callback, CallbackResult, LifecycleError, LifecycleMachine, State, Transition, TRANSITIONS,
};
use r2r::lifecycle_msgs::msg as lm;
use r2r::lifecycle_msgs::srv::{ChangeState, GetAvailableStates, GetAvailableTransitions, GetState};
use r2r::{QosProfile, ServiceRequest};
use tracing::{info, warn};

use crate::ros::node_util::NodeClock;

type Requests<T> = Pin<Box<dyn Stream<Item = ServiceRequest<T>> + Send>>;

/// The lifecycle services and event topic of one node, plus its state machine.
pub struct LifecycleServer {
    change_state: Requests<ChangeState::Service>,
    get_state: Requests<GetState::Service>,
    get_available_states: Requests<GetAvailableStates::Service>,
    get_available_transitions: Requests<GetAvailableTransitions::Service>,
    get_transition_graph: Requests<GetAvailableTransitions::Service>,
    events: r2r::Publisher<lm::TransitionEvent>,
    machine: LifecycleMachine,
    clock: NodeClock,
}

fn state_msg(s: State) -> lm::State {
    lm::State { id: s.id(), label: s.label().to_owned() }
}

fn description(t: &Transition) -> lm::TransitionDescription {
    lm::TransitionDescription {
        transition: lm::Transition { id: t.id, label: t.label.to_owned() },
        start_state: state_msg(t.start),
        goal_state: state_msg(t.goal),
    }
}

impl LifecycleServer {
    /// Creates the services and the event publisher on `node`.
    pub fn new(node: &mut r2r::Node, clock: NodeClock) -> anyhow::Result<Self> {
        let qos = QosProfile::services_default();
        Ok(LifecycleServer {
            change_state: Box::pin(node.create_service::<ChangeState::Service>("~/change_state", qos.clone())?),
            get_state: Box::pin(node.create_service::<GetState::Service>("~/get_state", qos.clone())?),
            get_available_states: Box::pin(
                node.create_service::<GetAvailableStates::Service>("~/get_available_states", qos.clone())?,
            ),
            get_available_transitions: Box::pin(
                node.create_service::<GetAvailableTransitions::Service>("~/get_available_transitions", qos.clone())?,
            ),
            get_transition_graph: Box::pin(
                node.create_service::<GetAvailableTransitions::Service>("~/get_transition_graph", qos)?,
            ),
            events: node
                .create_publisher::<lm::TransitionEvent>(
                    "~/transition_event",
                    QosProfile::default().keep_last(10).reliable(),
                )
                .context("creating ~/transition_event")?,
            machine: LifecycleMachine::new(),
            clock,
        })
    }

    /// Current lifecycle state.
    pub fn state(&self) -> State {
        self.machine.state()
    }

    /// True while the node is Active (outputs enabled).
    pub fn is_active(&self) -> bool {
        self.machine.state() == State::Active
    }

    /// Answers state queries until a `~/change_state` request arrives, and returns it.
    pub async fn next_change(&mut self) -> anyhow::Result<ServiceRequest<ChangeState::Service>> {
        loop {
            tokio::select! {
                req = self.change_state.next() => return req.context("change_state service closed"),
                req = self.get_state.next() => {
                    let req = req.context("get_state service closed")?;
                    let resp = GetState::Response { current_state: state_msg(self.machine.state()) };
                    if let Err(e) = req.respond(resp) { warn!("get_state reply failed: {e}"); }
                }
                req = self.get_available_states.next() => {
                    let req = req.context("get_available_states service closed")?;
                    let resp = GetAvailableStates::Response { available_states: State::ALL.iter().map(|s| state_msg(*s)).collect() };
                    if let Err(e) = req.respond(resp) { warn!("get_available_states reply failed: {e}"); }
                }
                req = self.get_available_transitions.next() => {
                    let req = req.context("get_available_transitions service closed")?;
                    let resp = GetAvailableTransitions::Response { available_transitions: self.machine.available().map(description).collect() };
                    if let Err(e) = req.respond(resp) { warn!("get_available_transitions reply failed: {e}"); }
                }
                req = self.get_transition_graph.next() => {
                    let req = req.context("get_transition_graph service closed")?;
                    let resp = GetAvailableTransitions::Response { available_transitions: TRANSITIONS.iter().map(description).collect() };
                    if let Err(e) = req.respond(resp) { warn!("get_transition_graph reply failed: {e}"); }
                }
            }
        }
    }

    /// Runs a `~/change_state` request through the node's callbacks and answers it. Like rclcpp_lifecycle,
    /// `success` is true only when the transition's callback succeeded (a failed `on_configure` answers false).
    pub fn apply(
        &mut self,
        req: ServiceRequest<ChangeState::Service>,
        mut callbacks: impl FnMut(Callback) -> CallbackResult,
    ) {
        let t = &req.message.transition;
        let mut first = None;
        let result = self.trigger(t.id, &t.label.clone(), |cb| {
            let r = callbacks(cb);
            first.get_or_insert(r);
            r
        });
        let success = result.is_ok() && first == Some(CallbackResult::Success);
        if let Err(e) = req.respond(ChangeState::Response { success }) {
            warn!("change_state reply failed: {e}");
        }
    }

    /// Runs a transition (by id, or by label when the id is 0) and publishes its events. `Ok` carries the
    /// resulting state; a transition whose callback failed is still `Ok` (the request was valid), the state
    /// shows the outcome.
    pub fn trigger(
        &mut self,
        id: u8,
        label: &str,
        callbacks: impl FnMut(Callback) -> CallbackResult,
    ) -> Result<State, LifecycleError> {
        let start = self.machine.state();
        match self.machine.run(id, label, callbacks) {
            Ok(edges) => {
                let stamp = self.clock.now().map(|s| s.0.max(0) as u64).unwrap_or(0);
                for e in &edges {
                    let ev = lm::TransitionEvent {
                        timestamp: stamp,
                        transition: lm::Transition { id: e.id, label: e.label.to_owned() },
                        start_state: state_msg(e.start),
                        goal_state: state_msg(e.goal),
                    };
                    if let Err(err) = self.events.publish(&ev) {
                        warn!("publishing transition_event failed: {err}");
                    }
                }
                let end = self.machine.state();
                // A failed transition (back where it started) was logged by the callback that refused it, once;
                // a supervisor retrying it must not fill the log.
                if end != start {
                    info!("lifecycle: {} -> {}", start.label(), end.label());
                }
                Ok(end)
            }
            Err(e) => {
                warn!("lifecycle: rejected: {e}");
                Err(e)
            }
        }
    }
}
