"""Bags written by the Rust tools are rosbag2 bags that rosbags (and so `ros2 bag`) reads: metadata, types,
type hashes, CDR payloads; and the generated type table matches the .msg files."""
import subprocess
import sys

import yaml
from rosbags.rosbag2 import Reader

from ros.harness import REPO

sys.path.insert(0, str(REPO / "scripts"))
import bag_types_gen  # noqa: E402


def test_type_table_is_current():
    assert (REPO / "src" / "bag" / "types.rs").read_text() == bag_types_gen.render(), \
        "src/bag/types.rs is stale: python3 scripts/bag_types_gen.py > src/bag/types.rs"


def test_scenario_bag_reads_with_rosbags(tmp_path, bin_dir):
    subprocess.run([str(bin_dir / "bag_scenario"), "--out", str(tmp_path), "--kind", "nan_burst"], check=True,
                   timeout=120, capture_output=True)
    bag = tmp_path / "nan_burst_s7"
    meta = yaml.safe_load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert meta["version"] == 9 and meta["storage_identifier"] == "mcap"
    ts = bag_types_gen.typestore()
    want_hash = {t["topic_metadata"]["type"]: t["topic_metadata"]["type_description_hash"]
                 for t in meta["topics_with_message_count"]}
    for type_name, h in want_hash.items():
        assert h == ts.hash_rihs01(type_name), type_name
    counts = {}
    with Reader(bag) as r:
        assert r.message_count == meta["message_count"] > 1000
        for conn, _t, raw in r.messages():
            ts.deserialize_cdr(raw, conn.msgtype)
            counts[conn.topic] = counts.get(conn.topic, 0) + 1
    assert {"/joy", "/humans/skeletons", "/humans/intent", "/cmd_vel", "/shared_control/status", "/clock",
            "/ground_truth/humans"} <= set(counts)
