//! rosbag2 bags in MCAP storage (profile `ros2`, CDR messages), without rosbag2: a bag is a directory with
//! `metadata.yaml` and one `<dir>.mcap`, laid out as rosbags writes it (bag version 9), so `ros2 bag info`
//! and `ros2 bag play` accept it. Messages are (de)serialized with r2r's typesupport
//! ([`r2r::WrappedTypesupport`]); the type table (definitions, type hashes) is [`crate::bag::types`].

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use r2r::WrappedTypesupport;

use crate::bag::types::bag_type;

/// One message of a bag, in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct BagMessage {
    pub topic: String,
    /// `pkg/msg/Name`.
    pub msg_type: String,
    /// Receive time of the recorder \[ns\] (the bag clock).
    pub log_time: i64,
    /// CDR bytes (with the 4-byte encapsulation header).
    pub data: Vec<u8>,
}

/// `msg` as CDR with every alignment padding byte zero, so the same message always gives the same bytes.
///
/// The ROS serializer skips the padding bytes without writing them, and r2r's `to_serialized_bytes` reuses
/// one buffer per thread, so its padding carried whatever an earlier message had left there. Here the message
/// is serialized into a zero-filled buffer sized well beyond its length (known from a first serialization): the
/// serializer only shrinks it to the message, which keeps its contents.
pub fn serialize<T: WrappedTypesupport>(msg: &T) -> anyhow::Result<Vec<u8>> {
    use r2r_rcl::{
        rcutils_get_default_allocator, rcutils_get_zero_initialized_uint8_array, rcutils_uint8_array_fini,
        rcutils_uint8_array_init, rmw_serialize,
    };
    let length = msg.to_serialized_bytes().map_err(|e| anyhow::anyhow!("{e}"))?.len();
    let capacity = 2 * length + 4096;
    let native = T::create_msg();
    // SAFETY: `create_msg` returns an initialized message owned here and destroyed below; the array is
    // initialized by rcutils with its own allocator, zero-filled over its capacity, and finalized below.
    unsafe {
        let Some(native_ref) = native.as_mut() else { anyhow::bail!("cannot allocate the message") };
        msg.copy_to_native(native_ref);
        let allocator = rcutils_get_default_allocator();
        let mut array = rcutils_get_zero_initialized_uint8_array();
        let result = if rcutils_uint8_array_init(&mut array, capacity, &allocator) != 0 {
            Err(anyhow::anyhow!("cannot allocate {capacity} bytes"))
        } else {
            std::ptr::write_bytes(array.buffer, 0, capacity);
            let ret = rmw_serialize(native as *const std::os::raw::c_void, T::get_ts(), &mut array);
            let out = if ret != 0 {
                Err(anyhow::anyhow!("rmw_serialize failed ({ret})"))
            } else if array.buffer_capacity > capacity {
                // Shrinking (the serializer sizes the buffer to the message) keeps the zeros; growing would not.
                Err(anyhow::anyhow!("the serializer grew the buffer: padding not guaranteed zero"))
            } else {
                Ok(std::slice::from_raw_parts(array.buffer, array.buffer_length).to_vec())
            };
            rcutils_uint8_array_fini(&mut array);
            out
        };
        T::destroy_msg(native);
        result
    }
}

impl BagMessage {
    /// `msg` as CDR on `topic`, received at `log_time` \[ns\].
    pub fn encode<T: WrappedTypesupport>(topic: &str, msg_type: &str, log_time: i64, msg: &T) -> anyhow::Result<Self> {
        let data = serialize(msg).map_err(|e| anyhow::anyhow!("serializing {msg_type}: {e}"))?;
        Ok(BagMessage { topic: topic.to_owned(), msg_type: msg_type.to_owned(), log_time, data })
    }

    /// Decodes the CDR payload as `T`.
    pub fn decode<T: WrappedTypesupport>(&self) -> anyhow::Result<T> {
        T::from_serialized_bytes(&self.data)
            .map_err(|e| anyhow::anyhow!("{}: cannot decode {}: {e}", self.topic, self.msg_type))
    }
}

/// The `.mcap` file of a bag: `path` itself when it is a file, else the first `*.mcap` named in the
/// directory's `metadata.yaml` (or found in it).
pub fn mcap_path(path: &Path) -> anyhow::Result<PathBuf> {
    if path.is_file() {
        return Ok(path.to_owned());
    }
    let meta = path.join("metadata.yaml");
    if let Ok(text) = std::fs::read_to_string(&meta) {
        let v: serde_yaml::Value =
            serde_yaml::from_str(&text).with_context(|| format!("parsing {}", meta.display()))?;
        if let Some(files) = v["rosbag2_bagfile_information"]["relative_file_paths"].as_sequence() {
            if files.len() > 1 {
                bail!("{}: split bags ({} files) are not supported", path.display(), files.len());
            }
            if let Some(f) = files.first().and_then(|f| f.as_str()) {
                return Ok(path.join(f));
            }
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("reading {}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mcap"))
        .collect();
    found.sort();
    found.into_iter().next().with_context(|| format!("no .mcap file in {}", path.display()))
}

/// Reads every message of a bag (directory or `.mcap` file) in file order.
pub fn read_bag(path: &Path) -> anyhow::Result<Vec<BagMessage>> {
    let file = mcap_path(path)?;
    let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let mut out = Vec::new();
    for m in mcap::MessageStream::new(&bytes).with_context(|| format!("{} is not an MCAP file", file.display()))? {
        let m = m.with_context(|| format!("reading {}", file.display()))?;
        if m.channel.message_encoding != "cdr" {
            continue;
        }
        let msg_type = m.channel.schema.as_ref().map(|s| s.name.clone()).unwrap_or_default();
        out.push(BagMessage {
            topic: m.channel.topic.clone(),
            msg_type,
            log_time: i64::try_from(m.log_time).unwrap_or(i64::MAX),
            data: m.data.into_owned(),
        });
    }
    Ok(out)
}

/// Per-topic totals kept for `metadata.yaml`.
struct TopicInfo {
    msg_type: String,
    channel: u16,
    count: u64,
}

/// Writes a rosbag2 MCAP bag directory. Call [`BagWriter::finish`] to write the summary and `metadata.yaml`.
pub struct BagWriter {
    dir: PathBuf,
    file_name: String,
    mcap: mcap::Writer<BufWriter<File>>,
    topics: BTreeMap<String, TopicInfo>,
    sequence: u32,
    first: Option<i64>,
    last: Option<i64>,
    count: u64,
}

impl BagWriter {
    /// Creates `dir` (which must not exist yet, as with `ros2 bag record -o`) and `dir/<name>.mcap`.
    pub fn create(dir: &Path) -> anyhow::Result<Self> {
        if dir.exists() {
            bail!("{} exists already", dir.display());
        }
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let stem = dir.file_name().and_then(|s| s.to_str()).filter(|s| !s.is_empty()).unwrap_or("bag");
        let file_name = format!("{stem}.mcap");
        let f = File::create(dir.join(&file_name))
            .with_context(|| format!("creating {}", dir.join(&file_name).display()))?;
        let mcap = mcap::WriteOptions::new()
            .profile("ros2")
            .library("intent_shared_control")
            .compression(None)
            .create(BufWriter::new(f))
            .context("starting the MCAP file")?;
        Ok(BagWriter {
            dir: dir.to_owned(),
            file_name,
            mcap,
            topics: BTreeMap::new(),
            sequence: 0,
            first: None,
            last: None,
            count: 0,
        })
    }

    /// Writes CDR bytes on `topic` of type `msg_type` (`pkg/msg/Name`, must be in the type table).
    pub fn write_raw(&mut self, topic: &str, msg_type: &str, log_time: i64, data: &[u8]) -> anyhow::Result<()> {
        let channel = match self.topics.get(topic) {
            Some(t) if t.msg_type == msg_type => t.channel,
            Some(t) => bail!("topic {topic} has type {} already, not {msg_type}", t.msg_type),
            None => {
                let ty = bag_type(msg_type).with_context(|| format!("type {msg_type} is not in the bag type table"))?;
                let schema = self.mcap.add_schema(ty.name, "ros2msg", ty.definition.as_bytes())?;
                let mut meta = BTreeMap::new();
                meta.insert("offered_qos_profiles".to_owned(), "[]".to_owned());
                let channel = self.mcap.add_channel(schema, topic, "cdr", &meta)?;
                self.topics.insert(topic.to_owned(), TopicInfo { msg_type: msg_type.to_owned(), channel, count: 0 });
                channel
            }
        };
        let t = u64::try_from(log_time).context("negative log time")?;
        self.mcap.write_to_known_channel(
            &mcap::records::MessageHeader {
                channel_id: channel,
                sequence: self.sequence,
                log_time: t,
                publish_time: t,
            },
            data,
        )?;
        self.sequence = self.sequence.wrapping_add(1);
        if let Some(info) = self.topics.get_mut(topic) {
            info.count += 1;
        }
        self.first = Some(self.first.map_or(log_time, |f| f.min(log_time)));
        self.last = Some(self.last.map_or(log_time, |l| l.max(log_time)));
        self.count += 1;
        Ok(())
    }

    /// Serializes `msg` and writes it.
    pub fn write<T: WrappedTypesupport>(
        &mut self,
        topic: &str,
        msg_type: &str,
        log_time: i64,
        msg: &T,
    ) -> anyhow::Result<()> {
        let data = serialize(msg).map_err(|e| anyhow::anyhow!("serializing {msg_type}: {e}"))?;
        self.write_raw(topic, msg_type, log_time, &data)
    }

    /// Finishes the MCAP file and writes `metadata.yaml`; returns the bag directory.
    pub fn finish(mut self) -> anyhow::Result<PathBuf> {
        let meta = self.metadata_yaml();
        let mut m = BTreeMap::new();
        m.insert("serialized_metadata".to_owned(), meta.clone());
        self.mcap.write_metadata(&mcap::records::Metadata { name: "rosbag2".into(), metadata: m })?;
        self.mcap.finish().context("finishing the MCAP file")?;
        std::fs::write(self.dir.join("metadata.yaml"), meta).context("writing metadata.yaml")?;
        Ok(self.dir)
    }

    /// `metadata.yaml` as rosbag2 (version 9) and rosbags write it.
    fn metadata_yaml(&self) -> String {
        let start = self.first.unwrap_or(0);
        let duration = self.last.unwrap_or(0) - start;
        let mut s = String::new();
        s.push_str("rosbag2_bagfile_information:\n");
        s.push_str("  compression_format: ''\n  compression_mode: ''\n  custom_data: null\n");
        s.push_str(&format!("  duration:\n    nanoseconds: {duration}\n"));
        s.push_str("  files:\n");
        s.push_str(&format!("  - duration:\n      nanoseconds: {duration}\n    message_count: {}\n", self.count));
        s.push_str(&format!(
            "    path: {}\n    starting_time:\n      nanoseconds_since_epoch: {start}\n",
            self.file_name
        ));
        s.push_str(&format!("  message_count: {}\n", self.count));
        s.push_str(&format!("  relative_file_paths:\n  - {}\n", self.file_name));
        s.push_str("  ros_distro: jazzy\n");
        s.push_str(&format!("  starting_time:\n    nanoseconds_since_epoch: {start}\n"));
        s.push_str("  storage_identifier: mcap\n");
        s.push_str("  topics_with_message_count:\n");
        for (name, t) in &self.topics {
            let hash = bag_type(&t.msg_type).map_or("", |b| b.hash);
            s.push_str(&format!("  - message_count: {}\n    topic_metadata:\n", t.count));
            s.push_str(&format!(
                "      name: {name}\n      offered_qos_profiles: []\n      serialization_format: cdr\n"
            ));
            s.push_str(&format!("      type: {}\n      type_description_hash: {hash}\n", t.msg_type));
        }
        s.push_str("  version: 9\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use r2r::geometry_msgs::msg::TwistStamped;
    use r2r::std_msgs::msg::Header;

    #[test]
    fn the_same_message_always_gives_the_same_bytes() {
        // A cmd_vel has padding after its frame_id; fill r2r's per-thread buffer with other bytes first.
        let msg = TwistStamped {
            header: Header { frame_id: "base_link".into(), ..Default::default() },
            ..Default::default()
        };
        let noise = Header { frame_id: "x".repeat(200), ..Default::default() };
        let first = serialize(&msg).expect("serializes");
        let _ = noise.to_serialized_bytes();
        let second = serialize(&msg).expect("serializes");
        assert_eq!(first, second);
        assert_eq!(first.len(), msg.to_serialized_bytes().expect("serializes").len());
        assert_eq!(TwistStamped::from_serialized_bytes(&first).expect("decodes"), msg);
    }
}
