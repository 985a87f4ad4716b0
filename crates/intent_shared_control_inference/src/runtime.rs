//! The process-wide ONNX Runtime handle.
//!
//! ONNX Runtime is loaded with `dlopen` from a configured path (feature `load-dynamic`): a missing or wrong
//! library is an [`InferenceError`], never a panic or a loader failure before `main`. ONNX Runtime allows one
//! environment per process and keeps the first library loaded, so [`OrtRuntime::init`] creates the environment
//! once and hands out clones of it; later calls with the same library get the same environment, a different
//! library is refused. A failed load is not remembered: a later call may succeed with a correct path.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use ort::environment::Environment;

use crate::error::InferenceError;

static RUNTIME: Mutex<Option<OrtRuntime>> = Mutex::new(None);

/// A loaded ONNX Runtime library and its environment. Cheap to clone (shared).
#[derive(Clone)]
pub struct OrtRuntime {
    env: Environment,
    library: PathBuf,
}

impl std::fmt::Debug for OrtRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrtRuntime").field("library", &self.library).finish_non_exhaustive()
    }
}

impl OrtRuntime {
    /// Loads ONNX Runtime from `library` (a path to `libonnxruntime.so.<version>`) the first time, and returns
    /// the process's runtime on later calls with the same library.
    ///
    /// A path with a directory part must exist; a bare file name is left to the dynamic loader's search path.
    pub fn init(library: &Path) -> Result<OrtRuntime, InferenceError> {
        let requested = resolve(library)?;
        let mut slot = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(runtime) = slot.as_ref() {
            if runtime.library == requested {
                return Ok(runtime.clone());
            }
            return Err(InferenceError::LibraryMismatch { loaded: runtime.library.clone(), requested });
        }
        let builder = ort::init_from(&requested).map_err(|e| load_error(&requested, &e))?;
        let env = builder
            .with_name("intent_shared_control")
            .build()
            .map_err(|e| InferenceError::Environment(e.to_string()))?;
        let runtime = OrtRuntime { env, library: requested };
        *slot = Some(runtime.clone());
        Ok(runtime)
    }

    /// The runtime of this process, if one was initialised.
    pub fn current() -> Option<OrtRuntime> {
        RUNTIME.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The library this runtime was loaded from (canonical path, or the bare name given).
    pub fn library(&self) -> &Path {
        &self.library
    }

    /// The ONNX Runtime environment, for creating sessions.
    pub fn environment(&self) -> &Environment {
        &self.env
    }
}

fn resolve(library: &Path) -> Result<PathBuf, InferenceError> {
    let bare = library.parent().is_none_or(|p| p.as_os_str().is_empty());
    if bare && !library.as_os_str().is_empty() && !library.exists() {
        return Ok(library.to_path_buf());
    }
    library
        .canonicalize()
        .map_err(|e| InferenceError::LibraryNotFound { path: library.to_path_buf(), reason: e.to_string() })
}

fn load_error(path: &Path, e: &ort::LoadDynamicError) -> InferenceError {
    let cause = match e {
        ort::LoadDynamicError::Dlopen { error, .. } => std::error::Error::source(error).map(ToString::to_string),
        _ => None,
    };
    InferenceError::LibraryLoad { path: path.to_path_buf(), message: e.to_string(), cause }
}
