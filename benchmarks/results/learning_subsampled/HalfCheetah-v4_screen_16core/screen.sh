#!/bin/bash
# Screening on the lent 16-core host: 15 HalfCheetah 4x20 runs (5 variants x 3 seeds) on one
# CPU core each, plus a short CUDA smoke run (batch 1 only); stopped cleanly at ~$BUDGET s.
# Run from the repo root with the .whl/ wheels carried:
#   VARIANTS=<this folder>/batch1.variants BUDGET=520 bash <this folder>/screen.sh
# (the two batches ran as two copies of this script, differing only in their variant lines)
BUDGET=${BUDGET:-520}
T0=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
export PYTHONPATH=/tmp/site:/tmp/c GAIL_DATA_DIR=$PWD/data OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
mkdir -p /tmp/c && cp -r gail_cli /tmp/c/ && cp -r conf /tmp/c/gail_cli/conf
nproc; python3 -c "import torch, numpy; print(torch.__version__, numpy.__version__, torch.cuda.is_available())"
if ! python3 -c "import gymnasium as g; e=g.make('HalfCheetah-v4'); e.reset(seed=0); print('mujoco ok')"; then
  export MUJOCO_GL=egl PYOPENGL_PLATFORM=egl
  python3 -c "import gymnasium as g; e=g.make('HalfCheetah-v4'); e.reset(seed=0); print('mujoco ok (egl)')" || exit 4
fi
mkdir -p /tmp/r; REPO=$PWD; cd /tmp/c
train() { name=$1; shift; python3 -c "from gail_cli.cli import train; train()" "$@" hydra.run.dir=/tmp/r/$name > /tmp/r/$name.stdout 2>&1 & }
C="env=HalfCheetah-v4 dataset.num_trajectories=4 dataset.subsample=20 device=cpu"
# VARIANTS: a file of lines "<name> <overrides...>" (batch1.variants, batch2.variants)
for s in 0 1 2; do
  while read -r name overrides; do
    train $name-s$s $C seed=$s $overrides
  done < "$REPO/$VARIANTS"
done
( t=$(date +%s); python3 -c "from gail_cli.cli import train; train()" env=HalfCheetah-v4 device=cuda trainer.total_env_steps=8192 trainer.eval_every=8192 hydra.run.dir=/tmp/r/cuda > /tmp/r/cuda.stdout 2>&1; echo "cuda smoke rc=$? wall=$(( $(date +%s) - t ))s" >> /tmp/r/cuda.stdout ) &
while [ $(( $(date +%s) - T0 )) -lt $BUDGET ]; do sleep 10; done
pkill -INT -f "gail_cli.cli import train"; sleep 20; pkill -9 -f "gail_cli.cli import train"
cd /tmp/r; for f in *.stdout; do echo "== $f"; grep -E "eval return|done|Error|error" $f | tail -14; done > $OUT/summary.txt
tail -5 cuda.stdout >> $OUT/summary.txt
tar czf $OUT/tb.tgz $(find . -name "events.out*")
cat $OUT/summary.txt
