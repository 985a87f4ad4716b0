"""Bring up intent_shared_control: intent_predictor, shared_control and the supervisor that manages them.

    ros2 launch intent_shared_control bringup.launch.py
    ros2 launch intent_shared_control bringup.launch.py namespace:=robot1 composed:=false execution_provider:=cuda

By default the three nodes run composed in one process (`shared_control_system`) and hand data to each other in
memory; `composed:=false` starts them as separate processes talking DDS. The supervisor configures and activates
the others and forces a stop on cmd_vel when one of them fails.

The launch arguments below reach the nodes as launch_ros passes `parameters=[{...}]`: as a params file for every
node of the process (`/**`). A node ignores a key from such a shared section that it does not declare (as rclcpp
does), so in the composed process each node takes the arguments meant for it. Relative model paths are resolved
in this package's share directory.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition, UnlessCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

PACKAGE = "intent_shared_control"


def generate_launch_description():
    share = get_package_share_directory(PACKAGE)
    namespace = LaunchConfiguration("namespace")
    params_file = LaunchConfiguration("params_file")
    composed = LaunchConfiguration("composed")
    overrides = {
        "use_sim_time": LaunchConfiguration("use_sim_time"),
    }
    supervisor_overrides = {
        "metrics_port": LaunchConfiguration("metrics_port"),
    }
    predictor_overrides = {
        "model_path": LaunchConfiguration("model"),
        "model_card": LaunchConfiguration("model_card"),
        "execution_provider": LaunchConfiguration("execution_provider"),
        "onnxruntime_library": LaunchConfiguration("onnxruntime_library"),
    }

    args = [
        DeclareLaunchArgument("namespace", default_value="", description="Namespace of all nodes and topics"),
        DeclareLaunchArgument("params_file", default_value=os.path.join(share, "config", "params.yaml"),
                              description="ros__parameters YAML for all nodes"),
        DeclareLaunchArgument("use_sim_time", default_value="false", description="Follow /clock (bag replay, simulation)"),
        DeclareLaunchArgument("model", default_value=os.path.join(share, "models", "intent_model.onnx"),
                              description="ONNX intent model"),
        DeclareLaunchArgument("model_card", default_value=os.path.join(share, "models", "intent_model.card.json"),
                              description="Model card (tensor contract, labels, sha256) of the model"),
        DeclareLaunchArgument("execution_provider", default_value="cpu", choices=["cpu", "cuda", "auto"],
                              description="ONNX Runtime execution provider"),
        DeclareLaunchArgument("onnxruntime_library", default_value="",
                              description="Path (or dlopen name) of the ONNX Runtime shared library; empty = the "
                                          "node's default ($ISC_ORT_LIB, else libonnxruntime.so.1.31.1 on the loader path)"),
        DeclareLaunchArgument("composed", default_value="true", choices=["true", "false"],
                              description="Run all nodes in one process (in-memory hand-off) or as separate processes"),
        DeclareLaunchArgument("metrics_port", default_value="-1",
                              description="Port of /metrics and /health on 127.0.0.1 served by the supervisor (-1 = off)"),
    ]

    composed_node = Node(
        package=PACKAGE,
        executable="shared_control_system",
        namespace=namespace,
        parameters=[params_file, overrides, predictor_overrides, supervisor_overrides],
        output="screen",
        condition=IfCondition(composed),
    )
    separate = [
        Node(package=PACKAGE, executable="intent_predictor", name="intent_predictor", namespace=namespace,
             parameters=[params_file, overrides, predictor_overrides], output="screen",
             condition=UnlessCondition(composed)),
        Node(package=PACKAGE, executable="shared_control", name="shared_control", namespace=namespace,
             parameters=[params_file, overrides], output="screen", condition=UnlessCondition(composed)),
        Node(package=PACKAGE, executable="supervisor", name="supervisor", namespace=namespace,
             parameters=[params_file, overrides, supervisor_overrides], output="screen",
             condition=UnlessCondition(composed)),
    ]
    return LaunchDescription(args + [composed_node] + separate)
