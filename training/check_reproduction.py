#!/usr/bin/env python3
"""Compare a reproduction of the intent model with the shipped files; print a PASS/FAIL table.

Standard library only. Both trees have the repository's layout (`training/run_all.sh --check` writes its
reproduction to out/reproduction/ in that layout):

    models/intent_model.onnx
    models/intent_model.card.json
    reports/intent_evaluation.json
    tests/fixtures/intent_parity.json and intent_parity.{input,intent_logits,future_positions}.f32

    python3 training/check_reproduction.py                          # out/reproduction vs the repository
    python3 training/check_reproduction.py --shipped DIR --reproduced DIR [--rel-tol 1e-6] [--abs-tol 1e-9]

Checks, one row each:
  - sha256 of the reproduced ONNX file equals the shipped card's `sha256` and that of the shipped ONNX file;
  - the reproduced card's `sha256` is that of the reproduced ONNX file;
  - the reproduced card equals the shipped one, except the run-dependent fields in IGNORED_CARD;
  - the parity fixture's three .f32 files are byte-equal, and its manifest equal except for the directories of
    its paths (compared by file name);
  - the evaluation report, one row per top-level field, except the run-dependent fields in IGNORED_REPORT.
Integers, strings, booleans and list lengths must be equal; floats may differ by
|a - b| <= abs_tol + rel_tol * max(|a|, |b|) (defaults 1e-9 and 1e-6: the same ONNX file evaluated by the same
ONNX Runtime on another CPU may differ in the last bits of a float). Exit status: 0 when every row passes,
1 when one fails (details below the table), 2 on a usage error.
"""

import argparse
import hashlib
import json
import math
import pathlib
import sys

ONNX = "models/intent_model.onnx"
CARD = "models/intent_model.card.json"
REPORT = "reports/intent_evaluation.json"
PARITY_MANIFEST = "tests/fixtures/intent_parity.json"
PARITY_ARRAYS = [f"tests/fixtures/intent_parity.{key}.f32" for key in ("input", "intent_logits", "future_positions")]

# Fields that depend on the run (wall time, machine, output paths), not on the model; shown, never compared.
IGNORED_REPORT = {("elapsed_s",), ("machine",), ("reproduce",)}
IGNORED_CARD = {("training", "seconds")} | {("metrics",) + path for path in IGNORED_REPORT}

MISSING = object()


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def floats_close(a, b, rel_tol, abs_tol):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= abs_tol + rel_tol * max(abs(a), abs(b))


def diff(shipped, reproduced, rel_tol, abs_tol, path=(), ignored=frozenset()):
    """Differences between two JSON values: a list of (path, shipped, reproduced); MISSING marks an absent key."""
    if path in ignored:
        return []
    if isinstance(shipped, dict) and isinstance(reproduced, dict):
        out = []
        for key in list(shipped) + [k for k in reproduced if k not in shipped]:
            out += diff(shipped.get(key, MISSING), reproduced.get(key, MISSING), rel_tol, abs_tol, path + (key,),
                        ignored)
        return out
    if isinstance(shipped, list) and isinstance(reproduced, list):
        out = [(path + ("len",), len(shipped), len(reproduced))] if len(shipped) != len(reproduced) else []
        for i, (a, b) in enumerate(zip(shipped, reproduced)):
            out += diff(a, b, rel_tol, abs_tol, path + (i,), ignored)
        return out
    if is_number(shipped) and is_number(reproduced):
        if isinstance(shipped, int) and isinstance(reproduced, int):
            return [] if shipped == reproduced else [(path, shipped, reproduced)]
        close = floats_close(float(shipped), float(reproduced), rel_tol, abs_tol)
        return [] if close else [(path, shipped, reproduced)]
    if type(shipped) is type(reproduced) and shipped == reproduced:
        return []
    return [(path, shipped, reproduced)]


def path_str(path):
    return ".".join(str(p) for p in path) or "(root)"


def short(value, width=22):
    if value is MISSING:
        return "<missing>"
    if width < 64 and isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return value[:12] + "…"
    if isinstance(value, dict):
        return f"{{{len(value)} fields}}"
    if isinstance(value, list):
        return f"[{len(value)} values]"
    if isinstance(value, float):
        text = f"{value:.10g}"
    else:
        text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= width else text[: width - 1] + "…"


class Table:
    def __init__(self):
        self.rows = []  # (check, shipped, reproduced, ok, details)

    def add(self, check, shipped, reproduced, ok, details=()):
        self.rows.append((check, short(shipped), short(reproduced), ok, list(details)))

    def print(self, out=sys.stdout):
        headers = ("check", "shipped", "reproduced", "result")
        body = [(c, s, r, "PASS" if ok else "FAIL") for c, s, r, ok, _ in self.rows]
        widths = [max(len(h), *(len(row[i]) for row in body)) if body else len(h) for i, h in enumerate(headers)]
        line = "  ".join("{:<%d}" % w for w in widths)
        print(line.format(*headers), file=out)
        print(line.format(*("-" * w for w in widths)), file=out)
        for row in body:
            print(line.format(*row), file=out)
        failed = [(c, d) for c, _, _, ok, d in self.rows if not ok]
        for check, details in failed:
            if details:
                print(f"\nFAIL {check}:", file=out)
                for text in details[:12]:
                    print(f"  {text}", file=out)
                if len(details) > 12:
                    print(f"  … and {len(details) - 12} more", file=out)
        return not failed


def load_json(path, table, check):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        table.add(check, "", "", False, [f"{path}: {e}"])
        return None


def describe(diffs):
    return [f"{path_str(p)}: shipped {short(a, 64)} vs reproduced {short(b, 64)}" for p, a, b in diffs]


def strip_dirs(manifest):
    """The parity manifest with its paths reduced to file names (the reproduction lives in another directory)."""
    out = dict(manifest)
    for key in ("model", "card"):
        if isinstance(out.get(key), str):
            out[key] = pathlib.PurePosixPath(out[key]).name
    if isinstance(out.get("files"), dict):
        out["files"] = {k: pathlib.PurePosixPath(v).name if isinstance(v, str) else v for k, v in out["files"].items()}
    return out


def compare(shipped_root, repro_root, rel_tol, abs_tol):
    """Builds the table of every check; returns it."""
    t = Table()
    s_onnx, r_onnx = shipped_root / ONNX, repro_root / ONNX

    # ONNX file and the cards' sha256.
    s_card = load_json(shipped_root / CARD, t, "shipped card readable")
    r_card = load_json(repro_root / CARD, t, "reproduced card readable")
    r_sha = sha256(r_onnx) if r_onnx.is_file() else MISSING
    s_sha = sha256(s_onnx) if s_onnx.is_file() else MISSING
    if r_sha is MISSING:
        t.add("onnx file exists", "", str(r_onnx), False, [f"{r_onnx} not found"])
    if s_card is not None:
        card_sha = s_card.get("sha256", MISSING)
        ok = r_sha is not MISSING and r_sha == card_sha
        t.add("onnx sha256 == shipped card sha256", card_sha, r_sha, ok,
              [] if ok else describe([(("sha256",), card_sha, r_sha)]))
    ok = r_sha is not MISSING and r_sha == s_sha
    t.add("onnx sha256 == shipped onnx", s_sha, r_sha, ok, [] if ok else describe([(("sha256",), s_sha, r_sha)]))
    if r_card is not None:
        own = r_card.get("sha256", MISSING)
        ok = r_sha is not MISSING and own == r_sha
        t.add("reproduced card sha256 == its onnx", r_sha, own, ok,
              [] if ok else [f"onnx file {short(r_sha, 64)}", f"card sha256 {short(own, 64)}"])
    if s_card is not None and r_card is not None:
        d = diff(s_card, r_card, rel_tol, abs_tol, ignored=IGNORED_CARD)
        t.add("card (all compared fields)", s_card, r_card, not d, describe(d))

    # Parity fixture.
    for rel in PARITY_ARRAYS:
        a, b = shipped_root / rel, repro_root / rel
        sa = sha256(a) if a.is_file() else MISSING
        sb = sha256(b) if b.is_file() else MISSING
        ok = sa is not MISSING and sa == sb
        t.add(f"parity {pathlib.PurePosixPath(rel).name.split('.', 1)[1]} bytes", sa, sb, ok,
              [] if ok else [f"shipped {short(sa, 64)}", f"reproduced {short(sb, 64)}"])
    s_man = load_json(shipped_root / PARITY_MANIFEST, t, "shipped parity manifest readable")
    r_man = load_json(repro_root / PARITY_MANIFEST, t, "reproduced parity manifest readable")
    if s_man is not None and r_man is not None:
        d = diff(strip_dirs(s_man), strip_dirs(r_man), rel_tol, abs_tol)
        t.add("parity manifest (paths by file name)", s_man, r_man, not d, describe(d))

    # Evaluation report, one row per top-level field.
    s_rep = load_json(shipped_root / REPORT, t, "shipped evaluation report readable")
    r_rep = load_json(repro_root / REPORT, t, "reproduced evaluation report readable")
    not_compared = []
    if s_rep is not None and r_rep is not None:
        for key in list(s_rep) + [k for k in r_rep if k not in s_rep]:
            a, b = s_rep.get(key, MISSING), r_rep.get(key, MISSING)
            if (key,) in IGNORED_REPORT:
                not_compared.append(f"{key}: shipped {short(a, 40)}, reproduced {short(b, 40)}")
                continue
            d = diff(a, b, rel_tol, abs_tol, (key,))
            t.add(f"evaluation {key}", a, b, not d, describe(d))
    return t, not_compared


def main(argv=None):
    root = pathlib.Path(__file__).resolve().parents[1]
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.splitlines()[2:]))
    p.add_argument("--shipped", type=pathlib.Path, default=root,
                   help="tree with the shipped files (default: the repository)")
    p.add_argument("--reproduced", type=pathlib.Path, default=root / "out" / "reproduction",
                   help="tree with the reproduction (default: out/reproduction)")
    p.add_argument("--rel-tol", type=float, default=1e-6, help="relative tolerance of floats (default 1e-6)")
    p.add_argument("--abs-tol", type=float, default=1e-9, help="absolute tolerance of floats (default 1e-9)")
    args = p.parse_args(argv)
    for name in ("shipped", "reproduced"):
        if not getattr(args, name).is_dir():
            p.error(f"--{name} {getattr(args, name)} is not a directory")
    if args.rel_tol < 0 or args.abs_tol < 0:
        p.error("tolerances must be >= 0")

    print(f"shipped:    {args.shipped}\nreproduced: {args.reproduced}\n"
          f"floats: |a - b| <= {args.abs_tol:g} + {args.rel_tol:g} * max(|a|, |b|); everything else exact\n")
    table, not_compared = compare(args.shipped, args.reproduced, args.rel_tol, args.abs_tol)
    ok = table.print()
    if not_compared:
        print("\nnot compared (depend on the run, not the model): card training.seconds and:")
        for text in not_compared:
            print(f"  {text}")
    failed = sum(1 for row in table.rows if not row[3])
    print(f"\n{'PASS' if ok else 'FAIL'}: {len(table.rows) - failed} of {len(table.rows)} checks passed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
