"""The launch files stay in sync with the executables and parameters (the launch library itself is not
installable here, so they are checked statically: syntax, executables, argument use, parameter keys)."""
import ast
import py_compile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
LAUNCH = sorted((REPO / "launch").glob("*.launch.py"))
EXECUTABLES = {p.stem for p in (REPO / "src" / "bin").glob("*.rs")}


def flat_keys(d, prefix=""):
    out = set()
    for k, v in d.items():
        key = f"{prefix}{k}"
        out |= flat_keys(v, key + ".") if isinstance(v, dict) else {key}
    return out


PARAMS = {node.removeprefix("/**/"): flat_keys(body["ros__parameters"]) for node, body in
          yaml.safe_load((REPO / "config" / "params.yaml").read_text()).items()}


def calls(tree, name):
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == name]


def kwarg(call, name):
    return next((k.value for k in call.keywords if k.arg == name), None)


def dict_assignments(tree):
    """Top-level-in-function `name = {...}` dicts: name -> keys."""
    out = {}
    for n in ast.walk(tree):
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.Dict) and isinstance(n.targets[0], ast.Name):
            out[n.targets[0].id] = {k.value for k in n.value.keys if isinstance(k, ast.Constant)}
    return out


def test_launch_files_compile():
    assert LAUNCH, "no launch files"
    for f in LAUNCH:
        py_compile.compile(str(f), doraise=True)


def test_executables_and_parameter_keys_exist():
    for f in LAUNCH:
        tree = ast.parse(f.read_text())
        dicts = dict_assignments(tree)
        declared = {kwarg(c, "name").value if kwarg(c, "name") is not None else c.args[0].value
                    for c in calls(tree, "DeclareLaunchArgument")}
        used = {c.args[0].value for c in calls(tree, "LaunchConfiguration")}
        assert used <= declared, f"{f.name}: launch arguments used but not declared: {used - declared}"
        for node in calls(tree, "Node"):
            package = kwarg(node, "package")
            if isinstance(package, ast.Constant) and package.value == "rviz2":
                continue
            exe = kwarg(node, "executable").value
            assert exe in EXECUTABLES, f"{f.name}: executable {exe} is not built (src/bin/{exe}.rs)"
            nodes = ["intent_predictor", "shared_control", "supervisor"] if exe == "shared_control_system" else [exe]
            params = kwarg(node, "parameters")
            for item in (params.elts if params is not None else []):
                if isinstance(item, ast.Name) and item.id in dicts:
                    for key in dicts[item.id]:
                        owners = [n for n in nodes if key in PARAMS.get(n, set())]
                        assert owners, f"{f.name}: parameter `{key}` passed to {exe} is not declared by {nodes}"


def test_bringup_declares_the_documented_arguments():
    tree = ast.parse((REPO / "launch" / "bringup.launch.py").read_text())
    declared = {c.args[0].value for c in calls(tree, "DeclareLaunchArgument")}
    assert {"namespace", "params_file", "use_sim_time", "model", "execution_provider", "composed"} <= declared
