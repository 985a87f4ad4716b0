//! Link settings so the executables run without a hand-set LD_LIBRARY_PATH.
//!
//! With ROS 2 from the PyPI wheels (a Python virtual environment on AMENT_PREFIX_PATH):
//! - librcl loads rosidl Python type supports that use the Python C API without listing libpython as NEEDED,
//!   so the executables link libpython explicitly (with --no-as-needed, or the linker drops it);
//! - the wheels' libraries find their own dependencies through `site-packages/ros_*.libs`, which must be on the
//!   executable's search path, and DT_RPATH (not RUNPATH) is needed for it to apply to transitive dependencies.
//!
//! With a system install (/opt/ros/jazzy) only the RPATH of the prefixes' lib directories is added.
use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=AMENT_PREFIX_PATH");
    println!("cargo:rerun-if-changed=build.rs");
    let prefixes: Vec<PathBuf> = env::var("AMENT_PREFIX_PATH")
        .unwrap_or_default()
        .split(':')
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .collect();
    if prefixes.is_empty() {
        // r2r itself stops the build with "Source your ROS!"; nothing to add here.
        return;
    }
    let mut rpath: Vec<PathBuf> = prefixes.iter().map(|p| p.join("lib")).collect();

    if let Some(venv) = prefixes.iter().find(|p| p.join("pyvenv.cfg").is_file()) {
        let cfg = fs::read_to_string(venv.join("pyvenv.cfg")).expect("reading pyvenv.cfg");
        let get = |key: &str| {
            cfg.lines()
                .filter_map(|l| l.split_once('='))
                .find(|(k, _)| k.trim() == key)
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_else(|| panic!("pyvenv.cfg has no `{key}`"))
        };
        let version = get("version");
        let pyver: String = version.split('.').take(2).collect::<Vec<_>>().join(".");
        let pylib = PathBuf::from(get("home")).parent().expect("python home has a parent").join("lib");
        let site = venv.join(format!("lib/python{pyver}/site-packages"));
        let mut vendored: Vec<PathBuf> =
            fs::read_dir(&site).map(|rd| rd.flatten().map(|e| e.path()).collect()).unwrap_or_default();
        vendored.retain(|p| {
            let n = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            n.starts_with("ros_") && n.ends_with(".libs")
        });
        vendored.sort();
        rpath.extend(vendored);
        rpath.push(pylib.clone());
        println!("cargo:rustc-link-search=native={}", pylib.display());
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-lpython{pyver}");
    }
    let rp: Vec<String> = rpath.iter().map(|p| p.display().to_string()).collect();
    println!("cargo:rustc-link-arg=-Wl,--disable-new-dtags,-rpath,{}", rp.join(":"));
}
