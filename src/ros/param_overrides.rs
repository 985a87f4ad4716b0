//! The parameter overrides a node starts with (`--ros-args --params-file F`, `-p name:=value`), resolved the way
//! rclcpp resolves them.
//!
//! rcl parses the process's ROS arguments into one merged list of sections: every params file and every `-p`
//! in argument order, one section per distinct node name (first appearance decides its place; a later entry for
//! the same section and parameter replaces the value in place). `-p name:=value` lands in the section `/**`,
//! `-p node:name:=value` in the section `node`. rcl keeps the names as written (`shared_control` stays without a
//! leading slash, nested YAML namespaces are joined with `/`).
//!
//! A node takes the sections whose name matches its fully qualified name ([`section_applies`]), in that order,
//! the later value of a parameter replacing the earlier one — exactly what rclcpp does, so `/**/shared_control`,
//! `/*/shared_control` and `/robot1/shared_control` work, and a bare `shared_control:` (= `/shared_control`)
//! only applies in the root namespace.
//!
//! Each resolved value remembers whether a section *naming this node* set it ([`Override::named`]): a section
//! whose last name segment is the node's name. Sections for everyone (`/**`, `**`, `-p`, `/robot1/*`) carry
//! parameters of every node of a launch file or composed process, so a parameter the node does not declare is
//! ignored when it only came from such a section (as rclcpp ignores undeclared overrides), and is an error when
//! a section naming the node has it (a typo).

use std::collections::BTreeMap;
use std::ffi::{c_char, c_int, CStr, CString};

use r2r::ParameterValue;
use r2r_rcl::{
    rcl_arguments_fini, rcl_arguments_get_param_overrides, rcl_arguments_t, rcl_get_zero_initialized_arguments,
    rcl_params_t, rcl_parse_arguments, rcl_variant_t, rcl_yaml_node_struct_fini, rcutils_get_default_allocator,
    rcutils_reset_error, RCL_RET_OK,
};
use thiserror::Error;

/// Why the process's parameter overrides could not be read.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum OverridesError {
    /// A command-line argument holds a NUL byte (rcl cannot take it).
    #[error("command-line argument {index} contains a NUL byte")]
    NulInArgument {
        /// Position of the argument (0 = the executable).
        index: usize,
    },
    /// Too many command-line arguments for rcl.
    #[error("too many command-line arguments ({0})")]
    TooManyArguments(usize),
    /// rcl refused the arguments (a params file that does not parse, a malformed `-p`).
    #[error("rcl could not parse the ROS arguments (rcl error {code}): check --params-file and -p")]
    Parse {
        /// The `rcl_ret_t`.
        code: i32,
    },
    /// rcl could not hand out the parsed overrides.
    #[error("rcl could not return the parameter overrides (rcl error {code})")]
    Overrides {
        /// The `rcl_ret_t`.
        code: i32,
    },
    /// A section or parameter name that is not valid UTF-8.
    #[error("a parameter or node name in the overrides is not valid UTF-8")]
    NotUtf8,
}

/// One node section of the merged overrides: its name as rcl stores it and its parameters in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    /// Node name pattern, e.g. `/**`, `shared_control`, `/**/shared_control`, `robot1/shared_control`.
    pub pattern: String,
    /// Parameters (dotted names) and values.
    pub params: Vec<(String, ParameterValue)>,
}

/// A resolved override of one parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    /// The value that applies (the last matching section's).
    pub value: ParameterValue,
    /// A section naming this node set it (see [`names_node`]); `false`: only sections for everyone did.
    pub named: bool,
}

/// Pattern pieces: rclcpp turns every `/*` of a section name into the regular expression `(/\w+)`, so `/**`
/// becomes `(/\w+)*`, and matches the whole fully qualified name against it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Piece {
    Char(u8),
    /// `/` and one or more word characters: one namespace or name segment.
    Segment,
    /// Any number of segments, none included.
    Segments,
}

/// The section name with the leading slash rclcpp adds when it is missing (`shared_control` = `/shared_control`,
/// `**` = `/**`).
fn absolute(pattern: &str) -> String {
    if pattern.starts_with('/') {
        pattern.to_owned()
    } else {
        format!("/{pattern}")
    }
}

fn pieces(pattern: &str) -> Vec<Piece> {
    let p = absolute(pattern);
    let b = p.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            if b.get(i + 2) == Some(&b'*') {
                out.push(Piece::Segments);
                i += 3;
            } else {
                out.push(Piece::Segment);
                i += 2;
            }
        } else {
            out.push(Piece::Char(b[i]));
            i += 1;
        }
    }
    out
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Length of the segment (`/` + word characters) at the start of `s`, 0 if there is none.
fn segment_len(s: &[u8]) -> usize {
    match s.first() {
        Some(b'/') => {
            let words = s[1..].iter().take_while(|c| is_word(**c)).count();
            if words == 0 {
                0
            } else {
                1 + words
            }
        }
        _ => 0,
    }
}

fn matches(p: &[Piece], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((Piece::Char(c), rest)) => s.first() == Some(c) && matches(rest, &s[1..]),
        Some((Piece::Segment, rest)) => {
            // `\w+` is greedy in the regex but may give back characters: try every length.
            let max = segment_len(s);
            (2..=max).rev().any(|n| matches(rest, &s[n..]))
        }
        Some((Piece::Segments, rest)) => {
            if matches(rest, s) {
                return true;
            }
            let max = segment_len(s);
            (2..=max).rev().any(|n| matches(p, &s[n..]))
        }
    }
}

/// Whether a params-file section named `pattern` applies to the node `fqn` (its fully qualified name, e.g.
/// `/robot1/shared_control`), as rclcpp decides: a missing leading slash is added; `/**` stands for any number
/// of namespace or name segments (none included), `/*` for exactly one; everything else must match literally.
pub fn section_applies(pattern: &str, fqn: &str) -> bool {
    matches(&pieces(pattern), fqn.as_bytes())
}

/// Whether a section names the node it applies to: its last segment is a literal name (`shared_control`,
/// `/robot1/shared_control`, `/**/shared_control`, `/*/shared_control`), not a wildcard (`/**`, `**`,
/// `/robot1/*`, `-p` overrides).
pub fn names_node(pattern: &str) -> bool {
    let last = absolute(pattern).rsplit('/').next().map(str::to_owned).unwrap_or_default();
    !last.is_empty() && !last.contains('*')
}

/// The overrides for the node `fqn`: matching sections in order, later values replacing earlier ones.
pub fn resolve(sections: &[Section], fqn: &str) -> BTreeMap<String, Override> {
    let mut out: BTreeMap<String, Override> = BTreeMap::new();
    for section in sections.iter().filter(|s| section_applies(&s.pattern, fqn)) {
        let named = names_node(&section.pattern);
        for (name, value) in &section.params {
            let entry = out.entry(name.clone()).or_insert(Override { value: value.clone(), named: false });
            entry.value = value.clone();
            entry.named |= named;
        }
    }
    out
}

/// Converts an rcl YAML value.
///
/// # Safety
/// `v` must come from a live `rcl_params_t` (pointers null or valid, arrays with `size` elements).
unsafe fn value_from_rcl(v: &rcl_variant_t) -> Result<ParameterValue, OverridesError> {
    unsafe fn slice<'a, T>(values: *const T, size: usize) -> &'a [T] {
        if values.is_null() || size == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(values, size)
        }
    }
    unsafe fn string(s: *const c_char) -> Result<String, OverridesError> {
        if s.is_null() {
            return Ok(String::new());
        }
        CStr::from_ptr(s).to_str().map(str::to_owned).map_err(|_| OverridesError::NotUtf8)
    }
    Ok(if !v.bool_value.is_null() {
        ParameterValue::Bool(*v.bool_value)
    } else if !v.integer_value.is_null() {
        ParameterValue::Integer(*v.integer_value)
    } else if !v.double_value.is_null() {
        ParameterValue::Double(*v.double_value)
    } else if !v.string_value.is_null() {
        ParameterValue::String(string(v.string_value)?)
    } else if !v.byte_array_value.is_null() {
        let a = &*v.byte_array_value;
        ParameterValue::ByteArray(slice(a.values, a.size).to_vec())
    } else if !v.bool_array_value.is_null() {
        let a = &*v.bool_array_value;
        ParameterValue::BoolArray(slice(a.values, a.size).to_vec())
    } else if !v.integer_array_value.is_null() {
        let a = &*v.integer_array_value;
        ParameterValue::IntegerArray(slice(a.values, a.size).to_vec())
    } else if !v.double_array_value.is_null() {
        let a = &*v.double_array_value;
        ParameterValue::DoubleArray(slice(a.values, a.size).to_vec())
    } else if !v.string_array_value.is_null() {
        let a = &*v.string_array_value;
        let items = slice(a.data as *const *mut c_char, a.size);
        ParameterValue::StringArray(items.iter().map(|s| string(*s)).collect::<Result<_, _>>()?)
    } else {
        ParameterValue::NotSet
    })
}

/// Copies the sections out of an rcl parameter structure.
///
/// # Safety
/// `params` must be a valid, initialised `rcl_params_t`.
unsafe fn sections_from_rcl(params: &rcl_params_t) -> Result<Vec<Section>, OverridesError> {
    if params.node_names.is_null() || params.params.is_null() {
        return Ok(Vec::new());
    }
    let names = std::slice::from_raw_parts(params.node_names, params.num_nodes);
    let nodes = std::slice::from_raw_parts(params.params, params.num_nodes);
    let mut out = Vec::with_capacity(names.len());
    for (name, node) in names.iter().zip(nodes) {
        if name.is_null() {
            continue;
        }
        let pattern = CStr::from_ptr(*name).to_str().map_err(|_| OverridesError::NotUtf8)?.to_owned();
        let mut section = Section { pattern, params: Vec::new() };
        if !node.parameter_names.is_null() && !node.parameter_values.is_null() {
            let keys = std::slice::from_raw_parts(node.parameter_names, node.num_params);
            let values = std::slice::from_raw_parts(node.parameter_values, node.num_params);
            for (k, v) in keys.iter().zip(values) {
                if k.is_null() {
                    continue;
                }
                let key = CStr::from_ptr(*k).to_str().map_err(|_| OverridesError::NotUtf8)?.to_owned();
                section.params.push((key, value_from_rcl(v)?));
            }
        }
        out.push(section);
    }
    Ok(out)
}

/// Releases parsed rcl arguments when dropped.
struct Arguments(rcl_arguments_t);

impl Drop for Arguments {
    fn drop(&mut self) {
        // SAFETY: the arguments were initialised by rcl_parse_arguments (fini on zero-initialised ones is an
        // error return, not undefined behaviour).
        unsafe {
            if rcl_arguments_fini(&mut self.0) != RCL_RET_OK as i32 {
                rcutils_reset_error();
            }
        }
    }
}

/// Releases an rcl parameter structure when dropped.
struct Params(*mut rcl_params_t);

impl Drop for Params {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: allocated by rcl_arguments_get_param_overrides, released once.
            unsafe { rcl_yaml_node_struct_fini(self.0) };
        }
    }
}

/// The merged override sections of a command line (`args[0]` is the executable), parsed by rcl itself.
pub fn parse_args(args: &[String]) -> Result<Vec<Section>, OverridesError> {
    let c_args: Vec<CString> = args
        .iter()
        .enumerate()
        .map(|(index, a)| CString::new(a.as_str()).map_err(|_| OverridesError::NulInArgument { index }))
        .collect::<Result<_, _>>()?;
    let argv: Vec<*const c_char> = c_args.iter().map(|a| a.as_ptr()).collect();
    let argc = c_int::try_from(argv.len()).map_err(|_| OverridesError::TooManyArguments(argv.len()))?;
    // SAFETY: argv holds argc valid C strings that outlive the call; the output arguments are zero-initialised
    // as rcl requires and released by `Arguments`, the overrides by `Params`.
    unsafe {
        let mut parsed = Arguments(rcl_get_zero_initialized_arguments());
        let ret = rcl_parse_arguments(argc, argv.as_ptr(), rcutils_get_default_allocator(), &mut parsed.0);
        if ret != RCL_RET_OK as i32 {
            rcutils_reset_error();
            // rcl released what it had allocated; the second fini in `Arguments::drop` is a harmless error.
            return Err(OverridesError::Parse { code: ret });
        }
        let mut raw: *mut rcl_params_t = std::ptr::null_mut();
        let ret = rcl_arguments_get_param_overrides(&parsed.0, &mut raw);
        if ret != RCL_RET_OK as i32 {
            rcutils_reset_error();
            return Err(OverridesError::Overrides { code: ret });
        }
        let params = Params(raw);
        if params.0.is_null() {
            return Ok(Vec::new());
        }
        sections_from_rcl(&*params.0)
    }
}

/// The merged override sections of this process's command line.
pub fn from_process() -> Result<Vec<Section>, OverridesError> {
    parse_args(&std::env::args().collect::<Vec<_>>())
}

/// The overrides for the node `fqn` from this process's command line.
pub fn for_node(fqn: &str) -> Result<BTreeMap<String, Override>, OverridesError> {
    Ok(resolve(&from_process()?, fqn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_names_match_like_rclcpp() {
        let cases: &[(&str, &str, bool)] = &[
            ("/**", "/shared_control", true),
            ("/**", "/robot1/shared_control", true),
            ("/**", "/a/b/shared_control", true),
            ("**", "/shared_control", true),
            ("**", "/a/b/shared_control", true),
            ("/**/shared_control", "/shared_control", true),
            ("/**/shared_control", "/robot1/shared_control", true),
            ("/**/shared_control", "/a/b/shared_control", true),
            ("/**/shared_control", "/robot1/supervisor", false),
            ("/**/shared_control", "/robot1/shared_control_2", false),
            ("**/shared_control", "/a/shared_control", true),
            ("/*/shared_control", "/robot1/shared_control", true),
            ("/*/shared_control", "/shared_control", false),
            ("/*/shared_control", "/a/b/shared_control", false),
            ("/robot1/shared_control", "/robot1/shared_control", true),
            ("/robot1/shared_control", "/robot2/shared_control", false),
            ("/robot1/shared_control", "/shared_control", false),
            ("robot1/shared_control", "/robot1/shared_control", true),
            ("shared_control", "/shared_control", true),
            ("shared_control", "/robot1/shared_control", false),
            ("/shared_control", "/robot1/shared_control", false),
            ("/a/b/shared_control", "/a/b/shared_control", true),
            ("/a/**/shared_control", "/a/shared_control", true),
            ("/a/**/shared_control", "/a/b/c/shared_control", true),
            ("/a/**/shared_control", "/b/shared_control", false),
            ("/robot1/*", "/robot1/shared_control", true),
            ("/robot1/*", "/robot1/x/shared_control", false),
            ("/*", "/shared_control", true),
            ("/*", "/robot1/shared_control", false),
            ("/**/*", "/a/b/shared_control", true),
            ("supervisor", "/shared_control", false),
            ("shared", "/shared_control", false),
            ("", "/shared_control", false),
        ];
        for (pattern, fqn, expected) in cases {
            assert_eq!(section_applies(pattern, fqn), *expected, "`{pattern}` vs `{fqn}`");
        }
    }

    #[test]
    fn sections_naming_the_node_are_told_from_sections_for_everyone() {
        for p in
            ["shared_control", "/shared_control", "/robot1/shared_control", "/**/shared_control", "/*/shared_control"]
        {
            assert!(names_node(p), "{p}");
        }
        for p in ["/**", "**", "/robot1/*", "/*", "/**/*", ""] {
            assert!(!names_node(p), "{p}");
        }
    }

    fn section(pattern: &str, params: &[(&str, ParameterValue)]) -> Section {
        Section { pattern: pattern.into(), params: params.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect() }
    }

    #[test]
    fn later_sections_win_and_named_is_remembered() {
        use ParameterValue::{Double, String as Str};
        let sections = [
            section("/**", &[("a", Double(1.0)), ("model_path", Str("m.onnx".into()))]),
            section("/**/shared_control", &[("a", Double(2.0)), ("typo", Double(0.0))]),
            section("shared_control", &[("b", Double(3.0))]),
            section("/**", &[("a", Double(4.0))]),
            section("/robot2/shared_control", &[("c", Double(5.0))]),
        ];
        let r = resolve(&sections, "/robot1/shared_control");
        assert_eq!(r["a"], Override { value: Double(4.0), named: true }, "the last section wins, named stays");
        assert_eq!(r["model_path"], Override { value: Str("m.onnx".into()), named: false });
        assert_eq!(r["typo"], Override { value: Double(0.0), named: true });
        assert!(!r.contains_key("b"), "bare name only applies in the root namespace");
        assert!(!r.contains_key("c"));
        let root = resolve(&sections, "/shared_control");
        assert_eq!(root["b"].value, Double(3.0));
    }

    fn args(rest: &[&str]) -> Vec<String> {
        std::iter::once("exe").chain(rest.iter().copied()).map(str::to_owned).collect()
    }

    #[test]
    fn rcl_parses_files_and_command_line_in_order() {
        use ParameterValue::{Double, DoubleArray, Integer, StringArray};
        let dir = std::env::temp_dir().join(format!("param_overrides_{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("p.yaml");
        std::fs::write(
            &file,
            "/**:\n  ros__parameters:\n    use_sim_time: true\n    model_path: m.onnx\n\
             /**/shared_control:\n  ros__parameters:\n    teleop:\n      timeout: 0.4\n\
             shared_control:\n  ros__parameters:\n    rate: 2\n\
             robot1:\n  shared_control:\n    ros__parameters:\n      points: [0.5, 0.25, -0.5]\n\
             /*/shared_control:\n  ros__parameters:\n    names: [a, b]\n",
        )
        .expect("write params");
        let path = file.to_string_lossy().into_owned();
        let s = parse_args(&args(&["--ros-args", "--params-file", &path, "-p", "teleop.timeout:=0.7", "-p", "x:=3"]))
            .expect("parses");
        let _ = std::fs::remove_dir_all(&dir);
        let patterns: Vec<&str> = s.iter().map(|s| s.pattern.as_str()).collect();
        // rcl keeps names as written: no slash added, nested namespaces joined; `-p` goes to the existing `/**`.
        assert_eq!(
            patterns,
            ["/**", "/**/shared_control", "shared_control", "robot1/shared_control", "/*/shared_control"],
            "{s:?}"
        );
        assert_eq!(s[0].params.iter().find(|(k, _)| k == "teleop.timeout").map(|(_, v)| v), Some(&Double(0.7)));
        assert_eq!(s[0].params.iter().find(|(k, _)| k == "x").map(|(_, v)| v), Some(&Integer(3)));
        assert_eq!(s[1].params, [("teleop.timeout".to_owned(), Double(0.4))]);
        assert_eq!(s[3].params, [("points".to_owned(), DoubleArray(vec![0.5, 0.25, -0.5]))]);
        assert_eq!(s[4].params, [("names".to_owned(), StringArray(vec!["a".into(), "b".into()]))]);
        // `/**` comes first here, so the file's `/**/shared_control` value wins over `-p`, as in rclcpp.
        let r = resolve(&s, "/robot1/shared_control");
        assert_eq!(r["teleop.timeout"].value, Double(0.4));
        assert_eq!(r["points"].value, DoubleArray(vec![0.5, 0.25, -0.5]));
        assert!(!r.contains_key("rate"));
        assert_eq!(resolve(&s, "/shared_control")["rate"].value, Integer(2));
    }

    #[test]
    fn command_line_only_and_no_arguments() {
        let s = parse_args(&args(&["--ros-args", "-p", "a:=1.5", "-p", "shared_control:b:=true"])).expect("parses");
        assert_eq!(
            s,
            [
                section("/**", &[("a", ParameterValue::Double(1.5))]),
                section("shared_control", &[("b", ParameterValue::Bool(true))]),
            ]
        );
        assert_eq!(parse_args(&args(&[])).expect("parses"), []);
        // an empty list has no type: rcl hands it over without a value
        let s = parse_args(&args(&["--ros-args", "-p", "e:=[]"])).expect("parses");
        assert_eq!(s, [section("/**", &[("e", ParameterValue::NotSet)])]);
        assert_eq!(parse_args(&args(&["--ros-args", "-p", "a:=1", "--", "-p", "x"])).expect("parses").len(), 1);
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(matches!(
            parse_args(&args(&["--ros-args", "--params-file", "/nonexistent/params.yaml"])),
            Err(OverridesError::Parse { .. })
        ));
        assert_eq!(parse_args(&["exe".to_owned(), "a\0b".to_owned()]), Err(OverridesError::NulInArgument { index: 1 }));
    }
}
