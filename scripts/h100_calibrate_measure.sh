#!/usr/bin/env bash
# Ground the engine on an NVIDIA H100 (or any CUDA GPU): install chipswitch, calibrate the
# GPU, train real models for a few steps and write a measurement report.
#
#   scripts/h100_calibrate_measure.sh                        # on the GPU machine; OUT=./out
#   OUT=/tmp/run scripts/h100_calibrate_measure.sh --quick   # shorter calibration
#   scripts/h100_calibrate_measure.sh --device cpu --quick   # CPU dry run, end to end
#
# Options: --device cuda|cpu (default cuda), --quick, --out DIR (default $OUT or ./out),
# --python PY (default: python3), --no-install, and any option of
# scripts/h100_calibrate_measure.py (--profile FILE, --limit N, --steps K, --threads N).
#
# Writes DIR/h100-profile.json (cpu-profile.json on CPU), DIR/measure-report.json,
# DIR/measure-report.md and DIR/run.log. Installing: an existing PyTorch (the machine's CUDA
# build) is kept: the package is installed without the `calibrate` extra, whose pinned torch
# is the CPU wheel; without network it falls back to --no-deps, then to PYTHONPATH=src.
set -euo pipefail
cd "$(dirname "$0")/.."

device=cuda
quick=()
out="${OUT:-./out}"
py=python3
install=1
extra=()
while (($#)); do
    case "$1" in
        --device) device="$2"; shift 2 ;;
        --quick) quick=(--quick); shift ;;
        --out) out="$2"; shift 2 ;;
        --python) py="$2"; shift 2 ;;
        --no-install) install=0; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) extra+=("$1"); shift ;;
    esac
done
mkdir -p "$out"

if ((install)); then
    if "$py" -c 'import torch' 2>/dev/null; then
        target=.
    else
        target='.[calibrate]'
    fi
    if ! "$py" -m pip install --quiet -e "$target" 2>"$out/pip.log"; then
        echo "pip install -e $target failed (offline?); retrying without dependencies" >&2
        if ! "$py" -m pip install --quiet --no-deps --no-build-isolation -e . 2>>"$out/pip.log"
        then
            echo "pip could not install the package; using PYTHONPATH=src" >&2
            export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
        fi
    fi
fi
"$py" -c 'import chipswitch, torch' || {
    echo "error: chipswitch or torch cannot be imported by $py" >&2
    exit 2
}
if [[ "$device" == cuda ]]; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null || true
fi
exec "$py" scripts/h100_calibrate_measure.py --device "$device" --out "$out" \
    ${quick[@]+"${quick[@]}"} ${extra[@]+"${extra[@]}"}
