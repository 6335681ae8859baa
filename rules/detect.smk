# Detect stage: one job per (detector, stream, record) sweeps that detector's whole grid on the stream.

DETECT_TARGETS = [f"{RES}/detections/{d}/{s}/{r}.parquet" for d, s, r in DETECT_JOBS]


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
        stream=one_of(STREAMS),
    conda:
        "../environment.yml"
    log:
        log_path("detect", "{detector}", "{stream}", "{record}"),
    threads: 1
    script:
        "../scripts/detect.py"
