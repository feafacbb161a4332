"""Each option type has one definition: the command line's choices are the layers' own names."""

from __future__ import annotations

from typing import get_args

import kernels.backend
from installation import options, settings
from installation.display import fit, presenter
from installation.models import spec


def test_kernel_backend_names_are_the_kernels_own() -> None:
    # the one name list the app keeps beside kernels/backend.py's (reached only with torch)
    assert options.KERNEL_BACKENDS == get_args(kernels.backend.Backend)


def test_fit_and_precision_are_defined_once() -> None:
    assert settings.Fit is fit.Fit is presenter.Fit and presenter.FITS is fit.FITS
    assert settings.Precision is options.Precision is spec.Precision


def test_shared_options_take_their_choices_from_the_definitions() -> None:
    shared = settings.shared_options()
    assert shared["--fit"]["choices"] == get_args(fit.Fit)
    assert shared["--precision"]["choices"] == get_args(options.Precision)
    assert shared["--kernels"]["choices"] == get_args(options.KernelBackend)
