//! Replacing one top-level field of a model card (the `metrics` block with the Rust evaluation's report, the
//! `temperature` and `training` after the real-data calibration), leaving every other byte of the card as it is
//! (the card holds the ONNX file's sha256, which does not change).

use intent_shared_control_core::model::ModelCard;
use serde_json::Value;

/// What the evaluation writes into `metrics.source`.
pub const RUST_EVALUATION_SOURCE: &str = "rust evaluation (evaluate_intent)";

/// Errors of [`replace_field`].
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

/// Returns `card_text` with its top-level `metrics` value replaced by `metrics`; see [`replace_field`].
pub fn replace_metrics(card_text: &str, metrics: &Value) -> Result<String, CardUpdateError> {
    replace_field(card_text, "metrics", metrics)
}

/// Returns `card_text` with its top-level field `key` replaced by `value` (pretty-printed, indented as a
/// top-level field). Every other field keeps its bytes; the result is checked to parse as a valid
/// [`ModelCard`] whose other fields equal the original's and whose `key` equals `value`.
pub fn replace_field(card_text: &str, key: &str, value: &Value) -> Result<String, CardUpdateError> {
    let original: Value = serde_json::from_str(card_text).map_err(|e| CardUpdateError::Structure(e.to_string()))?;
    if original.get(key).is_none() {
        return Err(CardUpdateError::Structure(format!("no top-level `{key}` field")));
    }
    let (start, end) = top_level_value_span(card_text, key)
        .ok_or_else(|| CardUpdateError::Structure(format!("`{key}` not found in the text")))?;
    let (pretty, written) = pretty_indented(value, "\n  ")?;
    let updated = format!("{}{}{}", &card_text[..start], pretty, &card_text[end..]);
    let mut expected = original;
    expected[key] = written;
    checked(updated, &expected, key)
}

/// `value` pretty-printed with every line after the first indented by `indent`, and what a reader of that text
/// gets back (float parsing may differ from `value` in the last bit).
fn pretty_indented(value: &Value, indent: &str) -> Result<(String, Value), CardUpdateError> {
    let pretty = serde_json::to_string_pretty(value).map_err(|e| CardUpdateError::Structure(e.to_string()))?;
    let written: Value = serde_json::from_str(&pretty).map_err(|e| CardUpdateError::Structure(e.to_string()))?;
    Ok((pretty.replace('\n', indent), written))
}

/// `updated` when it parses to `expected` and is a valid [`ModelCard`]; `what` names the changed field.
fn checked(updated: String, expected: &Value, what: &str) -> Result<String, CardUpdateError> {
    let parsed: Value = serde_json::from_str(&updated).map_err(|e| CardUpdateError::Invalid(e.to_string()))?;
    if &parsed != expected {
        return Err(CardUpdateError::Invalid(format!("the card differs from the original beyond {what}")));
    }
    ModelCard::from_json_str(&updated).map_err(|e| CardUpdateError::Invalid(e.to_string()))?;
    Ok(updated)
}

/// Returns `card_text` with the field `key` of the top-level object `parent` set to `value`: replaced where it
/// exists, appended as the object's last field otherwise (indented as a field of a top-level object). Every other
/// byte is kept; the result is checked to parse as a valid [`ModelCard`] that differs from the original only there.
pub fn set_nested_field(card_text: &str, parent: &str, key: &str, value: &Value) -> Result<String, CardUpdateError> {
    let original: Value = serde_json::from_str(card_text).map_err(|e| CardUpdateError::Structure(e.to_string()))?;
    let Some(Value::Object(siblings)) = original.get(parent) else {
        return Err(CardUpdateError::Structure(format!("no top-level object `{parent}`")));
    };
    let (start, end) = top_level_value_span(card_text, parent)
        .ok_or_else(|| CardUpdateError::Structure(format!("`{parent}` not found in the text")))?;
    let (pretty, written) = pretty_indented(value, "\n    ")?;
    let object = &card_text[start..end];
    let updated = if let Some((s, e)) = top_level_value_span(object, key) {
        format!("{}{}{}", &card_text[..start + s], pretty, &card_text[start + e..])
    } else {
        let body = object[..object.len() - 1].trim_end();
        let separator = if siblings.is_empty() { "" } else { "," };
        let name = serde_json::to_string(key).map_err(|e| CardUpdateError::Structure(e.to_string()))?;
        format!("{}{body}{separator}\n    {name}: {pretty}{}", &card_text[..start], &card_text[start + body.len()..])
    };
    let mut expected = original;
    expected[parent][key] = written;
    checked(updated, &expected, &format!("{parent}.{key}"))
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
    fn replaces_a_number_and_refuses_an_invalid_card() {
        let text = std::fs::read_to_string(CARD).expect("fixture card");
        let updated = replace_field(&text, "temperature", &serde_json::json!(2.46913)).expect("update");
        assert_eq!(ModelCard::from_json_str(&updated).expect("valid").temperature, 2.46913);
        assert!(text.contains("\"temperature\": 1.5,"));
        assert_eq!(updated.replacen("2.46913", "1.5", 1), text, "every other byte kept");
        assert!(replace_field(&text, "temperature", &serde_json::json!(-1.0)).is_err(), "a negative temperature");
        assert!(replace_field(&text, "no_such_field", &Value::Null).is_err());
    }

    #[test]
    fn nested_fields_are_replaced_or_appended_in_place() {
        let text = std::fs::read_to_string(CARD).expect("fixture card");
        let v: Value = serde_json::from_str(&text).expect("json");
        let (key, old) = v["training"].as_object().expect("training").iter().next().expect("a field");
        let replaced = set_nested_field(&text, "training", key, &serde_json::json!("new")).expect("replace");
        let r: Value = serde_json::from_str(&replaced).expect("json");
        assert_eq!(r["training"][key], "new");
        assert_ne!(old, &r["training"][key]);
        let appended =
            set_nested_field(&replaced, "training", "added", &serde_json::json!({"a": [1, 2]})).expect("add");
        let a: Value = serde_json::from_str(&appended).expect("json");
        assert_eq!(a["training"]["added"], serde_json::json!({"a": [1, 2]}));
        // Appending keeps the text before the new field and after the object.
        let (_, end) = top_level_value_span(&replaced, "training").expect("span");
        assert!(appended.ends_with(&replaced[end - 1..]), "{appended}");
        assert!(appended.contains("\n    \"added\": {\n      \"a\": ["), "{appended}");
        // Idempotent.
        let again = set_nested_field(&appended, "training", "added", &serde_json::json!({"a": [1, 2]})).expect("again");
        assert_eq!(again, appended);
        assert!(set_nested_field(&text, "temperature", "x", &Value::Null).is_err(), "not an object");
    }

    #[test]
    fn a_card_without_metrics_is_refused() {
        assert!(replace_metrics(r#"{"name": "x", "data": {"metrics": 1}}"#, &Value::Null).is_err());
    }
}
