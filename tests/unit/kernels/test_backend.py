"""Backend selection and dispatch."""

from __future__ import annotations

import importlib
import logging

import pytest
import torch

import kernels
from kernels import _compile, backend

ufd = importlib.import_module("kernels.upfirdn2d")
ba = importlib.import_module("kernels.bias_act")
flr = importlib.import_module("kernels.filtered_lrelu")


@pytest.fixture(autouse=True)
def _restore_backend(monkeypatch):
    saved = (backend._selected, backend._reason)
    _compile.clear_cache()
    yield
    backend._selected, backend._reason = saved
    _compile.clear_cache()


def _count_calls(monkeypatch, module, name):
    calls = []
    original = getattr(module, name)

    def counting(*args, **kwargs):
        calls.append(name)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return calls


@pytest.mark.parametrize(
    "module,op,args",
    [
        (ufd, kernels.upfirdn2d, (torch.ones(1, 1, 8, 8), torch.ones(3))),
        (ba, kernels.bias_act, (torch.ones(1, 2, 3),)),
        (flr, kernels.filtered_lrelu, (torch.ones(1, 1, 16, 16), torch.ones(4), torch.ones(4))),
    ],
)
def test_use_backend_routes_each_op(monkeypatch, module, op, args):
    ref_calls = _count_calls(monkeypatch, module, "_reference")
    fast_calls = _count_calls(monkeypatch, module, "_fast")
    assert backend.current() == "torch"  # the default before select()
    op(*args)
    assert (len(ref_calls), len(fast_calls)) == (0, 1)
    with kernels.use_backend("reference") as name:
        assert name == "reference" and backend.current() == "reference"
        op(*args)
    assert (len(ref_calls), len(fast_calls)) == (1, 1)
    assert backend.current() == "torch"


def test_select_auto_without_cuda_gives_torch_and_logs_one_info(monkeypatch, caplog):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with caplog.at_level(logging.DEBUG, logger="kernels"):
        assert kernels.select("auto") == "torch"
    assert backend.current() == "torch"
    assert "no CUDA device" in backend.reason()
    records = [r for r in caplog.records if r.name.startswith("kernels")]
    assert [r.levelname for r in records] == ["INFO"]
    assert records[0].getMessage() == "kernels: backend=torch (no CUDA device)"


def test_select_auto_with_cuda_but_no_kernels_warns_once(monkeypatch, caplog):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    with caplog.at_level(logging.DEBUG, logger="kernels"):
        assert kernels.select("auto") == "torch"
    records = [r for r in caplog.records if r.name.startswith("kernels")]
    assert [r.levelname for r in records] == ["WARNING"]
    # why the kernels did not load (here: no cuda-bindings, or a CPU-only torch) is in the line
    assert backend.reason() and backend.reason() in records[0].getMessage()


def test_select_cuda_raises_with_reason_on_this_machine(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="no CUDA device"):
        kernels.select("cuda")
    assert backend.current() == "torch"


def test_select_rejects_unknown_names_and_is_not_done_at_import():
    with pytest.raises(ValueError, match="backend must be one of"):
        kernels.select("gpu")
    with pytest.raises(ValueError, match="backend must be one of"):
        with kernels.use_backend("fast"):
            pass
    assert kernels.select("reference") == "reference"
    assert backend.reason() == "requested"


def test_compile_load_is_cached(monkeypatch):
    calls = []
    monkeypatch.setattr(_compile, "_load_uncached", lambda: calls.append(1) or (None, "why"))
    assert _compile.load() == (None, "why")
    assert _compile.load() == (None, "why")
    assert calls == [1]


def test_cuda_paths_hand_dtypes_without_a_kernel_to_the_torch_path():
    # bfloat16 has no CUDA kernel: the CUDA entry runs the torch path, so nothing is launched
    # (this machine has no GPU: a launch would fail)
    x = torch.randn(2, 3, 8, 8, dtype=torch.bfloat16)
    f = torch.tensor([1.0, 3.0, 3.0, 1.0]) / 8
    got = ufd._cuda(x, f, (2, 2), (1, 1), (2, 1, 2, 1), False, 4.0)
    want = ufd._fast(x, f, (2, 2), (1, 1), (2, 1, 2, 1), False, 4.0)
    assert torch.equal(got, want)
    b = torch.randn(3, dtype=torch.bfloat16)
    got = ba._cuda(x, b, 1, "lrelu", 0.2, 1.4, 256.0)
    assert torch.equal(got, ba._fast(x, b, 1, "lrelu", 0.2, 1.4, 256.0))


def test_filtered_lrelu_cuda_entry_runs_the_torch_path_until_its_kernel_exists():
    x = torch.randn(1, 2, 12, 12)
    fu = torch.tensor([1.0, 3.0, 3.0, 1.0]) / 8
    b = torch.randn(2)
    args = (x, fu, fu, b, (2, 2), (2, 2), (3, 3, 3, 3), 2**0.5, 0.2, 256.0, False)
    assert torch.equal(flr._cuda(*args), flr._fast(*args))
