#!/bin/bash
# Sources ROS 2 and the package's install tree, then runs the command (default: the bringup launch file).
set -e
source "/opt/ros/${ROS_DISTRO}/setup.bash"
source /opt/intent_shared_control/setup.bash
exec "$@"
