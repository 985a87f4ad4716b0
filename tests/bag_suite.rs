//! Scenario bag suite: bags generated at test time from the shared scenario generator (fixed seeds), written
//! as rosbag2 MCAP, read back, replayed offline through the core and judged on the suite's thresholds
//! (nav2 collision_monitor bag-test style). See docs/bags.md for the definitions.

use intent_shared_control::bag::read_bag;
use intent_shared_control::bag::replay::{
    self, check_thresholds, PredictionSource, ReplayOptions, StepMode, Thresholds,
};
use intent_shared_control::bag::scenarios::{generate, write_bag, GeneratorOptions, ScenarioKind};

const SEED: u64 = 7;

fn tmp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("isc_bag_suite_{}_{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn bags_round_trip_and_replay_bit_identically() {
    let dir = tmp_dir("determinism");
    let messages = generate(ScenarioKind::Intrusion, SEED, &GeneratorOptions::default()).expect("generator");
    let bag = write_bag(&dir.join("intrusion"), &messages).expect("bag written");
    assert!(bag.join("metadata.yaml").is_file());
    let read = read_bag(&bag).expect("bag read");
    assert_eq!(read, messages, "the bag reads back as written");

    let mut outputs = Vec::new();
    for run in 0..2 {
        let out = replay::replay(&read, ReplayOptions::default(), None, |_| {}).expect("replay");
        let out_dir = dir.join(format!("out{run}"));
        replay::write_outputs_bag(&out_dir.join("outputs"), &out.cycles, "base_link").expect("outputs bag");
        replay::write_csv(&out_dir.join("decisions.csv"), &out.cycles).expect("csv");
        let json = replay::metrics_json(&out, &Thresholds::for_rate(50.0), serde_json::Value::Null);
        let files = [
            std::fs::read(out_dir.join("outputs/outputs.mcap")).expect("mcap"),
            std::fs::read(out_dir.join("outputs/metadata.yaml")).expect("metadata"),
            std::fs::read(out_dir.join("decisions.csv")).expect("csv"),
            serde_json::to_vec(&json).expect("json"),
        ];
        outputs.push(files);
    }
    assert_eq!(outputs[0], outputs[1], "the same bag replays to bit-identical outputs");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn recorded_decisions_are_reproduced_exactly() {
    let messages = generate(ScenarioKind::PassBy, SEED, &GeneratorOptions::default()).expect("generator");
    let options = ReplayOptions { step: StepMode::Recorded, ..ReplayOptions::default() };
    let out = replay::replay(&messages, options, None, |_| {}).expect("replay");
    let a = out.agreement.expect("agreement in recorded mode");
    assert!(a.compared > 400, "{a:?}");
    assert_eq!((a.same_mode, a.output_mismatches), (a.compared, 0), "{a:?}");
}

/// The bags are generated as the predictor node runs (shipped model, tracks in the odometry frame from `/odom`):
/// replaying a bag with its own predictor instead of the recorded predictions reproduces every decision.
#[test]
fn model_predictions_are_reproduced_from_skeletons_and_odometry() {
    use intent_shared_control_core::features::FeatureConfig;
    use intent_shared_control_core::odometry::OdometryConfig;
    use intent_shared_control_core::predictor::IntentPredictor;
    let messages = generate(ScenarioKind::SeveralHumans, SEED, &GeneratorOptions::default()).expect("generator");
    assert!(replay::has_odometry(&messages, ""));
    let card = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/intent_model.card.json");
    let model = replay::load_cpu_model(&card, None).expect("model (ISC_ORT_LIB)");
    let mut predictor = IntentPredictor::new(FeatureConfig::default(), model, 64).expect("predictor");
    predictor.use_odometry(OdometryConfig::default()).expect("odometry");
    let options = ReplayOptions {
        step: StepMode::Recorded,
        predictions: replay::PredictionSource::Predictor,
        ..ReplayOptions::default()
    };
    let out = replay::replay(&messages, options, Some(predictor), |_| {}).expect("replay");
    let a = out.agreement.expect("agreement in recorded mode");
    assert!(a.compared > 400, "{a:?}");
    assert_eq!((a.same_mode, a.output_mismatches), (a.compared, 0), "{a:?}");
    assert!(out.metrics.stop_cycles > 0, "the scenario must exercise the safety chain");
}

/// One odometry pose and one capture stamped 1.9 s ahead of their arrival (the pose teleported 100 m back), as
/// a forged writer would send them, are rejected and counted by the replay's predictor as by the predictor
/// node, and change none of its forecasts: every cycle's intent probabilities equal those of the clean bag.
/// Before, the forged pose was kept and the next ~95 real poses were refused as out of order, and the forged
/// capture held back the person's track for as long.
#[test]
fn one_odometry_pose_or_capture_from_the_future_changes_no_forecast() {
    use intent_shared_control::bag::replay::topics;
    use intent_shared_control::bag::BagMessage;
    use intent_shared_control_core::features::FeatureConfig;
    use intent_shared_control_core::odometry::OdometryConfig;
    use intent_shared_control_core::predictor::IntentPredictor;
    use r2r::intent_shared_control_msgs::msg::HumanSkeletonArray;
    use r2r::nav_msgs::msg::Odometry;
    let clean = generate(ScenarioKind::SeveralHumans, SEED, &GeneratorOptions::default()).expect("generator");
    let ahead = |t: &mut r2r::builtin_interfaces::msg::Time| {
        let ns = i64::from(t.sec) * 1_000_000_000 + i64::from(t.nanosec) + 1_900_000_000;
        (t.sec, t.nanosec) = ((ns / 1_000_000_000) as i32, (ns % 1_000_000_000) as u32);
    };
    let mut forged = clean.clone();
    let odom_at = forged.iter().position(|m| m.topic == topics::ODOM && m.log_time > clean[clean.len() / 3].log_time);
    let odom_at = odom_at.expect("odometry in the bag");
    let mut odom: Odometry = forged[odom_at].decode().expect("odometry");
    ahead(&mut odom.header.stamp);
    odom.pose.pose.position.x -= 100.0;
    let log_time = forged[odom_at].log_time;
    forged.insert(odom_at + 1, BagMessage::encode(topics::ODOM, topics::ODOM_TYPE, log_time, &odom).expect("encode"));
    let skel_at = forged.iter().position(|m| m.topic == topics::SKELETONS && m.log_time > log_time);
    let skel_at = skel_at.expect("skeletons in the bag");
    let mut capture: HumanSkeletonArray = forged[skel_at].decode().expect("skeletons");
    ahead(&mut capture.header.stamp);
    let log_time = forged[skel_at].log_time;
    forged.insert(
        skel_at + 1,
        BagMessage::encode(topics::SKELETONS, topics::SKELETONS_TYPE, log_time, &capture).expect("encode"),
    );
    let card = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/intent_model.card.json");
    let run = |messages: &[BagMessage]| {
        let model = replay::load_cpu_model(&card, None).expect("model (ISC_ORT_LIB)");
        let mut predictor = IntentPredictor::new(FeatureConfig::default(), model, 64).expect("predictor");
        predictor.use_odometry(OdometryConfig::default()).expect("odometry");
        let options = ReplayOptions { predictions: replay::PredictionSource::Predictor, ..ReplayOptions::default() };
        replay::replay(messages, options, Some(predictor), |_| {}).expect("replay")
    };
    let (a, b) = (run(&clean), run(&forged));
    let rejected = |name: &str| b.inputs.rejected.get(name).copied().unwrap_or(0);
    assert_eq!((rejected("odometry_future_stamp"), rejected("skeletons_future_stamp")), (1, 1), "{:?}", b.inputs);
    assert_eq!(rejected("odometry_out_of_order"), a.inputs.rejected.get("odometry_out_of_order").copied().unwrap_or(0));
    let clean_probs: std::collections::HashMap<_, _> =
        a.cycles.iter().map(|c| (c.decision.stamp, c.nearest_probabilities)).collect();
    let compared: Vec<bool> = b
        .cycles
        .iter()
        .filter_map(|c| clean_probs.get(&c.decision.stamp).map(|p| *p == c.nearest_probabilities))
        .collect();
    assert!(compared.len() + 2 >= a.cycles.len(), "{} of {} cycles", compared.len(), a.cycles.len());
    assert!(compared.iter().all(|&same| same), "{} cycles changed", compared.iter().filter(|&&s| !s).count());
}

/// Every scenario meets every threshold (docs/bags.md): zero separation violations, braking within one control
/// period, standstill within the braking bound, hold stop 100 %, resume within 0.5 s, finite outputs, false
/// stops ≤ 5 % of cycles (2 % before the reachable set, see docs/bags.md). Twice: as recorded (the shipped model's forecasts), and with a perfect forecast (the
/// recorded intents, each forecast replaced by the person's true future). The judge asks what the configured
/// chain would have done with the truth, so with a perfect forecast the false stops left are the price of
/// perception (noise, latency), and the gap between the two runs is the price of the model's forecast error.
#[test]
fn scenario_suite_meets_every_threshold() {
    let t = Thresholds::for_rate(50.0);
    let mut bad = Vec::new();
    for kind in ScenarioKind::ALL {
        let messages = generate(kind, SEED, &GeneratorOptions::default()).expect("generator");
        for source in [PredictionSource::Recorded, PredictionSource::TrueFuture] {
            let options = ReplayOptions { predictions: source, ..ReplayOptions::default() };
            let out = replay::replay(&messages, options, None, |_| {}).expect("replay");
            let m = &out.metrics;
            let failures = check_thresholds(m, &t);
            println!(
                "{:<17} {:<11} cycles {:>4} stop {:>4} violations {} ttstop_max {:.3} s hold {:.1} % resume_max {:.3} s false-stop {:.2} % held {:.2} / needless {:.2} / contact {:.2} s | {}",
                kind.name(),
                format!("{source:?}"),
                m.cycles,
                m.stop_cycles,
                m.violation_cycles,
                m.episodes.time_to_stop_s.iter().copied().fold(0.0, f64::max),
                100.0 * m.episodes.hold_stop_fraction,
                m.episodes.resume_s.iter().copied().fold(0.0, f64::max),
                100.0 * m.false_stop_fraction,
                m.longest_held_s,
                m.longest_needless_hold_s,
                m.longest_contact_hold_s,
                if failures.is_empty() { "ok".to_owned() } else { failures.join("; ") }
            );
            assert_eq!(m.judged_on, "ground_truth");
            assert!(m.cycles > 1000, "{}: {} cycles", kind.name(), m.cycles);
            if !failures.is_empty() {
                bad.push(format!("{} ({source:?}): {failures:?}", kind.name()));
            }
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

/// The replay's predictor checks the model's forecasts against the model card's real-data error bound, as the
/// predictor node does: a person crossing ahead is forecast within it at every look-ahead (no alarm); the
/// same bag with every other capture of the person moved closer by 2.5 times the card's largest bound (a tracker
/// flickering between them and someone closer) misses it far more often than the card's quantile allows. The alarm's rule itself is
/// tested in `forecast_check::tests`; this is the replay's wiring.
#[test]
fn the_replay_checks_forecasts_against_the_cards_error_bound() {
    use intent_shared_control::bag::replay::topics;
    use intent_shared_control::bag::BagMessage;
    use intent_shared_control_core::features::FeatureConfig;
    use intent_shared_control_core::odometry::OdometryConfig;
    use intent_shared_control_core::predictor::IntentPredictor;
    use r2r::intent_shared_control_msgs::msg::HumanSkeletonArray;
    let card = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/intent_model.card.json");
    let bound = replay::card_forecast_bound(&card).expect("card").expect("the shipped card states a bound");
    let run = |messages: &[BagMessage]| {
        let model = replay::load_cpu_model(&card, None).expect("model (ISC_ORT_LIB)");
        let mut predictor = IntentPredictor::new(FeatureConfig::default(), model, 64).expect("predictor");
        predictor.use_odometry(OdometryConfig::default()).expect("odometry");
        predictor.check_forecasts(bound.clone());
        let options = ReplayOptions { predictions: PredictionSource::Predictor, ..ReplayOptions::default() };
        let out = replay::replay(messages, options, Some(predictor), |_| {}).expect("replay");
        let json = replay::metrics_json(&out, &Thresholds::for_rate(50.0), serde_json::Value::Null);
        assert!(json["forecast_check"]["by_lookahead"].is_array(), "{}", json["forecast_check"]);
        out.forecast_check.expect("the forecasts were checked")
    };
    let clean = generate(ScenarioKind::PassBy, SEED, &GeneratorOptions::default()).expect("generator");
    let held = run(&clean);
    assert_eq!(held.by_lookahead.len(), 10);
    // At look-ahead τ one check per person per τ (checks that do not overlap).
    assert!(held.by_lookahead.iter().all(|s| s.checks as f64 >= 7.0 / s.lookahead_s), "{held:?}");
    // Never raised during the replay, not only clear at its end.
    assert!(held.alarmed_lookahead_s.is_empty(), "{held:?}");

    // A tracker flickering between the person and someone closer: every other capture moved toward the robot by
    // 2.5 times the card's largest bound. A forecaster that smooths over its window (a least-squares line does)
    // sits about halfway between the two tracks, so a moved sighting is about half the move closer than
    // forecast: the move must be well over twice the bound for every odd look-ahead to miss, whatever the model.
    let largest = bound.metres.iter().copied().fold(0.0, f64::max);
    let moved_m = 2.5 * largest;
    let mut nth = 0usize;
    let swapped: Vec<BagMessage> = clean
        .iter()
        .map(|m| {
            if m.topic != topics::SKELETONS {
                return m.clone();
            }
            nth += 1;
            if nth.is_multiple_of(2) {
                return m.clone();
            }
            let mut capture: HumanSkeletonArray = m.decode().expect("skeletons");
            for h in &mut capture.humans {
                for p in &mut h.keypoints {
                    p.x -= moved_m;
                }
            }
            BagMessage::encode(topics::SKELETONS, topics::SKELETONS_TYPE, m.log_time, &capture).expect("encode")
        })
        .collect();
    let missed = run(&swapped);
    assert!(!missed.alarmed_lookahead_s.is_empty(), "{missed:?}");
    // At 30 Hz a look-ahead of 0.1, 0.3, 0.5, 0.7 or 0.9 s is an odd number of captures: the forecast and the
    // sighting it is checked against come from captures of opposite parity, one of them moved by the flicker.
    // (At the even ones both or neither are moved; what is left there is how the model reacts to the flicker.)
    for (flicker, clean) in missed.by_lookahead.iter().zip(&held.by_lookahead).step_by(2) {
        assert!(flicker.exceeded > clean.exceeded, "{flicker:?} against {clean:?}");
    }
}
