#!/usr/bin/env bash
# The one command a session with a lent CUDA GPU runs, from the repository root of a fresh
# machine: install the project, say what the machine has, run the GPU tests
# (tests/test_gpu.py) and the device tests (tests/test_devices.py), run the throughput
# benchmark if it exists, and end with a PASS/FAIL line per stage. Every stage has a time
# limit and all of them share one budget (GPU_CHECK_BUDGET_S, default 470 s), so the script
# ends within 8 minutes. Output goes to stdout and, when $OUT is set, to $OUT/gpu_check.log.
# Exit status: 0 if every stage passed (an offline install is a warning, not a failure).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python3}
BUDGET_S=${GPU_CHECK_BUDGET_S:-470}
export PYTHONUNBUFFERED=1
LOG=/dev/null
if [ -n "${OUT:-}" ]; then
    mkdir -p "$OUT"
    LOG="$OUT/gpu_check.log"
fi

SUMMARY=()
FAILED=0

# Seconds a stage may take: its own cap, at most what is left of the budget.
limit() {
    local left=$((BUDGET_S - SECONDS))
    echo $(($1 < left ? $1 : left))
}

# stage [--no-skips] NAME CAP_S COMMAND...: run COMMAND under `timeout` and record PASS,
# FAIL or TIMEOUT; with --no-skips, a pytest run that skipped tests fails (a GPU test skipped
# on the GPU machine has checked nothing).
stage() {
    local no_skips=0
    if [ "$1" = --no-skips ]; then
        no_skips=1
        shift
    fi
    local name=$1 cap=$2 seconds rc=0 started=$SECONDS output
    shift 2
    seconds=$(limit "$cap")
    echo
    echo "=== $name (limit ${seconds}s) ==="
    if [ "$seconds" -lt 10 ]; then
        SUMMARY+=("FAIL     $name: no time left in the ${BUDGET_S}s budget")
        FAILED=1
        return 0
    fi
    output=$(mktemp)
    { timeout --kill-after=10 "$seconds" "$@" 2>&1 | tee "$output"; } || rc=$?
    local took=$((SECONDS - started))
    local skipped
    skipped=$(grep -oE '[0-9]+ skipped' "$output" | tail -n 1 || true)
    rm -f "$output"
    if [ "$rc" -eq 0 ] && [ "$no_skips" -eq 1 ] && [ -n "$skipped" ]; then
        SUMMARY+=("FAIL     $name: $skipped (${took}s)")
        FAILED=1
    elif [ "$rc" -eq 0 ]; then
        SUMMARY+=("PASS     $name (${took}s${skipped:+, $skipped})")
    elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        SUMMARY+=("TIMEOUT  $name: stopped after ${seconds}s")
        FAILED=1
    else
        SUMMARY+=("FAIL     $name: exit status $rc (${took}s)")
        FAILED=1
    fi
}

install() {
    echo
    echo "=== install: $PY -m pip install -q -e .[test] ==="
    local rc=0 seconds
    seconds=$(limit 120)
    timeout --kill-after=10 "$seconds" \
        "$PY" -m pip install -q --retries 1 --timeout 20 -e ".[test]" || rc=$?
    if [ "$rc" -eq 0 ]; then
        SUMMARY+=("PASS     install")
        return 0
    fi
    # A machine with no package registry in reach: use what it has, plus any wheels carried
    # in .whl/ (missing packages, e.g. rouge-score and nltk), and the package from src/.
    SUMMARY+=("WARN     install: pip exited $rc (offline?); ran on the machine's packages, src/")
    if compgen -G ".whl/*.whl" >/dev/null; then
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/gpu_check_site .whl/*.whl || true
        export PYTHONPATH="/tmp/gpu_check_site:${PYTHONPATH:-}"
    fi
    export PYTHONPATH="$PWD/src:${PYTHONPATH:-}"
}

machine() {
    echo
    echo "=== machine ==="
    if command -v nvidia-smi >/dev/null; then
        nvidia-smi || true
    else
        echo "nvidia-smi: not found"
    fi
    "$PY" - <<'EOF' || true
import platform
import sys

import torch

print("python", sys.version.split()[0], platform.machine())
print("torch", torch.__version__, "| built for CUDA", torch.version.cuda,
      "| cuDNN", torch.backends.cudnn.version())
print("cuda available:", torch.cuda.is_available(), "| devices:", torch.cuda.device_count())
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    print(f"  cuda:{i} {p.name}, {p.total_memory / 2**30:.0f} GiB, capability "
          f"{p.major}.{p.minor}, bf16: {torch.cuda.is_bf16_supported()}")
for name in ("transformers", "snakemake", "rouge_score", "taskconflict"):
    try:
        module = __import__(name)
        print(name, getattr(module, "__version__", ""), module.__file__)
    except ImportError as error:
        print(name, "MISSING:", error)
EOF
}

main() {
    echo "gpu_check: $(date -u +%FT%TZ) on $(hostname), in $PWD"
    install
    machine
    stage "CUDA visible to torch" 30 \
        "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"
    stage "import taskconflict" 60 \
        "$PY" -c "import taskconflict.run, taskconflict.evaluate, taskconflict.train"
    stage --no-skips "GPU tests: pytest -m gpu tests/test_gpu.py" 240 \
        "$PY" -m pytest -q -rs -p no:cacheprovider -m gpu tests/test_gpu.py
    stage "device tests: pytest tests/test_devices.py" 120 \
        "$PY" -m pytest -q -rs -p no:cacheprovider tests/test_devices.py
    if [ -f benchmarks/throughput.py ]; then
        stage "benchmark: benchmarks/throughput.py --device cuda --quick" 300 \
            "$PY" benchmarks/throughput.py --device cuda --quick
    else
        SUMMARY+=("SKIP     benchmark: benchmarks/throughput.py is not there")
    fi

    echo
    echo "=== summary (${SECONDS}s) ==="
    printf '%s\n' "${SUMMARY[@]}"
    if [ "$FAILED" -eq 0 ]; then
        echo "GPU CHECK: PASS"
    else
        echo "GPU CHECK: FAIL"
    fi
    return "$FAILED"
}

main 2>&1 | tee "$LOG"
