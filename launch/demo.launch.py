"""The demo: the system (bringup.launch.py) plus simulated humans and a scripted operator, and rviz.

    ros2 launch intent_shared_control demo.launch.py [rviz:=false] [duration:=60.0]
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

PACKAGE = "intent_shared_control"


def generate_launch_description():
    share = get_package_share_directory(PACKAGE)
    namespace = LaunchConfiguration("namespace")
    return LaunchDescription([
        DeclareLaunchArgument("namespace", default_value="", description="Namespace of all nodes and topics"),
        DeclareLaunchArgument("rviz", default_value="true", choices=["true", "false"], description="Start rviz2"),
        DeclareLaunchArgument("duration", default_value="60.0", description="Length of the scripted scenario [s]"),
        DeclareLaunchArgument("composed", default_value="true", choices=["true", "false"],
                              description="Run the system composed in one process"),
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(os.path.join(share, "launch", "bringup.launch.py")),
            launch_arguments={"namespace": namespace, "composed": LaunchConfiguration("composed")}.items(),
        ),
        Node(package=PACKAGE, executable="demo_driver", name="demo_driver", namespace=namespace, output="screen",
             arguments=["--duration", LaunchConfiguration("duration")]),
        Node(package="rviz2", executable="rviz2", name="rviz2", namespace=namespace,
             arguments=["-d", os.path.join(share, "config", "intent_shared_control.rviz")],
             condition=IfCondition(LaunchConfiguration("rviz"))),
    ])
