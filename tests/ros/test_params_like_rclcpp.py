"""Parameters behave as in an rclcpp node, over real DDS with the standard rcl_interfaces services (as `ros2 param`
uses them): params-file sections matched against the fully qualified node name (`/**`, `/**/name`, `/*/name`,
a bare name only in the root namespace), other nodes' keys in shared sections ignored, exact types, descriptor
ranges, and a dumped value set back is accepted."""
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import DescribeParameters, GetParameters, SetParameters

from ros.harness import call

NS_NODE = "/robot1/shared_control"
ROOT_NODE = "/shared_control"


def value(v) -> ParameterValue:
    if isinstance(v, bool):
        return ParameterValue(type=ParameterType.PARAMETER_BOOL, bool_value=v)
    if isinstance(v, float):
        return ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=v)
    if isinstance(v, int):
        return ParameterValue(type=ParameterType.PARAMETER_INTEGER, integer_value=v)
    if isinstance(v, list):
        return ParameterValue(type=ParameterType.PARAMETER_DOUBLE_ARRAY, double_array_value=v)
    return ParameterValue(type=ParameterType.PARAMETER_STRING, string_value=v)


def set_param(peer, node, name, v):
    req = SetParameters.Request(parameters=[Parameter(name=name, value=value(v))])
    return call(peer, SetParameters, f"{node}/set_parameters", req).results[0]


def get_params(peer, node, *names):
    return call(peer, GetParameters, f"{node}/get_parameters", GetParameters.Request(names=list(names))).values


def describe(peer, node, *names):
    req = DescribeParameters.Request(names=list(names))
    return {d.name: d for d in call(peer, DescribeParameters, f"{node}/describe_parameters", req).descriptors}


def configure(peer, node) -> bool:
    req = ChangeState.Request(transition=Transition(id=Transition.TRANSITION_CONFIGURE))
    return call(peer, ChangeState, f"{node}/change_state", req).success


def state(peer, node) -> str:
    return call(peer, GetState, f"{node}/get_state", GetState.Request()).current_state.label


def params_file(tmp_path, text: str, name="params.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_wildcard_and_namespace_sections_apply_in_a_namespace(peer, launch, tmp_path):
    f = params_file(tmp_path, """
/**:
  ros__parameters:
    markers_rate: 5.0
/**/shared_control:
  ros__parameters:
    teleop:
      timeout: 0.4
/*/shared_control:
  ros__parameters:
    cmd_frame_id: robot1_base
/robot2/shared_control:
  ros__parameters:
    max_humans: 7
/**/shared_control_2:
  ros__parameters:
    max_humans: 8
""")
    launch("shared_control", "-r", "__ns:=/robot1", "--params-file", f)
    timeout, frame, markers, humans = get_params(peer, NS_NODE, "teleop.timeout", "cmd_frame_id", "markers_rate",
                                                  "max_humans")
    assert timeout.double_value == 0.4
    assert frame.string_value == "robot1_base"
    assert markers.double_value == 5.0
    assert humans.integer_value == 64, "sections of other nodes do not apply"
    assert configure(peer, NS_NODE)


def test_bare_node_name_only_applies_in_the_root_namespace(peer, launch, tmp_path):
    f = params_file(tmp_path, """
shared_control:
  ros__parameters:
    teleop:
      timeout: 0.45
    not_a_parameter: 1.0
""")
    launch("shared_control", "-r", "__ns:=/robot1", "--params-file", f, name="in_namespace")
    assert get_params(peer, NS_NODE, "teleop.timeout")[0].double_value == 0.5
    assert configure(peer, NS_NODE), "the bare section (with its unknown key) is not for /robot1/shared_control"
    launch("shared_control", "--params-file", f, name="at_root")
    assert get_params(peer, ROOT_NODE, "teleop.timeout")[0].double_value == 0.45
    assert not configure(peer, ROOT_NODE), "at the root it names the node: the unknown key refuses configuration"


def test_other_nodes_keys_in_shared_sections_do_not_stop_configuration(peer, launch, tmp_path):
    # What `ros2 launch` makes of `parameters=[{...}]`: a `/**` file with keys of every node of the process.
    f = params_file(tmp_path, """
/**:
  ros__parameters:
    use_sim_time: false
    model_path: /models/intent.onnx
    execution_provider: cpu
    onnxruntime_library: libonnxruntime.so.1.31.1
    liveness_period: 0.1
""")
    proc = launch("shared_control", "-r", "__ns:=/robot1", "--params-file", f, "-p", "managed_nodes:=[a]")
    assert configure(peer, NS_NODE), proc.log()
    assert state(peer, NS_NODE) == "inactive"
    log = proc.log()
    assert "ignored parameters" in log and "model_path" in log and "managed_nodes" in log, log


def test_typo_in_a_section_naming_the_node_refuses_configuration(peer, launch, tmp_path):
    f = params_file(tmp_path, "/**/shared_control:\n  ros__parameters:\n    teleop:\n      timout: 0.4\n")
    proc = launch("shared_control", "-r", "__ns:=/robot1", "--params-file", f)
    assert not configure(peer, NS_NODE)
    peer.spin_until(lambda: "unknown parameter `teleop.timout`" in proc.log(), 5.0, "the error in the log")


def test_integer_for_a_double_is_refused(peer, launch, tmp_path):
    f = params_file(tmp_path, "/**/shared_control:\n  ros__parameters:\n    teleop:\n      timeout: 1\n")
    proc = launch("shared_control", "-r", "__ns:=/robot1", "--params-file", f, name="file_integer")
    assert not configure(peer, NS_NODE)
    peer.spin_until(lambda: "`1.0`" in proc.log(), 5.0, "the error saying to write 1.0")
    assert "`teleop.timeout` must be a double" in proc.log()

    launch("shared_control", name="set_integer")
    res = set_param(peer, ROOT_NODE, "teleop.timeout", 1)
    assert not res.successful and "`1.0`" in res.reason, res.reason
    assert get_params(peer, ROOT_NODE, "teleop.timeout")[0].double_value == 0.5
    # written as a double it is accepted (a safety timeout is only lowered while the node runs)
    assert set_param(peer, ROOT_NODE, "teleop.timeout", 0.4).successful
    res = set_param(peer, ROOT_NODE, "teleop.timeout", 1.0)
    assert not res.successful and "only lowered while running" in res.reason, res.reason


def test_describe_shows_ranges_of_safety_and_arbitration_parameters(peer, launch):
    launch("shared_control")
    d = describe(peer, ROOT_NODE, "safety.zones.stop_distance", "safety.separation.human_speed_far",
                 "safety.separation.reaction_time", "safety.limits.max_velocity", "arbitration.confidence_full",
                 "safety.separation.reach.min_observations")
    assert d["safety.zones.stop_distance"].floating_point_range[0].from_value == 0.0
    assert d["safety.separation.human_speed_far"].floating_point_range[0].from_value == 1.6
    r = d["safety.separation.reaction_time"].floating_point_range[0]
    assert (r.from_value, r.to_value) == (0.0, 2.0)
    assert d["safety.limits.max_velocity"].floating_point_range[0].from_value == 0.0
    full = d["arbitration.confidence_full"]
    assert full.floating_point_range[0].to_value == 1.0
    assert "arbitration.confidence_floor" in full.additional_constraints
    r = d["safety.separation.reach.min_observations"].integer_range[0]
    assert (r.from_value, r.to_value) == (3, 100)


def test_dumped_values_set_back_are_accepted(peer, launch):
    launch("shared_control")
    # read-only: its current value is accepted (a no-op), another one is refused
    assert get_params(peer, ROOT_NODE, "control_rate")[0].double_value == 50.0
    res = set_param(peer, ROOT_NODE, "control_rate", 50.0)
    assert res.successful, res.reason
    res = set_param(peer, ROOT_NODE, "control_rate", 60.0)
    assert not res.successful and "read-only" in res.reason
    assert set_param(peer, ROOT_NODE, "autostart", False).successful
    # use_sim_time is set at start (unlike rclcpp: a running node whose clock switched stopped deciding): its
    # current value is accepted, another one refused
    assert set_param(peer, ROOT_NODE, "use_sim_time", False).successful
    res = set_param(peer, ROOT_NODE, "use_sim_time", True)
    assert not res.successful and "read-only" in res.reason
    # the robot shape's points are a flat double array, set at start like the rest of the robot's shape
    points = list(get_params(peer, ROOT_NODE, "safety.separation.robot.points")[0].double_array_value)
    assert len(points) >= 2 and len(points) % 2 == 0
    assert set_param(peer, ROOT_NODE, "safety.separation.robot.points", points).successful
    res = set_param(peer, ROOT_NODE, "safety.separation.robot.points", [0.4, 0.3, -0.4, 0.3, -0.4, -0.3])
    assert not res.successful and "read-only" in res.reason, res.reason


def test_cross_parameter_rejection_names_the_parameter_being_set(peer, launch):
    launch("shared_control")
    res = set_param(peer, ROOT_NODE, "arbitration.confidence_full", 0.3)
    assert not res.successful
    assert res.reason.startswith(
        "`arbitration.confidence_full` (0.3) must be greater than `arbitration.confidence_floor` (0.5)"), res.reason
    res = set_param(peer, ROOT_NODE, "arbitration.confidence_floor", 0.95)
    assert not res.successful
    assert res.reason.startswith(
        "`arbitration.confidence_floor` (0.95) must be less than `arbitration.confidence_full` (0.9)"), res.reason
