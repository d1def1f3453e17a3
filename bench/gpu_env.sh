# Sourced by gpu_check.sh and gpu_followup.sh: the repository root as working directory, the output
# folder (first argument, else $OUT, else runs/gpu), the CIFAR-10 files carried in .data, and LSW_HOME.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=${1:-${OUT:-runs/gpu}}
data=${CIFAR:-.data/cifar10-jpeg.npz}
human=${HUMAN:-.data/cifar10n-random1.npz:random_label1}
mkdir -p "$out"
export LSW_HOME=${LSW_HOME:-$out/home}
