//! `evaluate_real` and `export_real_data` end to end on made-up "real" data whose right answers are known: a
//! pedestrian recording with one person walking a straight line at constant speed and one standing, and a
//! motion-capture clip of a rigid body gliding at 1 m/s. With exact keypoints constant velocity must then be exact,
//! standing still wrong by the distance walked, and the report complete; with the real gait and the sensor model
//! the baselines see noisy hips and are close, not exact. Runs on the tiny fixture model (random weights: its own
//! numbers are not judged).

mod common;

use std::io::Write as _;
use std::path::Path;
use std::process::Command;

use common::{fixture, ort_library, scratch, workspace_root};
use flate2::write::GzEncoder;
use intent_shared_control_core::skeleton::keypoint::NAMES;

fn write_gz(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
    let mut gz = GzEncoder::new(std::fs::File::create(path).expect("create"), flate2::Compression::fast());
    gz.write_all(text.as_bytes()).expect("write");
    gz.finish().expect("finish");
}

const WALK_SPEED: f64 = 1.2;

fn make_data(root: &Path) {
    // 12 s at 0.4 s: track 1 walks along x, track 2 stands; the last 4 s are the validation part.
    let mut csv = String::from("frame,t_s,track_id,x_m,y_m,part\n");
    for i in 0..=30 {
        let t = 0.4 * f64::from(i);
        let part = if t >= 8.0 { "val" } else { "train" };
        csv += &format!("{},{t:.3},1,{:.4},-1.0000,{part}\n", 10 * i, -6.0 + WALK_SPEED * t);
        csv += &format!("{},{t:.3},2,3.0000,2.0000,{part}\n", 10 * i);
    }
    write_gz(&root.join("ethucy/walk.csv.gz"), &csv);
    let splits = serde_json::json!({
        "recordings": {"walk": {"file": "ethucy/walk.csv.gz", "annotation_period_s": 0.4}},
        "scenes": {"walk": {
            "test": [{"recording": "walk", "part": "all"}],
            "train": [{"recording": "walk", "part": "train"}],
            "val": [{"recording": "walk", "part": "val"}]
        }}
    });
    std::fs::write(root.join("ethucy/splits.json"), splits.to_string()).expect("splits");
    // 3 s at 30 Hz of a rigid body standing 1.7 m tall, gliding along y at 1 m/s.
    let mut clip = String::from("t_s");
    for name in NAMES {
        clip += &format!(",{name}_x,{name}_y,{name}_z");
    }
    clip += "\n";
    for k in 0..90 {
        let t = f64::from(k) / 30.0;
        clip += &format!("{t:.4}");
        for j in 0..NAMES.len() {
            let (x, z) = (0.02 * j as f64 - 0.15, 1.7 - 0.1 * j as f64);
            clip += &format!(",{x:.4},{:.4},{z:.4}", t - 1.0);
        }
        clip += "\n";
    }
    write_gz(&root.join("mocap/glide.csv.gz"), &clip);
    // The gait library's clips (read by name; not in the index, so not evaluated).
    let library = intent_shared_control_tools::real_eval::gait::GAIT_CLIPS
        .iter()
        .chain([&intent_shared_control_tools::real_eval::gait::STANDING_CLIP]);
    for clip in library {
        let name = format!("{clip}.csv.gz");
        std::fs::copy(workspace_root().join("data/mocap").join(&name), root.join("mocap").join(&name)).expect("copy");
    }
    let index = serde_json::json!({"clips": {"glide": {"file": "mocap/glide.csv.gz", "description": "glide"}}});
    std::fs::write(root.join("mocap/index.json"), index.to_string()).expect("index");
}

/// Runs `evaluate_real` on the made-up data in a fresh scratch directory `name` with the tiny model and `extra`
/// arguments; its JSON report and the output directory.
fn evaluate(name: &str, extra: &[&str]) -> (serde_json::Value, std::path::PathBuf) {
    let root = scratch(name);
    make_data(&root);
    let out = root.join("out");
    let output = Command::new(env!("CARGO_BIN_EXE_evaluate_real"))
        .args(["--data", &root.join("ethucy").to_string_lossy(), "--mocap", &root.join("mocap").to_string_lossy()])
        .args(["--card", &fixture("model_tiny.card.json").to_string_lossy()])
        .args(["--ort-lib", &ort_library().to_string_lossy(), "--out-dir", &out.to_string_lossy(), "--stem", "r"])
        .args(extra)
        .output()
        .expect("evaluate_real starts");
    assert!(output.status.success(), "evaluate_real failed: {}", String::from_utf8_lossy(&output.stderr));
    let r = serde_json::from_str(&std::fs::read_to_string(out.join("r.json")).expect("json")).expect("parses");
    (r, out)
}

#[test]
fn real_data_evaluation_knows_the_right_answers() {
    let (r, out) = evaluate("real_data", &["--bodies", "kinematic", "--sensor", "exact"]);
    let num = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);

    // Pedestrian tracks: methods are model, still, 3 least-squares windows, 3 Kalman filters.
    let scene = &r["scenes"][0];
    let test = &scene["test"];
    // Anchors at the annotations from 1.2 s (the first with a full window) to 10.8 s (the last with 1 s of
    // future), two tracks.
    assert_eq!(test["windows"].as_u64(), Some(2 * 25), "{test}");
    let ade: Vec<f64> = test["ade"].as_array().expect("ade").iter().map(num).collect();
    assert_eq!(ade.len(), 8);
    for m in 2..5 {
        assert!(ade[m] < 1e-9, "constant velocity is exact on a straight walk: {ade:?}");
    }
    for m in 5..8 {
        assert!(ade[m] < 0.02, "a Kalman filter tracks a straight walk: {ade:?}");
    }
    // Standing still misses the walker by the mean distance walked over 0.1 … 1 s (0.55 s), the stander by 0.
    assert!((ade[1] - WALK_SPEED * 0.55 / 2.0).abs() < 1e-9, "{ade:?}");
    let baseline = scene["baseline"].as_u64().expect("baseline") as usize;
    assert!((2..5).contains(&baseline), "an exact baseline is the best one: {baseline}");
    for key in ["bound_model_m", "covered_model", "bound_baseline_m", "covered_baseline"] {
        assert_eq!(scene[key].as_array().map(Vec::len), Some(10), "{key}");
    }
    assert!(num(&scene["bound_baseline_m"][9]).abs() < 1e-9, "an exact forecast needs no bound");
    // Intent calibration: every window at three robot placements; the stander shows `idle` in all of theirs, the
    // walker (1.2 m/s) in none; no hand-over can be seen in a track.
    let cal = &scene["calibration"];
    assert_eq!(cal["windows"].as_u64(), Some(3 * 50), "{cal}");
    assert!((num(&cal["shown"][0]) - 0.5).abs() < 1e-12, "{cal}");
    assert_eq!(num(&cal["shown"][3]), 0.0);
    let factor = num(&cal["factor"]);
    assert!((0.05..=50.0).contains(&factor), "{factor}");
    for key in ["ece", "ece_calibrated", "accuracy"] {
        assert!((0.0..=1.0).contains(&num(&cal[key])), "{key}: {cal}");
    }

    // Motion capture: methods are model, still, 3 least-squares windows; errors torso plane, torso 3-D,
    // wrists plane, wrists 3-D. Three robot placements; anchors at every 3rd frame with a full window (frames 30,
    // 33, …, 57: 30 frames of future left).
    let all = &r["mocap"]["pooled"][3];
    assert_eq!(all["windows"].as_u64(), Some(3 * 10), "{all}");
    for e in 0..4 {
        // Exact up to the file's 0.1 mm rounding.
        assert!(num(&all["ade"][2][e]) < 1e-4, "constant velocity is exact on a glide: {all}");
        assert!((num(&all["fde"][1][e]) - 1.0).abs() < 1e-9, "still misses by the 1 m glided in 1 s: {all}");
    }
    for plot in ["scenes", "lookahead", "bound", "reliability"] {
        let svg = std::fs::read_to_string(out.join(format!("r_{plot}.svg"))).expect("plot written");
        assert!(svg.starts_with("<svg"), "{plot}");
    }
    let md = std::fs::read_to_string(out.join("r.md")).expect("md");
    for heading in [
        "## Torso ADE / FDE",
        "## Real 3-D bodies",
        "## Forecast error bound",
        "## Intents against the intents geometry shows",
        "## Reproduce",
    ] {
        assert!(md.contains(heading), "{heading} missing:\n{md}");
    }
}

#[test]
fn real_gait_and_the_sensor_model_feed_the_model_and_the_baselines_noisy_hips() {
    let (r, _) = evaluate("real_data_gait", &[]);
    let input = r["input"].as_str().expect("input");
    assert!(input.contains("cmu_07_01") && input.contains("sensor model"), "{input}");
    let test = &r["scenes"][0]["test"];
    // The same anchors, less the few where the sensor model dropped a hip and the predictor made no forecast.
    let windows = test["windows"].as_u64().expect("windows");
    assert!((45..=50).contains(&windows), "{test}");
    let ade: Vec<f64> = test["ade"].as_array().expect("ade").iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect();
    // Noisy hips (1.5 cm per axis plus depth noise): constant velocity is no longer exact, but close; standing
    // still is still off by the distance walked (within the noise).
    for m in 2..5 {
        assert!(ade[m] > 1e-4 && ade[m] < 0.1, "constant velocity on noisy hips: {ade:?}");
    }
    assert!((ade[1] - WALK_SPEED * 0.55 / 2.0).abs() < 0.03, "{ade:?}");
}

#[test]
fn real_training_windows_have_the_fold_parts_labels_and_futures() {
    let root = scratch("real_data_export");
    make_data(&root);
    let out = root.join("export");
    let output = Command::new(env!("CARGO_BIN_EXE_export_real_data"))
        .args(["--data", &root.join("ethucy").to_string_lossy(), "--mocap", &root.join("mocap").to_string_lossy()])
        .args(["--fold", "walk", "--out", &out.to_string_lossy()])
        .output()
        .expect("export_real_data starts");
    assert!(output.status.success(), "export_real_data failed: {}", String::from_utf8_lossy(&output.stderr));
    let read = |split: &str, name: &str| std::fs::read(out.join(split).join(format!("{name}.npy"))).expect("npy");
    let labels = |split: &str| -> Vec<i64> {
        npyz::NpyFile::new(&read(split, "labels")[..]).expect("npy").into_vec().expect("i64")
    };
    let humans = |split: &str| -> Vec<i64> {
        npyz::NpyFile::new(&read(split, "human")[..]).expect("npy").into_vec().expect("i64")
    };
    // Every 12th frame (0.4 s) with a full window and 1 s of future, per track and robot position: train is
    // t < 8 s (frames 36, 48, …, 228: 17), val t ≥ 8 s up to 1 s before the end (frames 240 … 324: 8).
    for (split, per_track) in [("train", 17), ("val", 8)] {
        let (l, h) = (labels(split), humans(split));
        assert_eq!(l.len(), 2 * 3 * per_track, "{split}");
        // The stander (track 2) shows idle to every robot position, the walker never.
        assert!(l.iter().zip(&h).all(|(&l, &h)| (h == 2) == (l == 0)), "{split}: {l:?} {h:?}");
        let futures: Vec<f32> = npyz::NpyFile::new(&read(split, "futures")[..]).expect("npy").into_vec().expect("f32");
        assert_eq!(futures.len(), l.len() * 10 * 3 * 3);
        for (i, f) in futures.chunks(90).enumerate() {
            // The first torso step is within 0.1 s of walking (plus the noisy reference) of the window's reference
            // point; the stander's last is where they stand.
            let first = f[0].hypot(f[1]);
            assert!(first < 0.3, "{split} {i}: {first}");
            if h[i] == 2 {
                assert!(f[81].hypot(f[82]) < 0.1, "{split} {i}");
            }
        }
    }
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("train/meta.json")).expect("meta")).expect("json");
    assert_eq!(meta["export"]["fold"], "walk");
}
