//! Loading the model from its card: the one way every program (the `intent_predictor` node, bag replay, the
//! simulator, the evaluation and the benchmark) loads the shipped model, and the one default for where the
//! ONNX Runtime library is.

use std::path::{Path, PathBuf};

use crate::error::InferenceError;
use crate::ort_model::{load_card, model_path_for_card, ActiveProvider, OrtIntentModel, OrtModelConfig};
use crate::runtime::OrtRuntime;

/// File name of the ONNX Runtime library this build is made for (`ort`'s `api-31`).
pub const ORT_LIBRARY_NAME: &str = "libonnxruntime.so.1.31.1";

/// Environment variable naming the ONNX Runtime library (`.setup/env.sh` and the Docker image set it).
pub const ORT_LIBRARY_ENV: &str = "ISC_ORT_LIB";

/// The ONNX Runtime library to load when none is given (no `--ort-lib`, an empty `onnxruntime_library`
/// parameter). The first that applies wins:
///
/// 1. `$ISC_ORT_LIB` when set and not empty: an explicit choice, made by `scripts/setup.sh`'s `.setup/env.sh`,
///    the Docker image and `training/run_all.sh`;
/// 2. `.setup/onnxruntime/lib/libonnxruntime.so.1.31.1` of the workspace this crate was built in, when that file
///    exists: where `scripts/setup.sh` installs it, so a checkout works without sourcing anything;
/// 3. the bare name `libonnxruntime.so.1.31.1`, which the dynamic loader looks up on its search path
///    (`LD_LIBRARY_PATH`, the system's library directories): an installed package with the library on the
///    system.
pub fn default_ort_library() -> PathBuf {
    if let Some(path) = std::env::var_os(ORT_LIBRARY_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let setup = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.setup/onnxruntime/lib").join(ORT_LIBRARY_NAME);
    if setup.is_file() {
        return setup;
    }
    PathBuf::from(ORT_LIBRARY_NAME)
}

/// Loads the model of the card at `card_path`: ONNX Runtime from `ort_lib` (`None`: [`default_ort_library`]),
/// the card, then the model with the settings `config` returns when given the ONNX file the card names (next to
/// the card; the settings may name another file, whose sha256 must still match the card). Returns the model
/// and a one-line description for logs and reports, e.g.
/// `intent_gru 0.2.0 (sha256 4f16028fba41…) on cpu, 1 intra-op thread`.
pub fn load_from_card(
    card_path: &Path,
    ort_lib: Option<&Path>,
    config: impl FnOnce(PathBuf) -> OrtModelConfig,
) -> Result<(OrtIntentModel, String), InferenceError> {
    let library = ort_lib.map_or_else(default_ort_library, Path::to_path_buf);
    let runtime = OrtRuntime::init(&library)?;
    let card = load_card(card_path)?;
    let config = config(model_path_for_card(card_path, &card));
    let model = OrtIntentModel::load(&runtime, card, config)?;
    let description = describe(&model);
    Ok((model, description))
}

/// `name version (sha256 <12 hex>…) on <provider>`, with the intra-op threads when the CPU runs batches.
fn describe(model: &OrtIntentModel) -> String {
    let card = model.card();
    let provider = model.provider();
    let mut text = format!(
        "{} {} (sha256 {}…) on {}",
        card.name,
        card.version,
        &card.sha256[..12.min(card.sha256.len())],
        provider.summary()
    );
    if provider.active == ActiveProvider::Cpu || provider.routing.is_some() {
        let threads = model.config().intra_threads;
        text.push_str(&format!(", {threads} intra-op thread{}", if threads == 1 { "" } else { "s" }));
    }
    text
}
