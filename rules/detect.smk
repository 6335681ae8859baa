# Detect stage: one job per (detector, stream, record) sweeps that detector's whole grid on the stream.
from ecgflow.grid import canonical_stream_grid

DETECT_TARGETS = [f"{RES}/detections/{d}/{s}/{r}.parquet" for d, s, r in DETECT_JOBS]


def detect_inputs(wildcards):
    """The ecg stream reads the tidy signal; the beat streams read the beats table."""
    if wildcards.stream == "ecg":
        return {"tidy": f"{RES}/tidy/{wildcards.record}.parquet"}
    return {"beats": f"{RES}/beats/{wildcards.record}.parquet"}


def detect_setup(wildcards):
    """Only this detector's semantics and fixed params and this stream's grid, in canonical form."""
    spec = config["detectors"][wildcards.detector]
    key = f"detectors.{wildcards.detector}.streams.{wildcards.stream}"
    return canonical(
        {
            "semantics": spec.get("semantics", "river"),
            "params": spec.get("params") or {},
            "grid": canonical_stream_grid(spec["streams"][wildcards.stream], wildcards.detector, wildcards.stream, key),
        }
    )


rule detect_grid:
    input:
        unpack(detect_inputs),
    output:
        f"{RES}/detections/{{detector}}/{{stream}}/{{record}}.parquet",
    params:
        setup=detect_setup,
        code=source_hash("detectors", "streams", "grid", "sweep"),
    wildcard_constraints:
        detector=one_of(sorted(config["detectors"])),
        stream="ecg|rr|drr|irr",
    log:
        log_path("detect", "{detector}", "{stream}", "{record}"),
    threads: 1
    script:
        "../scripts/detect.py"
