#!/usr/bin/env python3
"""Python onnxruntime side of the `bench_intent` benchmark (called by it; not a test).

Times `session.run` of the same model on the same input windows as the Rust side, per batch size, with one
intra-op thread on the CPU provider (or the CUDA provider when asked), and writes the raw per-call times [ns]
as JSON so that both sides are summarised by the same code. Needs numpy and onnxruntime.
"""

import argparse
import json
import time

import numpy as np
import onnxruntime as ort

WINDOW, FEATURES = 30, 71


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--input", required=True, help="float32 little-endian [n, 30, 71] windows")
    p.add_argument("--batches", required=True, help="comma-separated batch sizes")
    p.add_argument("--iters", type=int, required=True)
    p.add_argument("--warmup", type=int, required=True)
    p.add_argument("--provider", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--out", required=True)
    args = p.parse_args()

    windows = np.fromfile(args.input, dtype="<f4").reshape(-1, WINDOW, FEATURES)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    providers = ["CUDAExecutionProvider"] if args.provider == "cuda" else ["CPUExecutionProvider"]
    session = ort.InferenceSession(args.model, options, providers=providers)
    result = {"onnxruntime_version": ort.__version__, "providers": session.get_providers(), "samples_ns": {}}
    for b in [int(x) for x in args.batches.split(",")]:
        if b > windows.shape[0]:
            raise SystemExit(f"batch {b} needs more than the {windows.shape[0]} windows given")
        feed = {"pose_window": np.ascontiguousarray(windows[:b])}
        for _ in range(args.warmup):
            session.run(None, feed)
        samples = []
        for _ in range(args.iters):
            t0 = time.perf_counter_ns()
            session.run(None, feed)
            samples.append(time.perf_counter_ns() - t0)
        result["samples_ns"][str(b)] = samples
    with open(args.out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
