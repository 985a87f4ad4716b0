//! The constant-velocity fallback predictor (`core::model::constant_velocity`) on real pedestrian tracks: its
//! default fit (a Kalman filter over the model's 1 s window) against least-squares lines over the last 6, 13 and
//! 25 frames, through the product's feature pipeline, with the real-data evaluation's bodies and sensor model
//! (`real_eval`), the robot at each recording's centre. Torso error in the ground plane at 1 s (ADE, and the error
//! at 0.1 s and 1 s); beside it the evaluation's Kalman baseline over 2 s of observed hips.
//!
//! ```text
//! cargo run --release -p intent_shared_control_tools --example fallback_on_real_tracks
//! ```

use std::path::Path;

use intent_shared_control_core::features::FeatureConfig;
use intent_shared_control_core::model::{ConstantVelocityConfig, ConstantVelocityModel};
use intent_shared_control_core::predictor::IntentPredictor;
use intent_shared_control_tools::real_eval::gait::GaitLibrary;
use intent_shared_control_tools::real_eval::{evaluate_recording, Bodies, InputModel, Sensor, METHODS, STEPS};

const RECORDINGS: [&str; 4] = ["biwi_eth", "biwi_hotel", "crowds_zara01", "uni_examples"];

fn main() -> anyhow::Result<()> {
    let library = GaitLibrary::load(Path::new("data/mocap"))?;
    let input = InputModel::new(Bodies::Mocap, Sensor::Generator, Some(&library))?;
    let fits = [
        ("Kalman filter over 1 s (default)", ConstantVelocityConfig::default()),
        ("line over 6 frames", ConstantVelocityConfig::least_squares(6)),
        ("line over 13 frames", ConstantVelocityConfig::least_squares(13)),
        ("line over 25 frames", ConstantVelocityConfig::least_squares(25)),
    ];
    let kalman = METHODS.iter().position(|m| *m == "kalman_q0.25").expect("the evaluation's Kalman baseline");
    println!("torso, ground plane, ADE / error at 0.1 s / error at 1 s [m]\n");
    println!(
        "| recording | windows | {} | evaluation's Kalman filter over 2 s |",
        fits.iter().map(|f| f.0).collect::<Vec<_>>().join(" | ")
    );
    println!("|---|---:|{}---:|", "---:|".repeat(fits.len()));
    for recording in RECORDINGS {
        let path = Path::new("data/ethucy").join(format!("{recording}.csv.gz"));
        let mut cells = Vec::new();
        let mut windows = 0;
        let mut baseline = String::new();
        for (_, config) in &fits {
            let model = ConstantVelocityModel::new(config.clone())?;
            let mut predictor = IntentPredictor::new(FeatureConfig::default(), Box::new(model), 16)?;
            let anchors = evaluate_recording(&path, 0.4, &mut predictor, &input)?;
            let at_centre: Vec<_> = anchors.iter().filter(|a| a.placement == 0).collect();
            let n = at_centre.len() as f64;
            let cell = |m: usize| {
                let ade = at_centre.iter().map(|a| a.ade[m]).sum::<f64>() / n;
                let first = at_centre.iter().map(|a| a.step_error[m][0]).sum::<f64>() / n;
                let last = at_centre.iter().map(|a| a.step_error[m][STEPS - 1]).sum::<f64>() / n;
                format!("{ade:.3} / {first:.3} / {last:.3}")
            };
            cells.push(cell(0));
            baseline = cell(kalman);
            windows = at_centre.len();
        }
        println!("| {recording} | {windows} | {} | {baseline} |", cells.join(" | "));
    }
    Ok(())
}
