//! The real-data evaluation's report: the numbers per scene, motion-capture group and calibration, as JSON,
//! markdown and SVG plots (what `evaluate_real` writes).

use std::fmt::Write as _;
use std::path::PathBuf;

use intent_shared_control_core::model::{Intent, NUM_INTENTS};
use intent_shared_control_inference::machine::MachineInfo;
use serde::Serialize;

use super::calibration;
use super::mocap::{self, ClipAnchor, ERRORS, PLACEMENTS};
use super::plots::{self, Series};
use super::{Anchor, BANDS, GEOMETRIES, KF_Q, METHODS, STEPS, STEP_S};

/// Where the report goes and the command that reproduces it.
pub struct Output {
    pub out_dir: PathBuf,
    pub stem: String,
    /// The command line written under "Reproduce".
    pub reproduce: String,
}

/// ADE / FDE of one group of windows per method.
#[derive(Serialize)]
pub struct Errors {
    pub windows: usize,
    /// Per method of [`METHODS`]: mean ADE, mean FDE \[m\].
    pub ade: Vec<f64>,
    pub fde: Vec<f64>,
    /// Per method: mean error per look-ahead step \[m\].
    pub step: Vec<[f64; STEPS]>,
}

pub fn errors<'a>(anchors: impl Iterator<Item = &'a Anchor>) -> Errors {
    let m = METHODS.len();
    let (mut n, mut ade, mut fde, mut step) = (0usize, vec![0.0; m], vec![0.0; m], vec![[0.0; STEPS]; m]);
    for a in anchors {
        n += 1;
        for i in 0..m {
            ade[i] += a.ade[i];
            fde[i] += a.fde[i];
            for (sum, e) in step[i].iter_mut().zip(&a.step_error[i]) {
                *sum += e;
            }
        }
    }
    let mean = |x: f64| if n == 0 { f64::NAN } else { x / n as f64 };
    let div = |v: Vec<f64>| v.into_iter().map(mean).collect();
    Errors { windows: n, ade: div(ade), fde: div(fde), step: step.into_iter().map(|s| s.map(mean)).collect() }
}

#[derive(Serialize)]
pub struct SceneResult {
    pub scene: String,
    /// Baselines chosen on the validation split (indices into [`METHODS`]): the best least-squares constant
    /// velocity, the best Kalman filter, and the best of all baselines (the one the model is judged against).
    pub cv_ls: usize,
    pub kalman: usize,
    pub baseline: usize,
    pub test: Errors,
    pub by_band: Vec<Errors>,
    pub by_geometry: Vec<Errors>,
    pub starting: Errors,
    /// Per look-ahead step: the `coverage` quantile of (forecast − true distance to the robot) on the validation
    /// split, and the share of held-out windows it covers; model and the chosen baseline.
    pub bound_model_m: Vec<f64>,
    pub covered_model: Vec<f64>,
    pub bound_baseline_m: Vec<f64>,
    pub covered_baseline: Vec<f64>,
    pub mean_confidence: f64,
    pub confident_share: f64,
    pub label_changes: f64,
    /// Intent calibration against the geometric labels, all robot placements.
    pub calibration: Calibration,
}

/// The model's intents against the intents shown by geometry ([`calibration::geometric_intent`]).
#[derive(Serialize)]
pub struct Calibration {
    pub windows: usize,
    /// Temperature factor fitted on the validation split (1: the card's calibration kept).
    pub factor: f64,
    /// Share of windows whose most probable intent is the shown one.
    pub accuracy: f64,
    /// Expected calibration error (10 bins) with the card's temperature, and with the factor applied.
    pub ece: f64,
    pub ece_calibrated: f64,
    /// Mean top probability, raw and calibrated.
    pub mean_confidence: f64,
    pub mean_confidence_calibrated: f64,
    /// Share of windows per intent (in `Intent::ALL` order): shown by geometry, predicted by the model.
    pub shown: [f64; NUM_INTENTS],
    pub predicted: [f64; NUM_INTENTS],
    /// Windows 0.4 s apart whose shown intent stays the same: share where the model's label changes.
    pub changes_outside_true_changes: f64,
    /// The same for the shown intent itself delayed by one window (a labeller that is right 0.4 s late): how much
    /// of `changes_outside_true_changes` timing alone gives.
    pub delayed_shown_changes: f64,
    /// Settled pairs of windows 0.4 s apart ([`calibration::settled`]: the shown intent the same from 1.2 s before
    /// the first to 1.2 s after the second): their number and the share where the model's label changes.
    pub settled_pairs: usize,
    pub changes_where_settled: f64,
    /// Reliability diagrams (10 bins), raw and calibrated.
    pub reliability: Vec<calibration::Bin>,
    pub reliability_calibrated: Vec<calibration::Bin>,
}

pub fn calibrate(val: &[&Anchor], test: &[&Anchor], pairs: &[(&Anchor, &Anchor)]) -> Calibration {
    let samples: Vec<([f32; NUM_INTENTS], usize)> = val.iter().map(|a| (a.probabilities, a.shown)).collect();
    let factor = calibration::fit_factor(&samples);
    let raw: Vec<(f64, bool)> = test.iter().map(|a| (f64::from(a.confidence), a.label == a.shown)).collect();
    let calibrated: Vec<(f64, bool)> = test
        .iter()
        .map(|a| {
            let p = calibration::retemper(&a.probabilities, factor);
            let top = calibration::argmax(&p);
            (p[top], top == a.shown)
        })
        .collect();
    let (reliability, ece) = calibration::reliability(&raw, 10).unwrap_or_default();
    let (reliability_calibrated, ece_calibrated) = calibration::reliability(&calibrated, 10).unwrap_or_default();
    let n = test.len().max(1) as f64;
    let share = |f: &dyn Fn(&Anchor) -> usize| -> [f64; NUM_INTENTS] {
        std::array::from_fn(|i| test.iter().filter(|a| f(a) == i).count() as f64 / n)
    };
    let same_shown: Vec<&(&Anchor, &Anchor)> = pairs.iter().filter(|(a, b)| a.shown == b.shown).collect();
    let settled: Vec<&(&Anchor, &Anchor)> = pairs.iter().filter(|(_, b)| b.settled).collect();
    let rate = |of: &[&(&Anchor, &Anchor)], changed: &dyn Fn(&Anchor, &Anchor) -> bool| {
        of.iter().filter(|(a, b)| changed(a, b)).count() as f64 / of.len().max(1) as f64
    };
    Calibration {
        windows: test.len(),
        factor,
        accuracy: raw.iter().filter(|(_, ok)| *ok).count() as f64 / n,
        ece,
        ece_calibrated,
        mean_confidence: raw.iter().map(|r| r.0).sum::<f64>() / n,
        mean_confidence_calibrated: calibrated.iter().map(|r| r.0).sum::<f64>() / n,
        shown: share(&|a| a.shown),
        predicted: share(&|a| a.label),
        changes_outside_true_changes: rate(&same_shown, &|a, b| a.label != b.label),
        delayed_shown_changes: rate(&same_shown, &|a, _| a.previous_shown.is_some_and(|s| s != a.shown)),
        settled_pairs: settled.len(),
        changes_where_settled: rate(&settled, &|a, b| a.label != b.label),
        reliability,
        reliability_calibrated,
    }
}

/// ADE / FDE per method of [`mocap::METHODS`] and error kind of [`ERRORS`].
#[derive(Serialize)]
pub struct MocapErrors {
    pub windows: usize,
    pub ade: Vec<[f64; 4]>,
    pub fde: Vec<[f64; 4]>,
}

pub fn mocap_errors<'a>(anchors: impl Iterator<Item = &'a ClipAnchor>) -> MocapErrors {
    let m = mocap::METHODS.len();
    let (mut n, mut ade, mut fde) = (0usize, vec![[0.0; 4]; m], vec![[0.0; 4]; m]);
    for a in anchors {
        n += 1;
        for i in 0..m {
            for e in 0..4 {
                ade[i][e] += a.ade[i][e];
                fde[i][e] += a.fde[i][e];
            }
        }
    }
    let div =
        |v: Vec<[f64; 4]>| v.into_iter().map(|x| x.map(|x| if n == 0 { f64::NAN } else { x / n as f64 })).collect();
    MocapErrors { windows: n, ade: div(ade), fde: div(fde) }
}

#[derive(Serialize)]
pub struct MocapClip {
    pub clip: String,
    pub description: String,
    pub errors: MocapErrors,
}

#[derive(Serialize)]
pub struct MocapResult {
    /// Per error kind, the baseline (index into [`mocap::METHODS`]) with the lowest ADE over all clips.
    pub baseline: [usize; 4],
    /// One per placement of [`PLACEMENTS`], then all windows, then all windows of the clips outside the gait
    /// library ([`super::gait::is_library_clip`]: bodies for the real tracks are made from those).
    pub pooled: Vec<MocapErrors>,
    pub clips: Vec<MocapClip>,
}

#[derive(Serialize)]
pub struct Report {
    pub model: String,
    /// How the model's input was made from the tracks: the body around each track and the sensor model.
    pub input: String,
    /// The real data the model was trained on (the card's `data.real.train` parts), if any.
    pub real_training: Option<String>,
    pub coverage: f64,
    /// The separation monitor's margin on a forecast per step: `prediction_uncertainty_rate · τ_k` \[m\].
    pub chain_margin_m: Vec<f64>,
    pub scenes: Vec<SceneResult>,
    pub mocap: MocapResult,
    pub wall_s: f64,
    pub machine: MachineInfo,
}

/// `<stem>_{scenes,lookahead,bound}.svg` beside the report.
pub fn plot(r: &Report, o: &Output) -> anyhow::Result<()> {
    let path = |name: &str| o.out_dir.join(format!("{}_{name}.svg", o.stem));
    let weighted = |f: &dyn Fn(&SceneResult) -> f64| -> f64 {
        let n: f64 = r.scenes.iter().map(|sc| sc.test.windows as f64).sum();
        r.scenes.iter().map(|sc| f(sc) * sc.test.windows as f64).sum::<f64>() / n
    };
    let mut bars: Vec<(String, f64)> =
        r.scenes.iter().map(|sc| (sc.scene.clone(), sc.test.ade[0] / sc.test.ade[sc.baseline])).collect();
    bars.push(("pooled".into(), weighted(&|sc| sc.test.ade[0]) / weighted(&|sc| sc.test.ade[sc.baseline])));
    plots::bars(
        &path("scenes"),
        "Model ÷ best baseline, torso ADE over 1 s, held-out ETH/UCY scenes",
        "ratio",
        &bars,
        &[(1.0, "as good as the baseline"), (0.85, "target (pooled)")],
    )?;
    let xs: Vec<f64> = (1..=STEPS).map(|k| k as f64 * STEP_S).collect();
    let pooled =
        |f: &dyn Fn(&SceneResult, usize) -> f64| -> Vec<f64> { (0..STEPS).map(|k| weighted(&|sc| f(sc, k))).collect() };
    plots::lines(
        &path("lookahead"),
        "Torso error by look-ahead, ground plane, held-out ETH/UCY windows",
        "look-ahead [s]",
        "mean error [m]",
        &xs,
        &[
            Series { name: "model".into(), values: pooled(&|sc, k| sc.test.step[0][k]), thin: false },
            Series {
                name: "best baseline (per scene)".into(),
                values: pooled(&|sc, k| sc.test.step[sc.baseline][k]),
                thin: false,
            },
            Series { name: "standing still".into(), values: pooled(&|sc, k| sc.test.step[1][k]), thin: true },
        ],
    )?;
    let pooled_bins = |f: &dyn Fn(&SceneResult) -> &Vec<calibration::Bin>| -> Vec<f64> {
        (0..10)
            .map(|b| {
                let (mut n, mut hits) = (0.0, 0.0);
                for sc in &r.scenes {
                    if let Some(bin) = f(sc).get(b) {
                        n += bin.count as f64;
                        hits += bin.accuracy * bin.count as f64;
                    }
                }
                if n > 0.0 {
                    hits / n
                } else {
                    f64::NAN
                }
            })
            .collect()
    };
    let centres: Vec<f64> = (0..10).map(|b| (b as f64 + 0.5) / 10.0).collect();
    plots::lines(
        &path("reliability"),
        "Reliability on held-out ETH/UCY scenes: accuracy against the intent shown, by confidence",
        "confidence (bin centre)",
        "accuracy",
        &centres,
        &[
            Series {
                name: "card's temperature".into(),
                values: pooled_bins(&|sc| &sc.calibration.reliability),
                thin: false,
            },
            Series {
                name: "re-fitted on validation".into(),
                values: pooled_bins(&|sc| &sc.calibration.reliability_calibrated),
                thin: false,
            },
            Series { name: "perfect calibration".into(), values: centres.clone(), thin: true },
        ],
    )?;
    let mut series: Vec<Series> = r
        .scenes
        .iter()
        .map(|sc| Series { name: format!("model, {}", sc.scene), values: sc.bound_model_m.clone(), thin: false })
        .collect();
    series.push(Series {
        name: "separation monitor's forecast margin".into(),
        values: r.chain_margin_m.clone(),
        thin: true,
    });
    plots::lines(
        &path("bound"),
        &format!("{:.1} % bound of (forecast − true distance to the robot)", 100.0 * r.coverage),
        "look-ahead [s]",
        "bound [m]",
        &xs,
        &series,
    )
}

pub fn markdown(r: &Report, o: &Output) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# The intent model on real people (ETH/UCY tracks, CMU motion capture)\n");
    let _ = writeln!(
        s,
        "Model: {}. Method: `intent_shared_control_tools::real_eval` (a body around each real track, a virtual robot at \
         the centre of the recording, the product's feature pipeline and predictor at 30 Hz, a forecast at every \
         annotation time with a full window and 1 s of future). Input: {}. Ground-plane torso errors against the track, \
         each scene's leave-one-scene-out **test** split; the baselines (`cv*`: least-squares constant velocity over \
         0.2 / 0.4 / 0.8 s; `kf*`: constant-velocity Kalman filter, over the last 2 s of the observed torso at 30 Hz with the \
         sensor model and over the 2.5 Hz annotations on clean tracks, process noise {:?} m²/s³; `best`: the best baseline of all, standing still included) see the torso the model sees, and they and \
         the error bound are chosen on the scene's validation split. {}\n",
        r.model,
        r.input,
        KF_Q,
        match &r.real_training {
            None => "The model was trained on the scenario generator only: every scene is held out.".to_string(),
            Some(parts) => format!(
                "**The model was trained on real tracks too** ({parts}): the scenes below are not held out, so \
                 these numbers describe the fit, not how it does on new people; that is \
                 `reports/real_data_loso.md` (one model per held-out scene, the same recipe)."
            ),
        }
    );
    let ratio = |e: &Errors, m: usize| e.ade[0] / e.ade[m];
    let _ = writeln!(
        s,
        "Plots: [per scene]({0}_scenes.svg), [by look-ahead]({0}_lookahead.svg), [error bound]({0}_bound.svg).\n",
        o.stem
    );
    let _ = writeln!(s, "## Torso ADE / FDE at 1 s, ground plane [m]\n");
    let _ = writeln!(
        s,
        "| scene | windows | still | cv* | kf* | model | best baseline | model ÷ best ADE | model ÷ best FDE |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---|---:|---:|");
    let mut ratios = Vec::new();
    for sc in &r.scenes {
        let e = &sc.test;
        ratios.push(ratio(e, sc.baseline));
        let cell = |m: usize| format!("{:.3} / {:.3}", e.ade[m], e.fde[m]);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} ({}) | {} ({}) | {} | {} | {:.2} | {:.2} |",
            sc.scene,
            e.windows,
            cell(1),
            cell(sc.cv_ls),
            METHODS[sc.cv_ls],
            cell(sc.kalman),
            METHODS[sc.kalman],
            cell(0),
            METHODS[sc.baseline],
            ratio(e, sc.baseline),
            e.fde[0] / e.fde[sc.baseline]
        );
    }
    let pooled_model: f64 = r.scenes.iter().map(|sc| sc.test.ade[0] * sc.test.windows as f64).sum();
    let pooled_best: f64 = r.scenes.iter().map(|sc| sc.test.ade[sc.baseline] * sc.test.windows as f64).sum();
    let _ = writeln!(
        s,
        "\nModel ÷ best baseline ADE: mean of scenes {:.2}, pooled over all held-out windows {:.2} (target ≤ 0.85 pooled \
         and ≤ 1.0 on every scene).\n",
        ratios.iter().sum::<f64>() / ratios.len().max(1) as f64,
        pooled_model / pooled_best
    );
    let group_table = |s: &mut String, title: &str, names: &[&str], groups: &dyn Fn(&SceneResult) -> Vec<&Errors>| {
        let _ = writeln!(s, "## Model ÷ best baseline, torso ADE {title} (windows)\n");
        let _ = writeln!(s, "| scene | {} |", names.join(" | "));
        let _ = writeln!(s, "|---|{}", "---:|".repeat(names.len()));
        for sc in &r.scenes {
            let cells: Vec<String> = groups(sc)
                .iter()
                .map(|e| {
                    if e.windows == 0 {
                        "–".into()
                    } else {
                        format!("{:.2} ({})", ratio(e, sc.baseline), e.windows)
                    }
                })
                .collect();
            let _ = writeln!(s, "| {} | {} |", sc.scene, cells.join(" | "));
        }
        let _ = writeln!(s);
    };
    group_table(&mut s, "by speed band", &BANDS, &|sc| sc.by_band.iter().collect());
    group_table(&mut s, "by geometry (heading vs the direction to the robot)", &GEOMETRIES, &|sc| {
        sc.by_geometry.iter().collect()
    });
    group_table(&mut s, "for people starting to walk", &["starting"], &|sc| vec![&sc.starting]);
    let _ = writeln!(
        s,
        "Bands: standing < 0.2, slow 0.2–0.8, normal 0.8–1.6, fast ≥ 1.6 m/s (observed displacement over the window). \
         Geometry: toward (cos > 0.5 between the observed motion and the direction to the robot), away (< −0.5), \
         passing (between). Starting: standing, and ≥ 0.5 m away 1 s later.\n"
    );
    mocap_markdown(&mut s, &r.mocap);
    let _ = writeln!(s, "## Forecast error bound toward the robot [m]\n");
    let _ = writeln!(
        s,
        "Per look-ahead step: the {:.1} % quantile of (forecast − true distance to the robot) on the validation split \
         (split conformal), and in brackets the share of held-out windows it covers. A positive bound means the person can \
         be that much closer than forecast. `chain` is the margin the separation monitor adds to a forecast today \
         (`prediction_uncertainty_rate · τ`).\n",
        100.0 * r.coverage
    );
    let steps: Vec<String> = (1..=STEPS).map(|k| format!("{:.1} s", k as f64 * STEP_S)).collect();
    let _ = writeln!(s, "| scene | forecast | {} |", steps.join(" | "));
    let _ = writeln!(s, "|---|---|{}", "---:|".repeat(STEPS));
    for sc in &r.scenes {
        for (name, b, c) in [
            ("model", &sc.bound_model_m, &sc.covered_model),
            (METHODS[sc.baseline], &sc.bound_baseline_m, &sc.covered_baseline),
        ] {
            let cells: Vec<String> = b.iter().zip(c).map(|(q, cov)| format!("{q:.3} ({:.1} %)", 100.0 * cov)).collect();
            let _ = writeln!(s, "| {} | {name} | {} |", sc.scene, cells.join(" | "));
        }
    }
    let margins: Vec<String> = r.chain_margin_m.iter().map(|m| format!("{m:.3}")).collect();
    let _ = writeln!(s, "| all | chain | {} |\n", margins.join(" | "));
    let _ = writeln!(s, "## Intent confidence on real tracks\n");
    let _ = writeln!(s, "| scene | mean top probability | windows ≥ 0.9 | label changes between windows 0.4 s apart |");
    let _ = writeln!(s, "|---|---:|---:|---:|");
    for sc in &r.scenes {
        let _ = writeln!(
            s,
            "| {} | {:.2} | {:.1} % | {:.1} % |",
            sc.scene,
            sc.mean_confidence,
            100.0 * sc.confident_share,
            100.0 * sc.label_changes
        );
    }
    calibration_markdown(&mut s, r, o);
    let _ = writeln!(s, "\n## Reproduce\n\n```");
    let _ = writeln!(s, "{}", o.reproduce);
    let _ = writeln!(s, "```\n\nMachine: {}. Wall time {:.1} s.", r.machine.describe(), r.wall_s);
    s
}

fn calibration_markdown(s: &mut String, r: &Report, o: &Output) {
    let _ = writeln!(s, "\n## Intents against the intents geometry shows\n");
    let _ = writeln!(
        s,
        "`intent_shared_control_tools::real_eval::calibration`: each window is labelled with the intent the person shows \
         toward the robot from where they were 1 s before and are 1 s after (standing → idle; walking at the robot and \
         ending within 6.5 m → approach; walking away from within 3 m → retreat; other walking → pass-by; a hand-over \
         cannot be seen in a 2-D track), with the robot at three places per recording (the centre, and halfway to two \
         corners). The temperature factor `s` (probabilities `softmax(z / (T·s))`) is fitted on each scene's validation \
         split; ECE over 10 bins on the held-out scene. [Reliability diagram]({}_reliability.svg).\n",
        o.stem
    );
    let _ = writeln!(
        s,
        "| scene | windows | accuracy | ECE | s | ECE with s | mean confidence (with s) | label changes where the shown \
         intent stays (the shown intent 0.4 s late) | label changes in settled pairs (pairs) |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for sc in &r.scenes {
        let c = &sc.calibration;
        let _ = writeln!(
            s,
            "| {} | {} | {:.1} % | {:.3} | {:.2} | {:.3} | {:.2} ({:.2}) | {:.1} % ({:.1} %) | {:.1} % ({}) |",
            sc.scene,
            c.windows,
            100.0 * c.accuracy,
            c.ece,
            c.factor,
            c.ece_calibrated,
            c.mean_confidence,
            c.mean_confidence_calibrated,
            100.0 * c.changes_outside_true_changes,
            100.0 * c.delayed_shown_changes,
            100.0 * c.changes_where_settled,
            c.settled_pairs
        );
    }
    let _ = writeln!(
        s,
        "\nLabel changes are counted between consecutive windows 0.4 s apart of one track and robot place. \
         \"Where the shown intent stays\" counts every pair whose two shown intents agree; but the shown intent is \
         judged from 1 s before to 1 s after a window, so it changes up to 1 s before the motion that changes it \
         can be seen, and a forecaster's label follows after it: in brackets, the shown intent itself delayed by one \
         window scores that many changes on the same pairs. \"Settled\" pairs have the same shown intent from \
         1.2 s before the first window to 1.2 s after the second (`real_eval::calibration::settled`); a label \
         change there is one while the intent stays, which is what the target asks about."
    );
    let names = Intent::LABELS;
    let _ = writeln!(s, "\nShare of windows per intent, shown by geometry / predicted by the model:\n");
    let _ = writeln!(s, "| scene | {} |", names.join(" | "));
    let _ = writeln!(s, "|---|{}", "---:|".repeat(names.len()));
    for sc in &r.scenes {
        let c = &sc.calibration;
        let cells: Vec<String> =
            (0..NUM_INTENTS).map(|i| format!("{:.1} / {:.1} %", 100.0 * c.shown[i], 100.0 * c.predicted[i])).collect();
        let _ = writeln!(s, "| {} | {} |", sc.scene, cells.join(" | "));
    }
    let _ = writeln!(
        s,
        "\nTargets: ECE ≤ 0.05 on real data; label changes between windows 0.4 s apart ≤ 5 % outside true intent changes \
         (settled pairs)."
    );
}

fn mocap_markdown(s: &mut String, m: &MocapResult) {
    let _ = writeln!(s, "## Real 3-D bodies: CMU motion capture\n");
    let _ = writeln!(
        s,
        "`intent_shared_control_tools::real_eval::mocap`: {} clips (walks at several speeds, a jog, starts and stops, \
         turns, bending and lifting), a virtual robot ahead of, beside and behind each walk, a forecast every 0.1 s. \
         ADE / FDE at 1 s [m]; `cv*` is the constant-velocity window with the lowest ADE over all clips (chosen on \
         these data, which favours the baseline).\n",
        m.clips.len()
    );
    let _ = writeln!(s, "| error | robot | windows | still | cv* | model | model ÷ cv* ADE | model ÷ cv* FDE |");
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|");
    for (e, name) in ERRORS.iter().enumerate() {
        let b = m.baseline[e];
        for (p, errs) in m.pooled.iter().enumerate() {
            let robot = match p {
                p if p < PLACEMENTS.len() => PLACEMENTS[p],
                p if p == PLACEMENTS.len() => "all",
                _ => "all, clips outside the gait library",
            };
            let cell = |i: usize| format!("{:.3} / {:.3}", errs.ade[i][e], errs.fde[i][e]);
            let _ = writeln!(
                s,
                "| {name} | {robot} | {} | {} | {} ({}) | {} | {:.2} | {:.2} |",
                errs.windows,
                cell(1),
                cell(b),
                mocap::METHODS[b],
                cell(0),
                errs.ade[0][e] / errs.ade[b][e],
                errs.fde[0][e] / errs.fde[b][e]
            );
        }
    }
    let _ = writeln!(
        s,
        "\nPer clip, model ÷ the clip's own best baseline ADE (all placements; still or a constant-velocity window, \
         whichever is best on that clip):\n"
    );
    let _ = writeln!(s, "| clip | motion | windows | {} |", ERRORS.join(" | "));
    let _ = writeln!(s, "|---|---|---:|{}", "---:|".repeat(ERRORS.len()));
    for c in &m.clips {
        let cells: Vec<String> = (0..ERRORS.len())
            .map(|e| {
                let ade = &c.errors.ade;
                let b = (1..mocap::METHODS.len()).min_by(|&x, &y| ade[x][e].total_cmp(&ade[y][e])).unwrap_or(1);
                if c.errors.windows == 0 {
                    "–".into()
                } else {
                    format!("{:.2}", c.errors.ade[0][e] / c.errors.ade[b][e])
                }
            })
            .collect();
        let library = if super::gait::is_library_clip(&c.clip) { " (gait library)" } else { "" };
        let _ =
            writeln!(s, "| {} | {}{library} | {} | {} |", c.clip, c.description, c.errors.windows, cells.join(" | "));
    }
    let _ = writeln!(s);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One piece's windows with the given shown intents and model labels (confidence 0.9 on the label), linked
    /// as `evaluate_recording` links them.
    fn piece(shown: &[usize], labels: &[usize]) -> Vec<Anchor> {
        let settled = calibration::settled(shown);
        (0..shown.len())
            .map(|i| {
                let mut probabilities = [0.025_f32; NUM_INTENTS];
                probabilities[labels[i]] = 0.9;
                Anchor {
                    placement: 0,
                    val: false,
                    speed: 1.0,
                    geometry: 2,
                    starting: false,
                    ade: Vec::new(),
                    fde: Vec::new(),
                    step_error: Vec::new(),
                    closer: Vec::new(),
                    confidence: 0.9,
                    label: labels[i],
                    probabilities,
                    shown: shown[i],
                    previous: i.checked_sub(1),
                    settled: settled[i],
                    previous_shown: i.checked_sub(1).map(|j| shown[j]),
                }
            })
            .collect()
    }

    fn pairs(all: &[Anchor]) -> Vec<(&Anchor, &Anchor)> {
        all.iter().filter_map(|a| a.previous.map(|i| (&all[i], a))).collect()
    }

    #[test]
    fn a_label_that_follows_the_shown_intent_late_changes_only_outside_settled_pairs() {
        // Idle for 4 s, then walking past for 4 s, twice; the model says so one window (0.4 s) late.
        let shown: Vec<usize> = (0..40).map(|i| usize::from((i / 10) % 2 == 1)).collect();
        let late: Vec<usize> = (0..40_usize).map(|i| shown[i.saturating_sub(1)]).collect();
        let all = piece(&shown, &late);
        let c = calibrate(&[], &all.iter().collect::<Vec<_>>(), &pairs(&all));
        // Every one of its three changes falls in a pair whose own shown intents agree...
        assert!((c.changes_outside_true_changes - 3.0 / 36.0).abs() < 1e-12, "{}", c.changes_outside_true_changes);
        assert!((c.delayed_shown_changes - c.changes_outside_true_changes).abs() < 1e-12);
        // ...and none in a settled one.
        assert_eq!(c.changes_where_settled, 0.0);
        // Each change of the shown intent unsettles the 7 pairs within 1.2 s of it.
        assert_eq!(c.settled_pairs, 39 - 3 * 7);
    }

    #[test]
    fn a_label_that_flickers_while_the_intent_stays_counts_in_settled_pairs() {
        // Walking past throughout; the model says idle at every fifth window.
        let shown = vec![1; 40];
        let flicker: Vec<usize> = (0..40).map(|i| usize::from(i % 5 != 0)).collect();
        let all = piece(&shown, &flicker);
        let c = calibrate(&[], &all.iter().collect::<Vec<_>>(), &pairs(&all));
        // Changes into and out of each idle window: 15 of the 39 pairs, all settled.
        assert_eq!(c.settled_pairs, 39);
        assert!((c.changes_where_settled - 15.0 / 39.0).abs() < 1e-12, "{}", c.changes_where_settled);
        assert_eq!(c.changes_outside_true_changes, c.changes_where_settled);
    }
}
