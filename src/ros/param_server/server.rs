//! The parameter server: the `rcl_interfaces` services, `/parameter_events` and the `use_sim_time` switch.

use std::collections::BTreeMap;
use std::pin::Pin;

use anyhow::Context as _;
use futures::{Stream, StreamExt};
use r2r::rcl_interfaces::msg as rm;
use r2r::rcl_interfaces::srv::{
    DescribeParameters, GetParameterTypes, GetParameters, ListParameters, SetParameters, SetParametersAtomically,
};
use r2r::{ParameterValue, QosProfile, ServiceRequest};
use tracing::{info, warn};

use super::change::{plan_change, resolve_overrides, Accepted, Validator};
use super::spec::{descriptor, ParamSpec};
use super::value::{type_id, value_from_msg, value_to_msg};
use crate::ros::convert::stamp_to_msg;
use crate::ros::node_util::NodeClock;
use crate::ros::param_overrides;
use crate::ros::params::Params;

type Requests<T> = Pin<Box<dyn Stream<Item = ServiceRequest<T>> + Send>>;

/// Serves a node's declared parameters.
pub struct ParamServer {
    specs: Vec<ParamSpec>,
    values: BTreeMap<String, ParameterValue>,
    get: Requests<GetParameters::Service>,
    get_types: Requests<GetParameterTypes::Service>,
    set: Requests<SetParameters::Service>,
    set_atomically: Requests<SetParametersAtomically::Service>,
    list: Requests<ListParameters::Service>,
    describe: Requests<DescribeParameters::Service>,
    events: r2r::Publisher<rm::ParameterEvent>,
    clock: NodeClock,
    node_fqn: String,
}

impl ParamServer {
    /// Declares `specs` on `node` and resolves the start-up overrides (params file, `-p`) the way rclcpp does
    /// ([`crate::ros::param_overrides`], [`resolve_overrides`]). Returns the server and the outcome of that
    /// resolution: on error the server holds the defaults for the invalid entries and the node must refuse to
    /// configure, reporting the error (it says what to fix).
    pub fn new(
        node: &mut r2r::Node,
        specs: Vec<ParamSpec>,
        clock: NodeClock,
    ) -> anyhow::Result<(Self, Result<(), String>)> {
        let node_fqn = node.fully_qualified_name()?;
        let (overrides, read_error) = match param_overrides::for_node(&node_fqn) {
            Ok(o) => (o, None),
            Err(e) => (BTreeMap::new(), Some(format!("cannot read the parameter overrides: {e}"))),
        };
        let resolution = resolve_overrides(&specs, &overrides);
        if !resolution.ignored.is_empty() {
            info!(
                "ignored parameters {node_fqn} does not declare, given only for every node (`/**` sections, -p): {}",
                resolution.ignored.join(", ")
            );
        }
        let startup = match (read_error, resolution.outcome) {
            (None, r) => r,
            (Some(e), Ok(())) => Err(e),
            (Some(e), Err(r)) => Err(format!("{e}; {r}")),
        };
        let qos = QosProfile::services_default();
        let server = ParamServer {
            get: Box::pin(node.create_service::<GetParameters::Service>("~/get_parameters", qos.clone())?),
            get_types: Box::pin(
                node.create_service::<GetParameterTypes::Service>("~/get_parameter_types", qos.clone())?,
            ),
            set: Box::pin(node.create_service::<SetParameters::Service>("~/set_parameters", qos.clone())?),
            set_atomically: Box::pin(
                node.create_service::<SetParametersAtomically::Service>("~/set_parameters_atomically", qos.clone())?,
            ),
            list: Box::pin(node.create_service::<ListParameters::Service>("~/list_parameters", qos.clone())?),
            describe: Box::pin(node.create_service::<DescribeParameters::Service>("~/describe_parameters", qos)?),
            events: node
                .create_publisher::<rm::ParameterEvent>("/parameter_events", QosProfile::parameter_events())
                .context("creating /parameter_events")?,
            specs,
            values: resolution.values,
            clock,
            node_fqn,
        };
        Ok((server, startup))
    }

    /// Current values as typed accessors.
    pub fn params(&self) -> Params {
        Params::from_values(self.values.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    fn descriptor(&self, name: &str) -> rm::ParameterDescriptor {
        match self.specs.iter().find(|s| s.name == *name) {
            Some(spec) => descriptor(spec),
            None => rm::ParameterDescriptor { name: name.to_owned(), ..Default::default() },
        }
    }

    /// Applies a batch of changes if every value is declared, writable (a read-only parameter set to its current
    /// value is left alone), well-typed, consistent with the declared relations, accepted by `validate` for the
    /// whole resulting set, and in range; otherwise nothing changes. Returns the reason on rejection; it names
    /// the parameter being set first.
    pub fn try_set(&mut self, changes: &[(String, ParameterValue)], validate: Validator) -> Result<(), String> {
        self.apply(changes, validate).map(|_| ())
    }

    /// [`Self::try_set`]; `Ok(true)` when a value changed (`Ok(false)`: only no-op sets of read-only parameters).
    fn apply(&mut self, changes: &[(String, ParameterValue)], validate: Validator) -> Result<bool, String> {
        let Accepted { values: candidate, changed } = plan_change(&self.specs, &self.values, changes, validate)?;
        if changed.is_empty() {
            return Ok(false);
        }
        let events: Vec<rm::Parameter> = changed
            .iter()
            .filter_map(|n| candidate.get(n).map(|v| rm::Parameter { name: n.clone(), value: value_to_msg(v) }))
            .collect();
        self.values = candidate;
        let stamp = self.clock.now().map(stamp_to_msg).unwrap_or_default();
        let ev =
            rm::ParameterEvent { stamp, node: self.node_fqn.clone(), changed_parameters: events, ..Default::default() };
        if let Err(e) = self.events.publish(&ev) {
            warn!("publishing /parameter_events failed: {e}");
        }
        info!("parameters changed: {}", changed.join(", "));
        Ok(true)
    }

    /// Serves parameter requests until one changes a value; returns after an accepted change so the node can
    /// swap in the new configuration (`self.params()`).
    pub async fn next_change(&mut self, validate: Validator<'_>) -> anyhow::Result<()> {
        loop {
            tokio::select! {
                req = self.get.next() => {
                    let req = req.context("get_parameters closed")?;
                    let values = req.message.names.iter().map(|n| value_to_msg(self.values.get(n).unwrap_or(&ParameterValue::NotSet))).collect();
                    let _ = req.respond(GetParameters::Response { values });
                }
                req = self.get_types.next() => {
                    let req = req.context("get_parameter_types closed")?;
                    let types = req.message.names.iter().map(|n| self.values.get(n).map_or(0, type_id)).collect();
                    let _ = req.respond(GetParameterTypes::Response { types });
                }
                req = self.list.next() => {
                    let req = req.context("list_parameters closed")?;
                    let prefixes = &req.message.prefixes;
                    let names: Vec<String> = self.values.keys()
                        .filter(|n| prefixes.is_empty() || prefixes.iter().any(|p| n.starts_with(&format!("{p}."))))
                        .cloned().collect();
                    let mut pre: Vec<String> = names.iter().filter_map(|n| n.rsplit_once('.').map(|(p, _)| p.to_owned())).collect();
                    pre.dedup();
                    let _ = req.respond(ListParameters::Response { result: rm::ListParametersResult { names, prefixes: pre } });
                }
                req = self.describe.next() => {
                    let req = req.context("describe_parameters closed")?;
                    let descriptors = req.message.names.iter().map(|n| self.descriptor(n)).collect();
                    let _ = req.respond(DescribeParameters::Response { descriptors });
                }
                req = self.set.next() => {
                    let req = req.context("set_parameters closed")?;
                    // Each parameter is applied on its own, as rclcpp does for SetParameters.
                    let mut results = Vec::new();
                    let mut any = false;
                    for p in &req.message.parameters {
                        let r = self.apply(&[(p.name.clone(), value_from_msg(&p.value))], validate);
                        any |= matches!(r, Ok(true));
                        results.push(result_msg(r.map(|_| ())));
                    }
                    let _ = req.respond(SetParameters::Response { results });
                    if any { return Ok(()); }
                }
                req = self.set_atomically.next() => {
                    let req = req.context("set_parameters_atomically closed")?;
                    let changes: Vec<_> = req.message.parameters.iter().map(|p| (p.name.clone(), value_from_msg(&p.value))).collect();
                    let r = self.apply(&changes, validate);
                    let changed = matches!(r, Ok(true));
                    let _ = req.respond(SetParametersAtomically::Response { result: result_msg(r.map(|_| ())) });
                    if changed { return Ok(()); }
                }
            }
        }
    }
}

fn result_msg(r: Result<(), String>) -> rm::SetParametersResult {
    match r {
        Ok(()) => rm::SetParametersResult { successful: true, reason: String::new() },
        Err(reason) => {
            warn!("parameter change rejected: {reason}");
            rm::SetParametersResult { successful: false, reason }
        }
    }
}
