//! ROS 2 adapters of intent_shared_control.
