//! Replacing the `metrics` block of a model card with the Rust evaluation's report, leaving every other byte
//! of the card as it is (the card holds the ONNX file's sha256, which does not change).

use intent_shared_control_core::model::ModelCard;
use serde_json::Value;

/// What the evaluation writes into `metrics.source`.
pub const RUST_EVALUATION_SOURCE: &str = "rust evaluation (evaluate_intent)";

/// Errors of [`replace_metrics`].
#[derive(Debug, thiserror::Error)]
pub enum CardUpdateError {
    /// The card is not a JSON object or has no top-level `metrics` field.
    #[error("card: {0}")]
    Structure(String),
    /// The updated card does not parse or fails the contract checks.
    #[error("updated card is invalid: {0}")]
    Invalid(String),
}

/// Byte range of the value of the top-level field `key` in the JSON object `text`.
fn top_level_value_span(text: &str, key: &str) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    // Skips a string starting at the quote at `at`; returns the index after the closing quote.
    let skip_string = |mut at: usize| -> Option<usize> {
        at += 1;
        while at < bytes.len() {
            match bytes[at] {
                b'\\' => at += 2,
                b'"' => return Some(at + 1),
                _ => at += 1,
            }
        }
        None
    };
    // Index after the value starting at `at` (object, array, string or scalar).
    let skip_value = |at: usize| -> Option<usize> {
        let mut d = 0usize;
        let mut j = at;
        while j < bytes.len() {
            match bytes[j] {
                b'"' => {
                    j = skip_string(j)?;
                    if d == 0 {
                        return Some(j);
                    }
                    continue;
                }
                b'{' | b'[' => d += 1,
                b'}' | b']' => {
                    if d == 0 {
                        return Some(j);
                    }
                    d -= 1;
                    if d == 0 {
                        return Some(j + 1);
                    }
                }
                b',' if d == 0 => return Some(j),
                _ => {}
            }
            j += 1;
        }
        None
    };
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let end = skip_string(i)?;
                if depth == 1 && &text[i + 1..end - 1] == key {
                    let mut j = end;
                    while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                        j += 1;
                    }
                    if bytes.get(j) == Some(&b':') {
                        j += 1;
                        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                            j += 1;
                        }
                        let stop = skip_value(j)?;
                        let mut value_end = stop;
                        while value_end > j && bytes[value_end - 1].is_ascii_whitespace() {
                            value_end -= 1;
                        }
                        return Some((j, value_end));
                    }
                }
                i = end;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Returns `card_text` with its top-level `metrics` value replaced by `metrics` (pretty-printed, indented as a
/// top-level field). Every other field keeps its bytes; the result is checked to parse as a valid
/// [`ModelCard`] whose other fields equal the original's and whose `metrics` equals `metrics`.
pub fn replace_metrics(card_text: &str, metrics: &Value) -> Result<String, CardUpdateError> {
    let original: Value = serde_json::from_str(card_text).map_err(|e| CardUpdateError::Structure(e.to_string()))?;
    if original.get("metrics").is_none() {
        return Err(CardUpdateError::Structure("no top-level `metrics` field".into()));
    }
    let (start, end) = top_level_value_span(card_text, "metrics")
        .ok_or_else(|| CardUpdateError::Structure("`metrics` not found in the text".into()))?;
    let pretty = serde_json::to_string_pretty(metrics).map_err(|e| CardUpdateError::Structure(e.to_string()))?;
    // What a reader of the written text gets (float parsing may differ from `metrics` in the last bit).
    let written: Value = serde_json::from_str(&pretty).map_err(|e| CardUpdateError::Structure(e.to_string()))?;
    let pretty = pretty.replace('\n', "\n  ");
    let updated = format!("{}{}{}", &card_text[..start], pretty, &card_text[end..]);

    let parsed: Value = serde_json::from_str(&updated).map_err(|e| CardUpdateError::Invalid(e.to_string()))?;
    let (Value::Object(mut a), Value::Object(mut b)) = (original, parsed) else {
        return Err(CardUpdateError::Structure("not a JSON object".into()));
    };
    if b.remove("metrics").as_ref() != Some(&written) {
        return Err(CardUpdateError::Invalid("metrics differ after the update".into()));
    }
    a.remove("metrics");
    if a != b {
        return Err(CardUpdateError::Invalid("fields other than metrics changed".into()));
    }
    ModelCard::from_json_str(&updated).map_err(|e| CardUpdateError::Invalid(e.to_string()))?;
    Ok(updated)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/model_tiny.card.json");

    #[test]
    fn replaces_only_the_metrics_block() {
        let text = std::fs::read_to_string(CARD).expect("fixture card");
        let metrics = serde_json::json!({"source": RUST_EVALUATION_SOURCE, "macro_f1": 0.5, "x": [1, {"y": "}\""}]});
        let updated = replace_metrics(&text, &metrics).expect("update");
        let v: Value = serde_json::from_str(&updated).expect("json");
        assert_eq!(v["metrics"], metrics);
        let (s, e) = top_level_value_span(&text, "metrics").expect("span");
        let (s2, e2) = top_level_value_span(&updated, "metrics").expect("span");
        assert_eq!(&text[..s], &updated[..s2]);
        assert_eq!(&text[e..], &updated[e2..]);
        // Idempotent.
        assert_eq!(replace_metrics(&updated, &metrics).expect("again"), updated);
    }

    #[test]
    fn a_card_without_metrics_is_refused() {
        assert!(replace_metrics(r#"{"name": "x", "data": {"metrics": 1}}"#, &Value::Null).is_err());
    }
}
