use super::*;

/// A valid card, as JSON, for tests here and in submodules.
pub(crate) fn card_json() -> serde_json::Value {
    serde_json::json!({
        "name": "intent_gru", "version": "0.1.0", "onnx_file": "intent_model.onnx",
        "sha256": "0".repeat(64), "opset": 17, "labels": Intent::LABELS, "temperature": 1.5,
        "rate_hz": 30.0, "window": 30, "horizon_step_s": 0.1, "horizon_steps": 10,
        "predicted_points": PREDICTED_POINT_NAMES,
        "input": {"name": "pose_window", "shape": ["batch", 30, 71], "dtype": "float32"},
        "outputs": [
            {"name": "intent_logits", "shape": ["batch", 5], "dtype": "float32"},
            {"name": "future_positions", "shape": ["batch", 10, 3, 3], "dtype": "float32"}
        ],
        "feature_layout": {"keypoints": [0, 51], "torso": {"start": 51, "end": 54}, "visibility": [54, 71]},
        "normalisation": "torso_centred_bearing_aligned", "min_keypoint_confidence": 0.3,
        "data": {"seeds": [1, 2]}, "metrics": {}, "training": {"framework": "torch"}
    })
}

fn parse(v: &serde_json::Value) -> Result<ModelCard, CardError> {
    ModelCard::from_json_str(&v.to_string())
}

#[test]
fn valid_card_parses_and_round_trips() {
    let card = parse(&card_json()).expect("valid card");
    assert_eq!(card.temperature_f32(), 1.5);
    let again = parse(&serde_json::to_value(&card).expect("serialise")).expect("round trip");
    assert_eq!(card, again);
}

#[test]
fn unknown_and_missing_fields_are_errors() {
    let mut v = card_json();
    v["temprature"] = serde_json::json!(1.0);
    assert!(matches!(parse(&v), Err(CardError::Parse(m)) if m.contains("temprature")));
    let mut v = card_json();
    v.as_object_mut().map(|o| o.remove("sha256"));
    assert!(matches!(parse(&v), Err(CardError::Parse(m)) if m.contains("sha256")));
}

#[test]
fn contract_violations_name_the_field() {
    let cases: Vec<(&str, serde_json::Value, &str)> = vec![
        ("/window", serde_json::json!(29), "window"),
        ("/temperature", serde_json::json!(0.0), "temperature"),
        ("/sha256", serde_json::json!("ABC"), "sha256"),
        ("/labels", serde_json::json!(["idle", "pass_by", "approach_robot", "retreat", "reach_handover"]), "labels"),
        ("/input/shape", serde_json::json!(["batch", 30, 51]), "input.shape"),
        ("/input/name", serde_json::json!("pose"), "input.name"),
        ("/input/dtype", serde_json::json!("float64"), "input.dtype"),
        ("/outputs/1/shape", serde_json::json!(["batch", 10, 3]), "outputs[future_positions].shape"),
        ("/feature_layout/torso", serde_json::json!([52, 54]), "feature_layout.torso"),
        ("/normalisation", serde_json::json!("none"), "normalisation"),
        ("/min_keypoint_confidence", serde_json::json!(1.5), "min_keypoint_confidence"),
    ];
    for (pointer, value, field) in cases {
        let mut v = card_json();
        *v.pointer_mut(pointer).expect("pointer exists") = value;
        match parse(&v) {
            Err(CardError::Invalid { field: f, .. }) => assert_eq!(f, field, "{pointer}"),
            other => panic!("{pointer}: expected Invalid({field}), got {other:?}"),
        }
    }
}

fn window(fill: f32) -> Vec<f32> {
    vec![fill; WINDOW_LEN]
}

#[test]
fn input_screens_non_finite_rows() {
    let mut input = ModelInput::new();
    let mut bad = window(0.5);
    bad[3 * FEATURES_PER_FRAME + 7] = f32::NAN;
    let mut inf = window(0.5);
    inf[WINDOW_LEN - 1] = f32::INFINITY;
    assert_eq!(input.push_window(&window(0.1)).expect("ok"), 0);
    assert_eq!(input.push_window(&bad).expect("ok"), 1);
    assert_eq!(input.push_window(&inf).expect("ok"), 2);
    assert_eq!(input.push_window(&window(0.2)).expect("ok"), 3);
    assert_eq!((input.len(), input.valid_rows(), input.rejected_rows()), (4, 2, 2));
    assert_eq!(input.valid_data().len(), 2 * WINDOW_LEN);
    assert!(input.valid_data().iter().all(|v| v.is_finite()));
    assert_eq!(input.rejection(1), Some(RowRejection::NonFiniteInput { frame: 3, feature: 7 }));
    assert_eq!(
        input.rejection(2),
        Some(RowRejection::NonFiniteInput { frame: WINDOW_FRAMES - 1, feature: FEATURES_PER_FRAME - 1 })
    );
    assert!(matches!(input.push_window(&[0.0; 10]), Err(ModelError::WindowLength { got: 10, .. })));
    assert!(matches!(ModelInput::from_flat(&[0.0; WINDOW_LEN + 1]), Err(ModelError::BatchLength { .. })));
    input.clear();
    assert!(input.is_empty());
}

/// A backend that records what it was given and returns scripted outputs.
struct Scripted {
    info: ModelInfo,
    calls: Vec<usize>,
    logits: Vec<f32>,
    nan_future_row: Option<usize>,
}

impl IntentModel for Scripted {
    fn info(&self) -> &ModelInfo {
        &self.info
    }
    fn run_valid(&mut self, windows: &[f32], batch: usize, raw: &mut RawOutput) -> Result<(), ModelError> {
        assert!(windows.iter().all(|v| v.is_finite()), "non-finite input reached the backend");
        self.calls.push(batch);
        for _ in 0..batch {
            raw.logits.extend_from_slice(&self.logits);
        }
        raw.future.resize(batch * FUTURE_LEN, 0.25);
        if let Some(r) = self.nan_future_row {
            raw.future[r * FUTURE_LEN + 5] = f32::NAN;
        }
        Ok(())
    }
}

fn scripted(logits: Vec<f32>) -> Scripted {
    Scripted {
        info: ModelInfo {
            name: "s".into(),
            version: "1".into(),
            temperature: 2.0,
            provider: "none".into(),
            source: PredictionSource::Model,
        },
        calls: vec![],
        logits,
        nan_future_row: None,
    }
}

#[test]
fn predict_applies_temperature_and_keeps_row_order() {
    let mut m = scripted(vec![0.0, 2.0, 0.0, 0.0, 0.0]);
    let mut bad = window(0.0);
    bad[0] = f32::NEG_INFINITY;
    let input = ModelInput::from_flat(&[window(0.0), bad, window(1.0)].concat()).expect("input");
    let out = m.predict(&input).expect("predict");
    assert_eq!(m.calls, vec![2]);
    assert_eq!((out.predicted(), out.rejected_non_finite_input()), (2, 1));
    assert!(matches!(out.rows[1], Err(RowRejection::NonFiniteInput { frame: 0, feature: 0 })));
    let p = out.rows[0].as_ref().expect("row 0");
    // softmax([0, 1, 0, 0, 0]) with T = 2: e / (e + 4).
    let e = std::f32::consts::E;
    assert!((p.probabilities[1] - e / (e + 4.0)).abs() < 1e-6);
    assert!((p.probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    assert_eq!(p.intent, Intent::PassBy);
    assert_eq!(p.confidence, p.probabilities[1]);
    assert_eq!(p.future_point(9, 2), [0.25; 3]);
    let json = serde_json::to_string(p).expect("serialise");
    assert_eq!(&serde_json::from_str::<RowPrediction>(&json).expect("round trip"), p);
}

#[test]
fn all_rejected_never_calls_the_backend() {
    let mut m = scripted(vec![0.0; 5]);
    let mut bad = window(0.0);
    bad[100] = f32::NAN;
    let out = m.predict(&ModelInput::from_flat(&[bad.clone(), bad].concat()).expect("input")).expect("predict");
    assert!(m.calls.is_empty());
    assert_eq!((out.rejected_non_finite_input(), out.predicted()), (2, 0));
    let out = m.predict(&ModelInput::new()).expect("empty");
    assert!(m.calls.is_empty() && out.rows.is_empty());
}

#[test]
fn non_finite_outputs_are_rejected_per_row() {
    let mut m = scripted(vec![0.0; 5]);
    m.nan_future_row = Some(1);
    let out = m.predict(&ModelInput::from_flat(&[window(0.0), window(0.0)].concat()).expect("in")).expect("p");
    assert!(out.rows[0].is_ok());
    assert_eq!(out.rows[1], Err(RowRejection::NonFiniteOutput));
    assert_eq!((out.rejected_non_finite_output(), out.predicted(), out.rejected_non_finite_input()), (1, 1, 0));
    let mut m = scripted(vec![0.0, f32::NAN, 0.0, 0.0, 0.0]);
    let out = m.predict(&ModelInput::from_flat(&window(0.0)).expect("in")).expect("p");
    assert_eq!(out.rows[0], Err(RowRejection::NonFiniteOutput));
}

#[test]
fn wrong_backend_output_length_is_an_error() {
    struct Short(ModelInfo);
    impl IntentModel for Short {
        fn info(&self) -> &ModelInfo {
            &self.0
        }
        fn run_valid(&mut self, _: &[f32], batch: usize, raw: &mut RawOutput) -> Result<(), ModelError> {
            raw.logits.resize(batch * NUM_INTENTS, 0.0);
            raw.future.resize(batch * FUTURE_LEN - 1, 0.0);
            Ok(())
        }
    }
    let mut m = Short(scripted(vec![]).info);
    let err = m.predict(&ModelInput::from_flat(&window(0.0)).expect("in")).expect_err("short output");
    assert!(matches!(err, ModelError::OutputLength { output: FUTURE_NAME, .. }), "{err}");
}

#[test]
fn softmax_is_stable_and_refuses_bad_input() {
    let p = softmax_with_temperature(&[1000.0, 1000.0, -1000.0, 0.0, 0.0], 1.0).expect("finite");
    assert!((p[0] - 0.5).abs() < 1e-6 && (p[1] - 0.5).abs() < 1e-6);
    assert!(softmax_with_temperature(&[0.0; 5], 0.0).is_none());
    assert!(softmax_with_temperature(&[f32::NAN; 5], 1.0).is_none());
}

#[test]
fn intent_labels_round_trip() {
    for (i, intent) in Intent::ALL.iter().enumerate() {
        assert_eq!(intent.index(), i);
        assert_eq!(Intent::from_index(i), Some(*intent));
        assert_eq!(intent.label(), Intent::LABELS[i]);
    }
    assert_eq!(Intent::from_index(NUM_INTENTS), None);
}
