"""Bring up intent_shared_control.

    ros2 launch intent_shared_control bringup.launch.py [namespace:=robot1] [params_file:=...] [use_sim_time:=true]
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def generate_launch_description():
    share = get_package_share_directory("intent_shared_control")
    namespace = LaunchConfiguration("namespace")
    params_file = LaunchConfiguration("params_file")
    use_sim_time = LaunchConfiguration("use_sim_time")

    return LaunchDescription([
        DeclareLaunchArgument("namespace", default_value="", description="Namespace of all nodes and topics"),
        DeclareLaunchArgument("params_file", default_value=os.path.join(share, "config", "params.yaml"),
                              description="ros__parameters YAML for the nodes"),
        DeclareLaunchArgument("use_sim_time", default_value="false", description="Use /clock (bag replay, sim)"),
        Node(
            package="intent_shared_control",
            executable="shared_control",
            name="shared_control",
            namespace=namespace,
            parameters=[params_file, {"use_sim_time": use_sim_time}],
            output="screen",
        ),
    ])
