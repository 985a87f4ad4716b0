//! `config/params.yaml` rendered from the nodes' parameter declarations, so the shipped file always lists
//! every parameter with its default, description and unit. A test compares the file with the rendering;
//! `UPDATE_PARAMS_FILE=1 cargo test params_file` rewrites it after a declaration changed.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use r2r::ParameterValue;

use crate::ros::param_server::ParamSpec;

fn value(v: &ParameterValue) -> String {
    let float = |x: f64| if x.fract() == 0.0 && x.abs() < 1e15 { format!("{x:.1}") } else { format!("{x}") };
    let string = |s: &str| {
        if s.is_empty()
            || s.contains([':', '#', '[', ']', '{', '}', ',', '"', '\''])
            || s.parse::<f64>().is_ok()
            || matches!(s, "true" | "false" | "null")
        {
            format!("{s:?}")
        } else {
            s.to_owned()
        }
    };
    match v {
        ParameterValue::Bool(b) => b.to_string(),
        ParameterValue::Integer(i) => i.to_string(),
        ParameterValue::Double(d) => float(*d),
        ParameterValue::String(s) => string(s),
        ParameterValue::DoubleArray(a) => format!("[{}]", a.iter().map(|x| float(*x)).collect::<Vec<_>>().join(", ")),
        ParameterValue::IntegerArray(a) => {
            format!("[{}]", a.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", "))
        }
        ParameterValue::StringArray(a) => format!("[{}]", a.iter().map(|x| string(x)).collect::<Vec<_>>().join(", ")),
        ParameterValue::BoolArray(a) => format!("[{}]", a.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")),
        ParameterValue::ByteArray(_) | ParameterValue::NotSet => "null".into(),
    }
}

#[derive(Default)]
struct Tree<'a> {
    leaves: Vec<(&'a str, &'a ParamSpec)>,
    children: BTreeMap<&'a str, Tree<'a>>,
}

fn render_tree(t: &Tree, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for (name, spec) in &t.leaves {
        let _ = writeln!(
            out,
            "{pad}# {}{}",
            spec.description,
            if spec.read_only { " (read-only at run time)" } else { "" }
        );
        let _ = writeln!(out, "{pad}{name}: {}", value(&spec.default));
    }
    for (name, child) in &t.children {
        let _ = writeln!(out, "{pad}{name}:");
        render_tree(child, indent + 2, out);
    }
}

/// The YAML for one node.
pub fn render_node(node: &str, specs: &[ParamSpec]) -> String {
    let mut root = Tree::default();
    for spec in specs {
        let mut parts: Vec<&str> = spec.name.split('.').collect();
        let leaf = parts.pop().unwrap_or_default();
        let mut t = &mut root;
        for p in parts {
            t = t.children.entry(p).or_default();
        }
        t.leaves.push((leaf, spec));
    }
    let mut out = format!("{node}:\n  ros__parameters:\n");
    render_tree(&root, 4, &mut out);
    out
}

/// The whole shipped params file.
pub fn render() -> String {
    let mut out = String::from(
        "# Parameters of the intent_shared_control nodes (ros__parameters), with their defaults.\n\
         # Generated from the nodes' declarations (src/nodes/params_file.rs); every entry says what it does and its unit.\n\
         #   ros2 launch intent_shared_control bringup.launch.py params_file:=<a copy of this file>\n\
         #   ros2 run intent_shared_control shared_control --ros-args --params-file <this file>\n\
         # Sections match nodes as in rclcpp: `/**/shared_control:` (used here) is that node in any namespace, so\n\
         # the file serves `namespace:=robot1` too; `/robot1/shared_control:` is one robot's, `shared_control:` the\n\
         # root namespace's only, and `/**:` is every node.\n\
         # A node refuses to configure with an invalid value, or with an unknown key in a section naming it, and\n\
         # says which one (keys it does not declare in a `/**:` section are ignored). Doubles take a decimal point:\n\
         # `2.0`, not `2`.\n",
    );
    for (node, specs) in [
        (format!("/**/{}", crate::nodes::intent_predictor::NODE_NAME), crate::nodes::intent_predictor::param_specs()),
        (format!("/**/{}", crate::nodes::shared_control::NODE_NAME), crate::nodes::shared_control::param_specs()),
        (format!("/**/{}", crate::nodes::supervisor::NODE_NAME), crate::nodes::supervisor::param_specs()),
    ] {
        out.push('\n');
        out.push_str(&render_node(&node, &specs));
    }
    out
}

#[cfg(test)]
mod tests {
    use r2r::ParameterValue;

    fn nodes() -> [(&'static str, Vec<crate::ros::param_server::ParamSpec>); 3] {
        [
            (crate::nodes::intent_predictor::NODE_NAME, crate::nodes::intent_predictor::param_specs()),
            (crate::nodes::shared_control::NODE_NAME, crate::nodes::shared_control::param_specs()),
            (crate::nodes::supervisor::NODE_NAME, crate::nodes::supervisor::param_specs()),
        ]
    }

    /// The shipped file, read by rcl as `--params-file` and resolved like rclcpp, sets every declared parameter
    /// of each node with its exact type and nothing else.
    #[test]
    fn shipped_params_file_loads_cleanly_through_rcl() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/params.yaml");
        let args = ["exe", "--ros-args", "--params-file", &path.to_string_lossy()].map(str::to_owned);
        let sections = crate::ros::param_overrides::parse_args(&args).expect("rcl parses config/params.yaml");
        for (node, specs) in nodes() {
            let overrides = crate::ros::param_overrides::resolve(&sections, &format!("/{node}"));
            assert_eq!(overrides.len(), specs.len(), "{node}: every parameter is in the file");
            let r = crate::ros::param_server::resolve_overrides(&specs, &overrides);
            assert_eq!(r.outcome, Ok(()), "{node}");
            assert!(r.ignored.is_empty(), "{node}: {:?}", r.ignored);
            for spec in &specs {
                assert_eq!(r.values[&spec.name], spec.default, "{node}: `{}`", spec.name);
            }
            // the `/**/<node>` sections serve the node in any namespace (`bringup.launch.py namespace:=robot1`)
            assert_eq!(crate::ros::param_overrides::resolve(&sections, &format!("/robot1/{node}")).len(), specs.len());
            assert_eq!(crate::ros::param_overrides::resolve(&sections, &format!("/a/b/{node}")).len(), specs.len());
            assert!(crate::ros::param_overrides::resolve(&sections, &format!("/robot1/{node}_other")).is_empty());
        }
    }

    /// Every number (double, integer, double array) of every node has a descriptor range.
    #[test]
    fn every_number_has_a_range() {
        for (node, specs) in nodes() {
            let missing: Vec<String> = specs
                .into_iter()
                .filter(|s| {
                    matches!(
                        s.default,
                        ParameterValue::Double(_) | ParameterValue::Integer(_) | ParameterValue::DoubleArray(_)
                    ) && s.range.is_none()
                })
                .map(|s| s.name)
                .collect();
            assert!(missing.is_empty(), "{node}: numbers without a range: {missing:?}");
        }
    }

    #[test]
    fn shipped_params_file_matches_the_declarations() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/params.yaml");
        let rendered = super::render();
        if std::env::var_os("UPDATE_PARAMS_FILE").is_some() {
            std::fs::write(&path, &rendered).expect("writing config/params.yaml");
        }
        let shipped = std::fs::read_to_string(&path).expect("reading config/params.yaml");
        assert!(shipped == rendered, "config/params.yaml is out of date with the parameter declarations: run `UPDATE_PARAMS_FILE=1 cargo test params_file` and review the diff");
    }
}
