"""On the GPU machine: the GPU-only code paths (folded, channels-last, cast network) on random weights."""

import torch

from ganeval.inception.network import FIDInception
from ganeval.inception.precision import prepare_for_device, tf32_convolutions

torch.manual_seed(0)
base = FIDInception(with_head=True).eval()
for m in base.modules():
    if isinstance(m, torch.nn.BatchNorm2d):
        m.running_mean.uniform_(-0.1, 0.1)
        m.running_var.uniform_(0.5, 1.5)
x = torch.rand(16, 3, 299, 299, device="cuda") * 2 - 1
cuda = torch.device("cuda")
with torch.no_grad(), tf32_convolutions(False):
    ref, _ = base.to(cuda)(x)
    for precision in ("strict", "tf32", "fp16", "bf16"):
        import copy

        net = prepare_for_device(copy.deepcopy(base), cuda, precision)
        dtype = next(net.Conv2d_1a_3x3.parameters()).dtype
        with tf32_convolutions(precision == "tf32"):
            out, logits = net(x.to(dtype=dtype, memory_format=torch.channels_last), with_logits=True)
        err = ((out - ref).abs().max() / ref.abs().max()).item()
        print(precision, dtype, out.dtype, logits.dtype, f"max rel err {err:.2e}")
