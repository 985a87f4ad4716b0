//! rviz visualisation: skeletons, predicted paths coloured by intent, intent labels, the protective separation
//! ring and the user / assist / output command arrows, as one `visualization_msgs/MarkerArray`.
//!
//! Every marker has a short lifetime, so humans that leave the view disappear without explicit deletes.

use intent_shared_control_core::prediction::{HumanPrediction, Intent, TORSO};
use intent_shared_control_core::skeleton::{keypoint as kp, SkeletonFrame};
use intent_shared_control_core::{Decision, Mode, Stamp, Twist};
use r2r::builtin_interfaces::msg::Duration as RosDuration;
use r2r::geometry_msgs::msg::{Point, Pose, Quaternion, Vector3};
use r2r::std_msgs::msg::{ColorRGBA, Header};
use r2r::visualization_msgs::msg::{Marker, MarkerArray};

use crate::ros::convert::stamp_to_msg;

/// COCO-17 bones drawn for each skeleton.
const BONES: [(usize, usize); 16] = [
    (kp::LEFT_SHOULDER, kp::RIGHT_SHOULDER),
    (kp::LEFT_SHOULDER, kp::LEFT_ELBOW),
    (kp::LEFT_ELBOW, kp::LEFT_WRIST),
    (kp::RIGHT_SHOULDER, kp::RIGHT_ELBOW),
    (kp::RIGHT_ELBOW, kp::RIGHT_WRIST),
    (kp::LEFT_SHOULDER, kp::LEFT_HIP),
    (kp::RIGHT_SHOULDER, kp::RIGHT_HIP),
    (kp::LEFT_HIP, kp::RIGHT_HIP),
    (kp::LEFT_HIP, kp::LEFT_KNEE),
    (kp::LEFT_KNEE, kp::LEFT_ANKLE),
    (kp::RIGHT_HIP, kp::RIGHT_KNEE),
    (kp::RIGHT_KNEE, kp::RIGHT_ANKLE),
    (kp::NOSE, kp::LEFT_EYE),
    (kp::NOSE, kp::RIGHT_EYE),
    (kp::LEFT_EYE, kp::LEFT_EAR),
    (kp::RIGHT_EYE, kp::RIGHT_EAR),
];

fn rgba(r: f32, g: f32, b: f32, a: f32) -> ColorRGBA {
    ColorRGBA { r, g, b, a }
}

/// Colour per intent (also used in the docs' legend).
pub fn intent_color(intent: Intent) -> ColorRGBA {
    match intent {
        Intent::Idle => rgba(0.6, 0.6, 0.6, 1.0),
        Intent::PassBy => rgba(0.2, 0.6, 1.0, 1.0),
        Intent::ApproachRobot => rgba(1.0, 0.2, 0.2, 1.0),
        Intent::ReachHandover => rgba(1.0, 0.7, 0.1, 1.0),
        Intent::Retreat => rgba(0.2, 0.9, 0.3, 1.0),
    }
}

fn point(p: &nalgebra::Point3<f64>) -> Point {
    Point { x: p.x, y: p.y, z: p.z }
}

fn identity_pose() -> Pose {
    Pose { position: Point::default(), orientation: Quaternion { x: 0.0, y: 0.0, z: 0.0, w: 1.0 } }
}

struct Builder {
    header: Header,
    lifetime: RosDuration,
    out: Vec<Marker>,
}

impl Builder {
    fn marker(&mut self, ns: &str, id: i32, type_: i32) -> &mut Marker {
        self.out.push(Marker {
            header: self.header.clone(),
            ns: ns.to_owned(),
            id,
            type_,
            action: Marker::ADD as i32,
            pose: identity_pose(),
            lifetime: self.lifetime.clone(),
            ..Default::default()
        });
        let last = self.out.len() - 1;
        &mut self.out[last]
    }

    fn arrow(&mut self, id: i32, twist: &Twist, color: ColorRGBA, z: f64) {
        let m = self.marker("commands", id, Marker::ARROW as i32);
        // Planar velocity drawn as a displacement of one second from the robot origin.
        m.points = vec![Point { x: 0.0, y: 0.0, z }, Point { x: twist.linear.x, y: twist.linear.y, z }];
        m.scale = Vector3 { x: 0.04, y: 0.08, z: 0.1 };
        m.color = color;
    }
}

/// Builds the marker array for one control cycle.
pub fn build(
    stamp: Stamp,
    frame_id: &str,
    skeletons: Option<&SkeletonFrame>,
    predictions: &[HumanPrediction],
    decision: Option<&Decision>,
    lifetime_s: f64,
) -> MarkerArray {
    let mut b = Builder {
        header: Header { stamp: stamp_to_msg(stamp), frame_id: frame_id.to_owned() },
        lifetime: RosDuration { sec: lifetime_s.trunc() as i32, nanosec: (lifetime_s.fract() * 1e9) as u32 },
        out: Vec::new(),
    };
    if let Some(frame) = skeletons {
        for h in &frame.humans {
            let id = h.id as i32;
            let intent = predictions.iter().find(|p| p.human_id == h.id).map(|p| p.intent());
            let color = intent.map_or(rgba(0.9, 0.9, 0.9, 1.0), intent_color);
            let bones: Vec<Point> = BONES
                .iter()
                .filter(|(a, c)| h.keypoints[*a].is_observed() && h.keypoints[*c].is_observed())
                .flat_map(|(a, c)| [point(&h.keypoints[*a].position), point(&h.keypoints[*c].position)])
                .collect();
            let m = b.marker("skeletons", id, Marker::LINE_LIST as i32);
            m.points = bones;
            m.scale = Vector3 { x: 0.03, y: 0.0, z: 0.0 };
            m.color = color.clone();
            let joints: Vec<Point> = h.observed().map(|k| point(&k.position)).collect();
            let m = b.marker("keypoints", id, Marker::SPHERE_LIST as i32);
            m.points = joints;
            m.scale = Vector3 { x: 0.06, y: 0.06, z: 0.06 };
            m.color = color;
        }
    }
    for p in predictions {
        let id = p.human_id as i32;
        let color = intent_color(p.intent());
        let m = b.marker("predicted_paths", id, Marker::LINE_STRIP as i32);
        m.points = p.future.iter().map(|step| point(&step[TORSO])).collect();
        m.scale = Vector3 { x: 0.04, y: 0.0, z: 0.0 };
        m.color = color.clone();
        if let Some(last) = p.future.first() {
            let m = b.marker("intent_labels", id, Marker::TEXT_VIEW_FACING as i32);
            m.pose.position = Point { x: last[TORSO].x, y: last[TORSO].y, z: last[TORSO].z + 1.2 };
            m.scale = Vector3 { x: 0.0, y: 0.0, z: 0.18 };
            m.color = color;
            m.text = format!("#{} {} {:.0}%", p.human_id, p.intent().label(), p.confidence * 100.0);
        }
    }
    if let Some(d) = decision {
        let ring_color = match d.mode {
            Mode::Stop | Mode::Fault => rgba(1.0, 0.1, 0.1, 0.35),
            Mode::Slowdown => rgba(1.0, 0.8, 0.1, 0.35),
            _ => rgba(0.1, 0.9, 0.3, 0.25),
        };
        let diameter = (2.0 * d.required_separation).max(0.01);
        let m = b.marker("separation", 0, Marker::CYLINDER as i32);
        m.scale = Vector3 { x: diameter, y: diameter, z: 0.02 };
        m.color = ring_color;
        b.arrow(0, &d.user, rgba(0.2, 0.4, 1.0, 1.0), 0.30);
        b.arrow(1, &d.assist, rgba(0.8, 0.2, 0.9, 1.0), 0.35);
        b.arrow(2, &d.output, rgba(0.1, 0.9, 0.2, 1.0), 0.40);
    }
    MarkerArray { markers: b.out }
}
