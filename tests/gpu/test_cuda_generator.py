"""On a CUDA device: the golden cases still match, and fast (fp16) mode stays close to exact.

Skipped with a reason where torch sees no CUDA device (CI has none).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from golden_pickles import GOLDEN, build_torch_pickle
from installation.models import load_generator

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
]


@pytest.fixture(autouse=True)
def no_tf32():
    """TF32 convolutions would differ from NVIDIA's float32 reference (golden README)."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


@pytest.mark.parametrize("model", ["sg2_32", "sg2ada_cond_32", "sg3t_32", "sg3r_32"])
def test_golden_cases_on_cuda(model: str, tmp_path: Path) -> None:
    G = load_generator(build_torch_pickle(model, tmp_path / "g.pkl"), device="cuda")
    for name in ("seed0_psi1.0_const", "seed1_psi0.5_const"):
        case = np.load(GOLDEN / model / "cases" / f"{name}.npz")
        c = torch.from_numpy(case["c"]).cuda() if G.c_dim else None
        with torch.inference_mode():
            ws = G.mapping(torch.from_numpy(case["z"]).cuda(), c, float(case["truncation_psi"]))
            img = G.synthesis(ws, noise_mode="const").cpu().numpy()
        ref = case["img"]
        rel = np.linalg.norm(img - ref) / np.linalg.norm(ref)
        assert rel < 1e-4 and np.abs(img - ref).max() < 1e-3, (model, name, rel)


@pytest.mark.parametrize("model", ["sg2_32", "sg3t_32"])
def test_fast_mode_uses_fp16_and_stays_close(model: str, tmp_path: Path) -> None:
    G = load_generator(build_torch_pickle(model, tmp_path / "g.pkl"), device="cuda")
    assert G.fp16_layers()
    z = torch.from_numpy(np.random.RandomState(0).randn(4, G.z_dim)).float().cuda()
    with torch.inference_mode():
        exact = G(z)
        fast = G.set_precision("fast")(z)
    assert fast.dtype == torch.float32 and torch.isfinite(fast).all()
    mse = float((exact.clamp(-1, 1) - fast.clamp(-1, 1)).square().mean())
    assert 10 * math.log10(4 / max(mse, 1e-12)) > 30
