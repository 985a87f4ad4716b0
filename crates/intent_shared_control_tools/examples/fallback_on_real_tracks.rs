//! The constant-velocity fallback predictor (`core::model::constant_velocity`) on real pedestrian tracks: its
//! default fit (a Kalman filter over the model's 1 s window) against least-squares lines over the last 6, 13 and
//! 25 frames, through the product's feature pipeline, with the real-data evaluation's bodies and sensor model
//! (`real_eval`), the robot at each recording's centre. Torso error in the ground plane at 1 s (ADE, and the error
//! at 0.1 s and 1 s); beside it the evaluation's Kalman baseline over 2 s of observed hips. Then, per speed band,
//! the default fit's ADE over that baseline's: what a 1 s window (the model's) costs the same filter.
//!
//! ```text
//! cargo run --release -p intent_shared_control_tools --example fallback_on_real_tracks
//! ```

use std::path::Path;

use intent_shared_control_core::features::FeatureConfig;
use intent_shared_control_core::model::{ConstantVelocityConfig, ConstantVelocityModel};
use intent_shared_control_core::predictor::IntentPredictor;
use intent_shared_control_tools::real_eval::gait::GaitLibrary;
use intent_shared_control_tools::real_eval::{
    band, evaluate_recording, Anchor, Bodies, InputModel, Sensor, BANDS, METHODS, STEPS,
};

const RECORDINGS: [&str; 4] = ["biwi_eth", "biwi_hotel", "crowds_zara01", "uni_examples"];
/// Recordings of the per-band table: eth, and the zara2 and univ scenes' largest.
const BAND_RECORDINGS: [&str; 3] = ["biwi_eth", "crowds_zara02", "students003"];

/// The anchors of `recording` with the robot at its centre, forecast by the fallback with `config`.
fn anchors_at_centre(
    recording: &str,
    config: &ConstantVelocityConfig,
    input: &InputModel,
) -> anyhow::Result<Vec<Anchor>> {
    let path = Path::new("data/ethucy").join(format!("{recording}.csv.gz"));
    let model = ConstantVelocityModel::new(config.clone())?;
    let mut predictor = IntentPredictor::new(FeatureConfig::default(), Box::new(model), 16)?;
    let anchors = evaluate_recording(&path, 0.4, &mut predictor, input)?;
    Ok(anchors.into_iter().filter(|a| a.placement == 0).collect())
}

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
        let mut cells = Vec::new();
        let mut windows = 0;
        let mut baseline = String::new();
        for (_, config) in &fits {
            let at_centre = anchors_at_centre(recording, config, &input)?;
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
    println!(
        "\nper speed band: ADE of the default fit (the filter over 1 s) ÷ the evaluation's filter over 2 s (windows)\n"
    );
    println!("| recording | {} |", BANDS.join(" | "));
    println!("|---|{}", "---:|".repeat(BANDS.len()));
    for recording in BAND_RECORDINGS {
        let at_centre = anchors_at_centre(recording, &ConstantVelocityConfig::default(), &input)?;
        let cells: Vec<String> = (0..BANDS.len())
            .map(|b| {
                let in_band: Vec<&Anchor> = at_centre.iter().filter(|a| band(a.speed) == b).collect();
                let sum = |m: usize| in_band.iter().map(|a| a.ade[m]).sum::<f64>();
                format!("{:.3} ({})", sum(0) / sum(kalman), in_band.len())
            })
            .collect();
        println!("| {recording} | {} |", cells.join(" | "));
    }
    Ok(())
}
