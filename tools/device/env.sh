# On the GPU machine: `source tools/device/env.sh` from the repository root before any run.
# Installs the carried anchor wheels (.whl/) and points ganeval at the staged weights and data.
export PYTHONUNBUFFERED=1
if [ ! -d /tmp/site/torch_fidelity ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
fi
export PYTHONPATH=/tmp/site:$PWD
export GANEVAL_WEIGHTS=/root/w/inception-2015-12-05-imported.pth
export GANEVAL_DATA=/root/datasets
export GANEVAL_HOME=/root/ganeval-home
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c "import torch, torchvision, scipy; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'scipy', scipy.__version__)"
