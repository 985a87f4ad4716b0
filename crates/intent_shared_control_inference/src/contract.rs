//! Checks a loaded model's inputs and outputs against the model card's tensor contract.

use intent_shared_control_core::model::{CardDim, ModelCard, TensorSpec};
use ort::value::{TensorElementType, ValueType};

/// A model input or output as ONNX Runtime reports it: name, element type (card spelling, e.g. `float32`) and
/// dimensions (`-1` for a dynamic axis).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorMeta {
    pub name: String,
    pub dtype: String,
    pub dims: Vec<i64>,
}

impl TensorMeta {
    /// From an ONNX Runtime outlet; non-tensor values get dtype `non-tensor`.
    pub fn from_outlet(outlet: &ort::value::Outlet) -> Self {
        let (dtype, dims) = match outlet.dtype() {
            ValueType::Tensor { ty, shape, .. } => (dtype_name(*ty), shape.to_vec()),
            other => (format!("non-tensor ({other})"), Vec::new()),
        };
        TensorMeta { name: outlet.name().to_string(), dtype, dims }
    }
}

fn dtype_name(ty: TensorElementType) -> String {
    match ty {
        TensorElementType::Float32 => "float32".into(),
        TensorElementType::Float64 => "float64".into(),
        TensorElementType::Float16 => "float16".into(),
        TensorElementType::Int64 => "int64".into(),
        TensorElementType::Int32 => "int32".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// Checks names, element types, ranks and dimensions of `inputs` / `outputs` against `card`.
///
/// A fixed dimension in the card must be that fixed size in the model, or dynamic (then the warm-up run checks
/// the actual size); the card's named (dynamic) batch axis must be dynamic in the model. Returns the first
/// problem found, in words.
pub fn check_contract(card: &ModelCard, inputs: &[TensorMeta], outputs: &[TensorMeta]) -> Result<(), String> {
    check_set("input", std::slice::from_ref(&card.input), inputs)?;
    check_set("output", &card.outputs, outputs)
}

/// [`check_contract`] on a loaded session's inputs and outputs; a mismatch is an
/// [`InferenceError::Contract`](crate::error::InferenceError::Contract) naming `model_path`.
pub fn check_session(
    card: &ModelCard,
    session: &ort::session::Session,
    model_path: &std::path::Path,
) -> Result<(), crate::error::InferenceError> {
    let inputs: Vec<TensorMeta> = session.inputs().iter().map(TensorMeta::from_outlet).collect();
    let outputs: Vec<TensorMeta> = session.outputs().iter().map(TensorMeta::from_outlet).collect();
    check_contract(card, &inputs, &outputs)
        .map_err(|problem| crate::error::InferenceError::Contract { path: model_path.to_path_buf(), problem })
}

fn check_set(kind: &str, specs: &[TensorSpec], actual: &[TensorMeta]) -> Result<(), String> {
    let names = |m: &[TensorMeta]| m.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
    for spec in specs {
        let Some(meta) = actual.iter().find(|m| m.name == spec.name) else {
            return Err(format!("the model has no {kind} `{}` (its {kind}s: {:?})", spec.name, names(actual)));
        };
        if meta.dtype != spec.dtype {
            return Err(format!("{kind} `{}` is {}, the card says {}", spec.name, meta.dtype, spec.dtype));
        }
        if meta.dims.len() != spec.shape.len() {
            return Err(format!(
                "{kind} `{}` has rank {} {:?}, the card says rank {}",
                spec.name,
                meta.dims.len(),
                meta.dims,
                spec.shape.len()
            ));
        }
        for (axis, (dim, want)) in meta.dims.iter().zip(&spec.shape).enumerate() {
            match want {
                CardDim::Fixed(n) if *dim >= 0 && *dim as u64 != *n => {
                    return Err(format!("{kind} `{}` axis {axis} is {dim}, the card says {n}", spec.name));
                }
                CardDim::Dynamic(axis_name) if *dim >= 0 => {
                    return Err(format!(
                        "{kind} `{}` axis {axis} is fixed at {dim}, the card says dynamic `{axis_name}`",
                        spec.name
                    ));
                }
                _ => {}
            }
        }
    }
    if let Some(extra) = actual.iter().find(|m| !specs.iter().any(|s| s.name == m.name)) {
        return Err(format!("the model has an {kind} `{}` that the card does not list", extra.name));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card() -> ModelCard {
        let json = include_str!("../../../tests/fixtures/model_tiny.card.json");
        ModelCard::from_json_str(json).expect("fixture card is valid")
    }

    fn meta(name: &str, dtype: &str, dims: &[i64]) -> TensorMeta {
        TensorMeta { name: name.into(), dtype: dtype.into(), dims: dims.to_vec() }
    }

    fn good() -> (Vec<TensorMeta>, Vec<TensorMeta>) {
        (
            vec![meta("pose_window", "float32", &[-1, 30, 71])],
            vec![meta("intent_logits", "float32", &[-1, 5]), meta("future_positions", "float32", &[-1, 10, 3, 3])],
        )
    }

    #[test]
    fn matching_model_passes() {
        let (i, o) = good();
        check_contract(&card(), &i, &o).expect("matches");
        // Dynamic where the card is fixed is left to the warm-up check.
        let o2 =
            vec![meta("intent_logits", "float32", &[-1, -1]), meta("future_positions", "float32", &[-1, 10, 3, 3])];
        check_contract(&card(), &i, &o2).expect("dynamic inner dims pass");
    }

    #[test]
    fn each_mismatch_is_reported() {
        type Mutation = Box<dyn Fn(&mut Vec<TensorMeta>, &mut Vec<TensorMeta>)>;
        let cases: Vec<(Mutation, &str)> = vec![
            (Box::new(|i, _| i[0].name = "pose".into()), "no input `pose_window`"),
            (Box::new(|i, _| i[0].dtype = "float64".into()), "is float64"),
            (Box::new(|i, _| i[0].dims = vec![-1, 29, 71]), "axis 1 is 29"),
            (Box::new(|i, _| i[0].dims = vec![-1, 2130]), "rank 2"),
            (Box::new(|i, _| i[0].dims = vec![1, 30, 71]), "fixed at 1"),
            (Box::new(|_, o| o[0].name = "logits".into()), "no output `intent_logits`"),
            (Box::new(|_, o| o[1].dims = vec![-1, 10, 3]), "rank 3"),
            (Box::new(|_, o| o.push(meta("extra", "float32", &[1]))), "`extra` that the card does not list"),
            (Box::new(|i, _| i.push(meta("mask", "float32", &[1]))), "`mask` that the card does not list"),
        ];
        for (mutate, needle) in cases {
            let (mut i, mut o) = good();
            mutate(&mut i, &mut o);
            let err = check_contract(&card(), &i, &o).expect_err(needle);
            assert!(err.contains(needle), "`{err}` should contain `{needle}`");
        }
    }
}
