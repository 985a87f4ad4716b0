//! Batches of closed-loop runs of the shared-control core ([`crate::sim`]) and their
//! report (JSON + markdown).
//!
//! Each seed draws one scenario (humans carrying out intents, see [`crate::scenario`]) and
//! one operator (careful or careless); the run is made with shared control and again with raw teleop.
//! [`Scene::Walkers`] draws the humans from the walker families of [`crate::walkers`]
//! instead (head-on, overtaking, crossing, start from standing, slow down and speed up again).
//!
//! The product predictor (`PredictorKind::Model`) is the shipped ONNX model on ONNX Runtime's CPU provider
//! behind [`IntentPredictor`]; [`load_model_predictor`] builds it from a model card and the runtime library.

pub mod judge;
pub mod scenario;
pub mod score;
pub mod sim;
pub mod walkers;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::scenario::{ScenarioConfig, ScenarioError};
use crate::score::StopEpisodeMetrics;
use crate::sim::{
    run_episode_with_predictor, AssistCycles, FalseStopCauses, HumanSource, PredictorKind, RunMetrics, ScenarioHumans,
    SimConfig, SimError, StopRules,
};
use crate::walkers::{WalkerConfig, WalkerFamily, WalkerHumans};
use anyhow::Context as _;
use intent_shared_control_core::features::FeatureConfig;
use intent_shared_control_core::predictor::IntentPredictor;
use intent_shared_control_inference::{load_from_card, OrtModelConfig};
use serde::{Deserialize, Serialize};

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shipped model card: `models/intent_model.card.json` of the current directory when it exists (running
/// from the workspace root), else of the workspace this crate was built in.
pub fn default_model_card() -> PathBuf {
    let rel = Path::new("models/intent_model.card.json");
    if rel.is_file() {
        rel.to_path_buf()
    } else {
        workspace_root().join(rel)
    }
}

/// Most humans predicted per capture by the simulator's model predictor.
pub const MODEL_MAX_BATCH: usize = 16;

/// The model predictor: the card's ONNX model on ONNX Runtime's CPU provider (1 intra-op thread) behind the
/// default feature pipeline; ONNX Runtime from `ort_library`, else from
/// [`default_ort_library`](intent_shared_control_inference::default_ort_library). Returns the predictor and a
/// one-line description (`name version (sha256 …) on provider, threads`).
pub fn load_model_predictor(card_path: &Path, ort_library: Option<&Path>) -> anyhow::Result<(IntentPredictor, String)> {
    let (model, description) = load_from_card(card_path, ort_library, |model_path| OrtModelConfig {
        max_batch: MODEL_MAX_BATCH,
        ..OrtModelConfig::cpu(model_path)
    })
    .with_context(|| format!("loading the model of {}", card_path.display()))?;
    let predictor =
        IntentPredictor::new(FeatureConfig::default(), Box::new(model), MODEL_MAX_BATCH).context("feature pipeline")?;
    Ok((predictor, description))
}

/// The forecast error bound the card file at `card_path` states (see
/// [`intent_shared_control_core::forecast_check`]): `None` when it states none; an error when the card cannot be
/// read or its bound is not usable.
pub fn card_forecast_bound(
    card_path: &Path,
) -> anyhow::Result<Option<intent_shared_control_core::forecast_check::ForecastBound>> {
    let card = intent_shared_control_inference::load_card(card_path)?;
    card.forecast_bound().transpose().map_err(anyhow::Error::msg)
}

/// Distribution summary of a set of durations \[s\].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub count: usize,
    pub mean: f64,
    pub p50: f64,
    pub p95: f64,
    pub max: f64,
}

impl Summary {
    /// Summary of `values` (all zero when empty).
    pub fn of(values: &[f64]) -> Summary {
        if values.is_empty() {
            return Summary::default();
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
        Summary { count: v.len(), mean: v.iter().sum::<f64>() / v.len() as f64, p50: q(0.5), p95: q(0.95), max: q(1.0) }
    }
}

/// Aggregated results of a batch.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub scenarios: usize,
    pub first_seed: u64,
    pub predictor: String,
    /// The model behind `predictor = model` (name, version, hash prefix, execution provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Where the humans came from when not the scenario generator ([`Scene::kind`], e.g. `walkers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scene: Option<String>,
    /// Walker scenes: per family, the scenes with such a walker and how many of them had a violation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub families: Vec<FamilyCount>,
    pub careless_operators: usize,
    /// Control cycles simulated with shared control.
    pub cycles: u64,
    /// Scenarios with at least one separation violation (shared control).
    pub scenarios_with_violation: usize,
    pub violation_cycles: u64,
    /// Same with raw teleop (for contrast).
    pub raw_scenarios_with_violation: usize,
    pub raw_violation_cycles: u64,
    /// Smallest true distance to a person the robot was approaching, over all runs \[m\].
    pub min_distance_approaching_m: f64,
    /// Share of `Stop` cycles the configured chain would not have made knowing the truth [%].
    pub false_stop_percent: f64,
    /// The same false stops as a share of all cycles [%].
    pub false_stop_time_percent: f64,
    /// False stops by the rule that stopped.
    pub false_stop_causes: FalseStopCauses,
    /// Share of `Stop` cycles whose command would not have violated the reference `S_p` either [%].
    pub stops_beyond_physics_percent: f64,
    pub stop_cycles: u64,
    /// Share of all cycles in `Stop` [%].
    pub stop_time_percent: f64,
    /// Time from a predicted violation to braking \[s\] ([`crate::score`]).
    pub time_to_stop_s: Summary,
    /// Time from a predicted violation to no approach \[s\], and how many episodes took longer than the
    /// braking bound `v₀ / braking_deceleration` plus two control periods.
    #[serde(default)]
    pub time_to_standstill_s: Summary,
    #[serde(default)]
    pub standstill_over_bound: usize,
    /// Predicted-violation cycles after standstill without approach [%].
    #[serde(default)]
    pub hold_stop_percent: f64,
    /// Time from a cleared violation to moving again \[s\], and the episodes that never resumed.
    #[serde(default)]
    pub resume_s: Summary,
    #[serde(default)]
    pub resume_missing: u64,
    /// Runs that reached the goal: shared control, raw teleop.
    pub completed: usize,
    pub raw_completed: usize,
    /// Completion time over runs that both modes completed \[s\].
    pub completion_s: Summary,
    pub raw_completion_s: Summary,
    /// Median over those runs of shared / raw completion time.
    pub completion_ratio_p50: f64,
    /// Raw teleop through the platform's velocity, acceleration and jerk limits only
    /// (`RunMetrics::raw_limited_completion_s`): runs that reached the goal, those without a violation, and the
    /// median shared / limited-raw completion time over runs both completed (with their count).
    #[serde(default)]
    pub raw_limited_completed: usize,
    #[serde(default)]
    pub raw_limited_completed_without_violation: usize,
    #[serde(default)]
    pub completion_ratio_limited_p50: f64,
    #[serde(default)]
    pub completion_ratio_limited_runs: usize,
    /// The median shared / raw completion time over the runs that raw teleop completed without a separation
    /// violation (a raw run that drives through people is no speed to match), with their count.
    #[serde(default)]
    pub completion_ratio_clean_raw_p50: f64,
    #[serde(default)]
    pub completion_ratio_clean_raw_runs: usize,
    /// Cycles in which assistance or safety changed the operator's command [%].
    pub intervention_percent: f64,
    /// Cycles with α > 0 [%].
    pub assisted_percent: f64,
    /// Seeds with a violation (to replay them).
    pub violation_seeds: Vec<u64>,
    /// Runs that reached the goal without a violation: shared control, raw teleop.
    #[serde(default)]
    pub completed_without_violation: usize,
    #[serde(default)]
    pub raw_completed_without_violation: usize,
    /// `Stop` cycles by the rule that stopped.
    #[serde(default)]
    pub stop_rules: StopRules,
    /// Per run, the longest time held still while the operator asked for a motion \[s\].
    #[serde(default)]
    pub longest_stop_s: Summary,
    /// Per run, the longest such hold next to a person standing still while the operator asked for a motion
    /// that brings no point closer (`RunMetrics::longest_needless_stop_s`) \[s\].
    #[serde(default)]
    pub longest_needless_stop_s: Summary,
    /// Runs with such a stop longer than 5 s.
    #[serde(default)]
    pub runs_with_needless_stop_over_5s: usize,
    /// Per run, the longest hold while someone touches the robot (`RunMetrics::longest_contact_stop_s`) \[s\].
    #[serde(default)]
    pub longest_contact_stop_s: Summary,
    /// Runs with such a hold longer than 5 s.
    #[serde(default)]
    pub runs_with_contact_stop_over_5s: usize,
    /// Of those, runs where a scenario person walked into the robot's footprint
    /// (`RunMetrics::person_inside_footprint_cycles` > 0), a generator artefact.
    #[serde(default)]
    pub runs_with_contact_stop_over_5s_person_inside: usize,
    /// Runs where a scenario person's torso was inside the robot's footprint at some cycle.
    #[serde(default)]
    pub runs_with_person_inside_footprint: usize,
    /// Assisted cycles by policy in the runs that reach the goal.
    #[serde(default)]
    pub assist_policies_reached: AssistCycles,
    /// Assisted cycles by policy in the runs that do not.
    #[serde(default)]
    pub assist_policies_not_reached: AssistCycles,
    /// Cycles in which separation monitoring slid the command past someone [%].
    #[serde(default)]
    pub slide_percent: f64,
}

/// Scenes of one walker family within a batch.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FamilyCount {
    /// The family's name (`head_on`, `overtaking`, `crossing`, `start_from_standing`, `slow_down_speed_up`).
    pub family: String,
    /// Walkers of this family over the batch.
    pub humans: usize,
    /// Scenes with at least one walker of this family.
    pub scenes: usize,
    /// Of those, scenes with a separation violation: shared control, raw teleop.
    pub scenes_with_violation: usize,
    pub raw_scenes_with_violation: usize,
}

/// Where the humans of a batch come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Scene {
    /// The seeded scenario generator (humans carrying out intents).
    Scenario(ScenarioConfig),
    /// The walker families.
    Walkers(WalkerConfig),
}

impl Scene {
    /// `scenario` or `walkers`.
    pub fn kind(&self) -> &'static str {
        match self {
            Scene::Scenario(_) => "scenario",
            Scene::Walkers(_) => "walkers",
        }
    }
}

/// Runs `count` seeded scenarios starting at `first_seed`.
pub fn run_batch(
    sim: &SimConfig,
    scenario: &ScenarioConfig,
    first_seed: u64,
    count: usize,
) -> Result<(Report, Vec<RunMetrics>), SimError> {
    run_batch_with_predictor(sim, scenario, first_seed, count, None)
}

/// [`run_batch`] with the caller's predictor for `PredictorKind::Model` (reset before every run).
pub fn run_batch_with_predictor(
    sim: &SimConfig,
    scenario: &ScenarioConfig,
    first_seed: u64,
    count: usize,
    model: Option<&mut IntentPredictor>,
) -> Result<(Report, Vec<RunMetrics>), SimError> {
    run_scene_batch_with_predictor(sim, &Scene::Scenario(scenario.clone()), first_seed, count, model)
}

/// Runs `count` seeded scenes of `scene` starting at `first_seed`, with the caller's predictor for
/// `PredictorKind::Model` (reset before every run). A walker batch's report names the scene kind and counts the
/// scenes and violations per family.
pub fn run_scene_batch_with_predictor(
    sim: &SimConfig,
    scene: &Scene,
    first_seed: u64,
    count: usize,
    mut model: Option<&mut IntentPredictor>,
) -> Result<(Report, Vec<RunMetrics>), SimError> {
    let seeds = first_seed..first_seed + count as u64;
    let (mut report, runs) = match scene {
        Scene::Scenario(config) => {
            let runs = run_all(sim, seeds, model.as_deref_mut(), |seed| ScenarioHumans::new(config.clone(), seed))?;
            (aggregate(sim, first_seed, &runs), runs)
        }
        Scene::Walkers(config) => {
            let mut families: Vec<Vec<WalkerFamily>> = Vec::with_capacity(count);
            let runs = run_all(sim, seeds, model.as_deref_mut(), |seed| -> Result<_, ScenarioError> {
                let humans = WalkerHumans::new(config.clone(), seed)?;
                families.push((0..humans.num_humans()).filter_map(|i| humans.family(i)).collect());
                Ok(humans)
            })?;
            let mut report = aggregate(sim, first_seed, &runs);
            report.scene = Some(scene.kind().to_owned());
            report.families = family_counts(&runs, &families);
            (report, runs)
        }
    };
    if sim.predictor == PredictorKind::Model {
        report.model = model.map(|p| format!("{} {} on {}", p.info().name, p.info().version, p.info().provider));
    }
    Ok((report, runs))
}

/// One episode per seed, with the humans `make` builds for it.
fn run_all<S, E>(
    sim: &SimConfig,
    seeds: std::ops::Range<u64>,
    mut model: Option<&mut IntentPredictor>,
    mut make: impl FnMut(u64) -> Result<S, E>,
) -> Result<Vec<RunMetrics>, SimError>
where
    S: HumanSource + Clone,
    SimError: From<E>,
{
    let mut runs = Vec::with_capacity(seeds.size_hint().0);
    for seed in seeds {
        let humans = make(seed)?;
        runs.push(run_episode_with_predictor(sim, humans, seed, model.as_deref_mut())?);
    }
    Ok(runs)
}

/// Per family: walkers, scenes with one, and those scenes with a violation (`families[i]` are run `i`'s).
fn family_counts(runs: &[RunMetrics], families: &[Vec<WalkerFamily>]) -> Vec<FamilyCount> {
    WalkerFamily::ALL
        .iter()
        .map(|&f| {
            let mut c = FamilyCount { family: f.name().to_owned(), ..FamilyCount::default() };
            for (run, fams) in runs.iter().zip(families) {
                let n = fams.iter().filter(|x| **x == f).count();
                c.humans += n;
                if n > 0 {
                    c.scenes += 1;
                    c.scenes_with_violation += usize::from(run.violation_cycles > 0);
                    c.raw_scenes_with_violation += usize::from(run.raw_violation_cycles > 0);
                }
            }
            c
        })
        .collect()
}

/// Aggregates per-run metrics.
pub fn aggregate(sim: &SimConfig, first_seed: u64, runs: &[RunMetrics]) -> Report {
    let pct = |a: u64, b: u64| if b == 0 { 0.0 } else { 100.0 * a as f64 / b as f64 };
    let cycles: u64 = runs.iter().map(|r| r.cycles).sum();
    let stop_cycles: u64 = runs.iter().map(|r| r.stop_cycles).sum();
    let policies = |reached: bool| {
        runs.iter().filter(|r| r.completion_s.is_some() == reached).fold(AssistCycles::default(), |mut a, r| {
            a.add(&r.assist_policies);
            a
        })
    };
    let both: Vec<(f64, f64)> = runs.iter().filter_map(|r| Some((r.completion_s?, r.raw_completion_s?))).collect();
    let ratios: Vec<f64> = both.iter().map(|(s, r)| s / r).collect();
    let limited_ratios: Vec<f64> =
        runs.iter().filter_map(|r| Some(r.completion_s? / r.raw_limited_completion_s?)).collect();
    let clean_raw_ratios: Vec<f64> = runs
        .iter()
        .filter(|r| r.raw_violation_cycles == 0)
        .filter_map(|r| Some(r.completion_s? / r.raw_completion_s?))
        .collect();
    let episodes = runs.iter().fold(StopEpisodeMetrics::default(), |mut a, r| {
        a.add(&r.episodes);
        a
    });
    let standstill_margin = 2.0 / sim.control_rate_hz;
    Report {
        scenarios: runs.len(),
        first_seed,
        predictor: serde_json::to_string(&sim.predictor).unwrap_or_default(),
        model: None,
        scene: None,
        families: Vec::new(),
        careless_operators: runs.iter().filter(|r| r.careless_operator).count(),
        cycles,
        scenarios_with_violation: runs.iter().filter(|r| r.violation_cycles > 0).count(),
        violation_cycles: runs.iter().map(|r| r.violation_cycles).sum(),
        raw_scenarios_with_violation: runs.iter().filter(|r| r.raw_violation_cycles > 0).count(),
        raw_violation_cycles: runs.iter().map(|r| r.raw_violation_cycles).sum(),
        min_distance_approaching_m: runs.iter().map(|r| r.min_distance_approaching).fold(f64::INFINITY, f64::min),
        false_stop_percent: pct(runs.iter().map(|r| r.false_stop_cycles).sum(), stop_cycles),
        false_stop_time_percent: pct(runs.iter().map(|r| r.false_stop_cycles).sum(), cycles),
        false_stop_causes: runs.iter().fold(FalseStopCauses::default(), |mut a, r| {
            a.add(&r.false_stop_causes);
            a
        }),
        stops_beyond_physics_percent: pct(runs.iter().map(|r| r.stops_beyond_physics).sum(), stop_cycles),
        stop_cycles,
        stop_time_percent: pct(stop_cycles, cycles),
        time_to_stop_s: Summary::of(&episodes.time_to_stop_s),
        time_to_standstill_s: Summary::of(&episodes.time_to_standstill_s),
        standstill_over_bound: episodes
            .time_to_standstill_s
            .iter()
            .zip(&episodes.standstill_bound_s)
            .filter(|(t, bound)| **t > **bound + standstill_margin)
            .count(),
        hold_stop_percent: 100.0 * episodes.hold_stop_fraction,
        resume_s: Summary::of(&episodes.resume_s),
        resume_missing: episodes.resume_missing,
        completed: runs.iter().filter(|r| r.completion_s.is_some()).count(),
        raw_completed: runs.iter().filter(|r| r.raw_completion_s.is_some()).count(),
        completion_s: Summary::of(&both.iter().map(|b| b.0).collect::<Vec<_>>()),
        raw_completion_s: Summary::of(&both.iter().map(|b| b.1).collect::<Vec<_>>()),
        completion_ratio_p50: Summary::of(&ratios).p50,
        raw_limited_completed: runs.iter().filter(|r| r.raw_limited_completion_s.is_some()).count(),
        raw_limited_completed_without_violation: runs
            .iter()
            .filter(|r| r.raw_limited_completion_s.is_some() && r.raw_limited_violation_cycles == 0)
            .count(),
        completion_ratio_limited_p50: Summary::of(&limited_ratios).p50,
        completion_ratio_limited_runs: limited_ratios.len(),
        completion_ratio_clean_raw_p50: Summary::of(&clean_raw_ratios).p50,
        completion_ratio_clean_raw_runs: clean_raw_ratios.len(),
        intervention_percent: pct(runs.iter().map(|r| r.intervention_cycles).sum(), cycles),
        assisted_percent: pct(runs.iter().map(|r| r.assisted_cycles).sum(), cycles),
        violation_seeds: runs.iter().filter(|r| r.violation_cycles > 0).map(|r| r.seed).collect(),
        completed_without_violation: runs
            .iter()
            .filter(|r| r.completion_s.is_some() && r.violation_cycles == 0)
            .count(),
        raw_completed_without_violation: runs
            .iter()
            .filter(|r| r.raw_completion_s.is_some() && r.raw_violation_cycles == 0)
            .count(),
        stop_rules: runs.iter().fold(StopRules::default(), |mut a, r| {
            a.add(&r.stop_rules);
            a
        }),
        longest_stop_s: Summary::of(&runs.iter().map(|r| r.longest_stop_s).collect::<Vec<_>>()),
        longest_needless_stop_s: Summary::of(&runs.iter().map(|r| r.longest_needless_stop_s).collect::<Vec<_>>()),
        runs_with_needless_stop_over_5s: runs.iter().filter(|r| r.longest_needless_stop_s > 5.0).count(),
        longest_contact_stop_s: Summary::of(&runs.iter().map(|r| r.longest_contact_stop_s).collect::<Vec<_>>()),
        runs_with_contact_stop_over_5s: runs.iter().filter(|r| r.longest_contact_stop_s > 5.0).count(),
        runs_with_contact_stop_over_5s_person_inside: runs
            .iter()
            .filter(|r| r.longest_contact_stop_s > 5.0 && r.person_inside_footprint_cycles > 0)
            .count(),
        runs_with_person_inside_footprint: runs.iter().filter(|r| r.person_inside_footprint_cycles > 0).count(),
        assist_policies_reached: policies(true),
        assist_policies_not_reached: policies(false),
        slide_percent: pct(runs.iter().map(|r| r.slide_cycles).sum(), cycles),
    }
}

impl Report {
    /// The report as a markdown page.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let s_ = |x: &Summary| {
            format!("n = {}, mean {:.3}, p50 {:.3}, p95 {:.3}, max {:.3}", x.count, x.mean, x.p50, x.p95, x.max)
        };
        let _ = writeln!(s, "# Closed-loop shared-control simulation\n");
        let _ = writeln!(
            s,
            "{} seeded scenarios from seed {}, predictor `{}`, {} careless operators.\n",
            self.scenarios, self.first_seed, self.predictor, self.careless_operators
        );
        if let Some(m) = &self.model {
            let _ = writeln!(s, "Model: {m}.\n");
        }
        if let Some(scene) = &self.scene {
            let _ = writeln!(s, "Scenes: `{scene}` (see `intent_shared_control_sim::{scene}`).\n");
        }
        if !self.families.is_empty() {
            let _ = writeln!(
                s,
                "| family | walkers | scenes | scenes with a violation: shared control | raw teleop |\n|---|---|---|---|---|"
            );
            for f in &self.families {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} |",
                    f.family, f.humans, f.scenes, f.scenes_with_violation, f.raw_scenes_with_violation
                );
            }
            let _ = writeln!(s);
        }
        let _ = writeln!(s, "| metric | shared control | raw teleop |\n|---|---|---|");
        let _ = writeln!(
            s,
            "| scenarios with a separation violation | {} / {} | {} / {} |",
            self.scenarios_with_violation, self.scenarios, self.raw_scenarios_with_violation, self.scenarios
        );
        let _ = writeln!(s, "| violation cycles | {} | {} |", self.violation_cycles, self.raw_violation_cycles);
        let _ = writeln!(s, "| goal reached | {} | {} |", self.completed, self.raw_completed);
        let _ = writeln!(
            s,
            "| goal reached without a violation | {} | {} |",
            self.completed_without_violation, self.raw_completed_without_violation
        );
        let _ = writeln!(
            s,
            "| completion time [s] (runs both completed) | {} | {} |",
            s_(&self.completion_s),
            s_(&self.raw_completion_s)
        );
        let _ = writeln!(s, "\n| metric | value |\n|---|---|");
        let _ = writeln!(s, "| completion time ratio shared / raw (p50) | {:.3} |", self.completion_ratio_p50);
        let _ = writeln!(
            s,
            "| completion time ratio shared / raw (p50) on runs raw teleop completed without a violation | {:.3} (n = {}) |",
            self.completion_ratio_clean_raw_p50, self.completion_ratio_clean_raw_runs
        );
        let _ = writeln!(
            s,
            "| raw teleop through the platform's velocity, acceleration and jerk limits only: goal reached / without a violation / completion time ratio shared / that (p50, runs both completed) | {} / {} / {:.3} (n = {}) |",
            self.raw_limited_completed,
            self.raw_limited_completed_without_violation,
            self.completion_ratio_limited_p50,
            self.completion_ratio_limited_runs
        );
        let _ =
            writeln!(s, "| min true distance while approaching someone [m] | {:.3} |", self.min_distance_approaching_m);
        let c = &self.false_stop_causes;
        let _ = writeln!(
            s,
            "| false stops (Stop cycles the configured chain would not have made knowing the truth) | {:.2} % of Stop cycles, {:.2} % of all cycles |",
            self.false_stop_percent, self.false_stop_time_percent
        );
        let _ = writeln!(
            s,
            "| false stops by cause (cycles): prediction / conservative human speed / occluded person / stop zone | {} / {} / {} / {} |",
            c.predicted, c.conservative_speed, c.occluded_memory, c.zone
        );
        let _ = writeln!(
            s,
            "| Stop cycles the reference physics would not need (incl. configured margins) | {:.2} % |",
            self.stops_beyond_physics_percent
        );
        let _ = writeln!(s, "| time in Stop | {:.2} % |", self.stop_time_percent);
        let _ = writeln!(s, "| cycles sliding past someone (`ssm_slide_past`) | {:.2} % |", self.slide_percent);
        let (a, b) = (&self.assist_policies_reached, &self.assist_policies_not_reached);
        let _ = writeln!(
            s,
            "| assisted cycles by policy (back-off / hold / hand-over / way out), runs reaching the goal; runs not | {} / {} / {} / {}; {} / {} / {} / {} |",
            a.back_off, a.hold, a.handover, a.way_out, b.back_off, b.hold, b.handover, b.way_out
        );
        let r = &self.stop_rules;
        let _ = writeln!(
            s,
            "| Stop cycles by rule: separation / stop zone / other (fault, stale input, re-arm) | {} / {} / {} |",
            r.separation, r.zone, r.other
        );
        let _ = writeln!(
            s,
            "| longest time held still while the operator asks for a motion, per run [s] | {} |",
            s_(&self.longest_stop_s)
        );
        let _ = writeln!(
            s,
            "| of that, next to a person standing still while the operator asks for a motion that brings no point closer, nobody touching the robot, per run [s] | {}; runs over 5 s: {} |",
            s_(&self.longest_needless_stop_s),
            self.runs_with_needless_stop_over_5s,
        );
        let _ = writeln!(
            s,
            "| of that, while someone touches the robot (a true keypoint inside its volume: no motion allowed), per run [s] | {}; runs over 5 s: {} ({} of them with a scenario person's torso inside the robot's footprint) |",
            s_(&self.longest_contact_stop_s),
            self.runs_with_contact_stop_over_5s,
            self.runs_with_contact_stop_over_5s_person_inside
        );
        let _ = writeln!(
            s,
            "| runs where a scenario person walks into the robot's footprint (people walk to points fixed to the robot's start pose; a scene no robot meets) | {} |",
            self.runs_with_person_inside_footprint
        );
        let _ = writeln!(
            s,
            "| time to stop (first braking cycle) after a predicted violation [s] | {} |",
            s_(&self.time_to_stop_s)
        );
        let _ = writeln!(
            s,
            "| time to standstill (no approach) after a predicted violation [s]; episodes over v₀/braking deceleration + 2 cycles | {}; {} |",
            s_(&self.time_to_standstill_s),
            self.standstill_over_bound
        );
        let _ = writeln!(
            s,
            "| hold stop (no approach while the violation stays predicted, after standstill) | {:.2} % |",
            self.hold_stop_percent
        );
        let _ = writeln!(
            s,
            "| resume after a predicted violation clears [s]; episodes never resumed | {}; {} |",
            s_(&self.resume_s),
            self.resume_missing
        );
        let _ = writeln!(
            s,
            "| intervention rate (cycles changed by assist or safety) | {:.2} % |",
            self.intervention_percent
        );
        let _ = writeln!(s, "| assisted cycles (α > 0) | {:.2} % |", self.assisted_percent);
        let _ = writeln!(s, "| control cycles | {} |", self.cycles);
        if !self.violation_seeds.is_empty() {
            let _ = writeln!(s, "\nSeeds with a violation: {:?}", self.violation_seeds);
        }
        let _ = writeln!(s, "\nDefinitions: see the `intent_shared_control_sim::sim` module docs.");
        s
    }
}

/// The scenario settings of the standard batch: default humans, 25 s long (the task takes 10–20 s).
pub fn standard_scenario() -> ScenarioConfig {
    ScenarioConfig { duration_s: 25.0, ..ScenarioConfig::default() }
}

/// The walker settings of the standard batch: every family, 1–2 humans, 25 s long like [`standard_scenario`].
pub fn standard_walkers() -> WalkerConfig {
    WalkerConfig { duration_s: standard_scenario().duration_s, ..WalkerConfig::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walker_batch_names_its_scene_and_counts_families_scenario_batch_is_unchanged() {
        let sim = SimConfig { predictor: PredictorKind::ConstantVelocity, ..SimConfig::default() };
        let walkers = WalkerConfig { duration_s: 12.0, ..standard_walkers() };
        let (report, runs) = run_scene_batch_with_predictor(&sim, &Scene::Walkers(walkers), 1, 3, None).expect("runs");
        assert_eq!(runs.len(), 3);
        assert_eq!(report.scene.as_deref(), Some("walkers"));
        assert_eq!(report.families.len(), WalkerFamily::ALL.len());
        let scenes_with_walkers: usize = report.families.iter().map(|f| f.humans).sum();
        assert!((3..=6).contains(&scenes_with_walkers), "{:?}", report.families);
        let md = report.to_markdown();
        assert!(md.contains("Scenes: `walkers`") && md.contains("| head_on |"), "{md}");

        // The scenario batch's report has neither field, in JSON nor in markdown.
        let scenario = ScenarioConfig { duration_s: 8.0, ..standard_scenario() };
        let (report, _) = run_batch(&sim, &scenario, 1, 1).expect("runs");
        assert!(report.scene.is_none() && report.families.is_empty());
        let json = serde_json::to_string(&report).expect("serialisable");
        assert!(!json.contains("\"scene\"") && !json.contains("\"families\""), "{json}");
        assert!(!report.to_markdown().contains("Scenes:"));
    }

    #[test]
    fn the_ratio_to_clean_raw_teleop_leaves_out_runs_raw_teleop_drove_through_someone() {
        let run = |seed, shared: f64, raw: f64, raw_violations| RunMetrics {
            seed,
            completion_s: Some(shared),
            raw_completion_s: Some(raw),
            raw_violation_cycles: raw_violations,
            ..RunMetrics::default()
        };
        // Raw teleop is fast where it drives through someone (ratios 2.0 and 3.0) and as fast as the chain where
        // it does not (1.1, 1.1, 1.2).
        let runs = [
            run(1, 10.0, 5.0, 12),
            run(2, 11.0, 10.0, 0),
            run(3, 9.0, 3.0, 4),
            run(4, 12.0, 10.0, 0),
            run(5, 11.0, 10.0, 0),
        ];
        let report = aggregate(&SimConfig::default(), 1, &runs);
        assert_eq!(report.completion_ratio_clean_raw_runs, 3);
        assert!((report.completion_ratio_clean_raw_p50 - 1.1).abs() < 1e-9, "{report:?}");
        assert!(report.completion_ratio_p50 > 1.1, "{report:?}");
        assert!(report.to_markdown().contains("without a violation | 1.100 (n = 3) |"));
    }
}
