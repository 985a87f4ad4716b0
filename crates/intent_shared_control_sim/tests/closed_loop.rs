//! Closed-loop regression on a small seeded batch (seeds 1–24) with hard thresholds. The full batch is the
//! `simulate` binary (`--scenarios 1000`, release build). 24 seeds since the judge is 3-D: seeds 1–16 hold 3
//! scenarios where raw teleop violates the separation (a head above the base is not run into), 1–24 hold 7.

use intent_shared_control_sim::sim::{PredictorKind, SimConfig};
use intent_shared_control_sim::{run_batch, standard_scenario, Report};

const SEEDS: usize = 24;

fn batch(predictor: PredictorKind, count: usize) -> Report {
    let sim = SimConfig { predictor, ..SimConfig::default() };
    let (report, runs) = run_batch(&sim, &standard_scenario(), 1, count).expect("valid set-up");
    assert_eq!(runs.len(), count);
    report
}

/// Safety and task thresholds shared by both predictors.
fn check_common(r: &Report) {
    // Shared control must cut separation violations drastically compared with the same operator on raw teleop.
    assert!(r.raw_scenarios_with_violation >= 4, "the batch must contain dangerous situations: {r:#?}");
    assert_eq!(r.scenarios_with_violation, 0, "separation violations: {r:#?}");
    assert!(r.violation_cycles * 10 <= r.raw_violation_cycles, "violation cycles not reduced 10x: {r:#?}");
    // Stops are fast once a violation is predicted.
    assert!(r.time_to_stop_s.count > 0 && r.time_to_stop_s.p95 <= 0.3, "time to stop: {r:#?}");
    // ... standstill within the braking bound, and no creeping toward anyone while the violation stays predicted
    // (the bag suite's thresholds, by the same scorer).
    assert_eq!(r.standstill_over_bound, 0, "standstill later than v0/deceleration: {r:#?}");
    assert_eq!(r.hold_stop_percent, 100.0, "approach while a violation is predicted: {r:#?}");
    // The task still gets done, not much slower than raw teleop.
    assert!(r.completed >= 10, "goal reached in {} of {SEEDS} runs", r.completed);
    assert!(
        r.completion_ratio_p50 > 0.9 && r.completion_ratio_p50 <= 1.25,
        "completion ratio {}",
        r.completion_ratio_p50
    );
    assert!(r.intervention_percent < 90.0, "intervention rate {}", r.intervention_percent);
}

#[test]
fn constant_velocity_predictor_batch_meets_thresholds() {
    let r = batch(PredictorKind::ConstantVelocity, SEEDS);
    check_common(&r);
    // Uniform intents: no assistance.
    assert_eq!(r.assisted_percent, 0.0);
}

#[test]
fn oracle_predictor_batch_meets_thresholds_and_assists() {
    let r = batch(PredictorKind::Oracle { confidence: 0.9 }, SEEDS);
    check_common(&r);
    assert!(r.assisted_percent > 1.0, "assistance never engaged: {r:#?}");
    // With a perfect prediction the robot stands needlessly in under 1 % of the cycles (0.39 % on these seeds,
    // 0.23 % over 1000). Judged on all cycles, not as a share of the Stop cycles: that share rises whenever
    // needed stops fall (on these seeds 140 → 108 Stop cycles when the deadman confirmation and the turn-only
    // way out came in, false ones 70 → 67, the share 50 → 62 %).
    assert!(r.false_stop_time_percent <= 1.0, "false stops {:.2} % of all cycles: {r:#?}", r.false_stop_time_percent);
    // ... and the share of needless ones among the stops does not grow unnoticed (63 % now, 8 % over 1000).
    assert!(r.false_stop_percent <= 70.0, "false stops {:.1} % of Stop cycles: {r:#?}", r.false_stop_percent);
}

#[test]
fn report_renders_and_round_trips() {
    let r = batch(PredictorKind::None, 2);
    let md = r.to_markdown();
    assert!(md.contains("separation violation") && md.contains("time to stop"));
    let json = serde_json::to_string(&r).expect("serialisable");
    let back: Report = serde_json::from_str(&json).expect("deserialisable");
    assert_eq!(back, r, "the JSON report must round-trip exactly");
}
