"""The demo: the system (bringup.launch.py) plus simulated humans and a scripted operator, and optionally rviz.

    ros2 launch intent_shared_control demo.launch.py [rviz:=true] [duration:=60.0]

Headless by default. With `rviz:=true` on a machine without rviz2 the launch stops before it starts anything, with
an error that says so (nothing is left running). The launch ends when the scripted scenario ends.
"""
import os

from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription, OpaqueFunction, Shutdown
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

PACKAGE = "intent_shared_control"


def rviz_available() -> bool:
    try:
        get_package_share_directory("rviz2")
        return True
    except PackageNotFoundError:
        return False


def demo(context, *_args, **_kwargs):
    share = get_package_share_directory(PACKAGE)
    namespace = LaunchConfiguration("namespace")
    want_rviz = LaunchConfiguration("rviz").perform(context) == "true"
    if want_rviz and not rviz_available():
        # Raised before any process is started, so `ros2 launch` exits with this error and leaves nothing behind.
        raise RuntimeError("rviz:=true but the rviz2 package is not installed (apt install ros-jazzy-rviz2), "
                           "or run the demo headless with rviz:=false")
    actions = [
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(os.path.join(share, "launch", "bringup.launch.py")),
            launch_arguments={"namespace": namespace, "composed": LaunchConfiguration("composed")}.items(),
        ),
        Node(package=PACKAGE, executable="demo_driver", name="demo_driver", namespace=namespace, output="screen",
             arguments=["--duration", LaunchConfiguration("duration")],
             on_exit=[Shutdown(reason="the demo scenario ended")]),
    ]
    if want_rviz:
        actions.append(Node(package="rviz2", executable="rviz2", name="rviz2", namespace=namespace,
                            arguments=["-d", os.path.join(share, "config", "intent_shared_control.rviz")]))
    return actions


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument("namespace", default_value="", description="Namespace of all nodes and topics"),
        DeclareLaunchArgument("rviz", default_value="false", choices=["true", "false"],
                              description="Start rviz2 (needs the rviz2 package)"),
        DeclareLaunchArgument("duration", default_value="60.0", description="Length of the scripted scenario [s]"),
        DeclareLaunchArgument("composed", default_value="true", choices=["true", "false"],
                              description="Run the system composed in one process"),
        OpaqueFunction(function=demo),
    ])
