//! Walker scenes that once had a separation violation, replayed closed loop with the shipped model (the product
//! configuration, ONNX Runtime on the CPU).

mod common;

use common::{ort_library, workspace_root};
use intent_shared_control_sim::sim::{PredictorKind, SimConfig};
use intent_shared_control_sim::walkers::WalkerConfig;
use intent_shared_control_sim::{load_model_predictor, run_scene_batch_with_predictor, Scene};

#[test]
fn a_walker_reaching_into_the_robot_from_behind_stops_its_motion() {
    // Walker scene 693: a walker passing close behind the robot has a true keypoint 0.19 m inside its footprint
    // while the operator pushes ahead and turns. The chain saw that part of the body as a ball (a hidden hand's
    // reach around its shoulder, or a remembered keypoint grown by how far it may have moved) reaching the
    // robot's surface, but judged the approach toward the ball's centre alone: forward and turning went on for 3
    // cycles. A ball that reaches the surface is now approached by every motion that sweeps space.
    let card = workspace_root().join("models/intent_model.card.json");
    let (mut predictor, _) = load_model_predictor(&card, Some(&ort_library())).expect("shipped model loads");
    let sim = SimConfig { predictor: PredictorKind::Model, ..SimConfig::default() };
    let (report, runs) =
        run_scene_batch_with_predictor(&sim, &Scene::Walkers(WalkerConfig::default()), 693, 1, Some(&mut predictor))
            .expect("valid set-up");
    assert_eq!(runs[0].violation_cycles, 0, "{:?}", report.violation_seeds);
    assert!(runs[0].completion_s.is_some());
}
