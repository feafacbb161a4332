"""ShowRenderer: show time -> timeline frame parameters -> image -> Frame (render thread work).

Per frame: `Timeline.at(t)` -> ws (space w: the latent as is; space z: mapping with the frame's
psi/cutoff, then the WsEdits: mixing rows replaced, direction delta added) -> camera transform
(StyleGAN3 only) -> `G.synthesis` -> pixels. During an image crossfade the partner frame is
rendered the same way, resized to the main frame's size and blended in float.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from installation.models.latents import to_uint8
from installation.models.stylegan3 import camera_transform
from installation.render.frame import Frame
from installation.render.latents import SectionLatents, resolve_show
from installation.show.schema import Show
from installation.walk.timeline import FrameParams, Timeline

log = logging.getLogger(__name__)


class ShowRenderer:
    """Renders any show time of a show whose sections' latents are resolved.

    `generators` holds one loaded generator per model entry of the show, keyed by model name.
    They are all loaded at startup (a show has few models); loading/preloading a model just
    before it is needed belongs to the render-loop issue.
    """

    def __init__(
        self,
        show: Show,
        generators: Mapping[str, Any],
        device: str | torch.device,
        latents: Mapping[str, SectionLatents] | None = None,
    ) -> None:
        """`latents`: the resolved sections (resolve_show); None resolves them here."""
        self.show = show
        self.generators = dict(generators)
        self.device = torch.device(device)
        if latents is None:
            latents = resolve_show(show, self.generators)
        self.timeline = Timeline(show, latents)
        self._warned_no_camera: set[str] = set()

    def render(
        self, index: int, show_time_s: float, live: Mapping[str, float] | None = None
    ) -> Frame:
        """Render the frame for `show_time_s` (live values override the schedule)."""
        started_s = time.perf_counter()
        params = self.timeline.at(show_time_s, live)
        with torch.inference_mode():
            image = self.image(params)  # [C, H, W] float ~[-1, 1]
            if params.crossfade is not None:
                partner, weight = params.crossfade
                other = self.image(partner)
                if other.shape[1:] != image.shape[1:]:  # models of different resolution
                    other = F.interpolate(
                        other[None], size=tuple(image.shape[1:]), mode="bilinear",
                        align_corners=False, antialias=True,
                    )[0]  # fmt: skip
                other = _match_channels(other, image.shape[0])
                image = _match_channels(image, other.shape[0])
                image = (1.0 - weight) * image + weight * other
            pixels = to_uint8(image[None])[0]  # [H, W, C]
        if pixels.shape[2] == 1:  # grayscale model
            pixels = np.repeat(pixels, 3, axis=2)
        pixels = np.ascontiguousarray(pixels)
        gen_ms = (time.perf_counter() - started_s) * 1000
        return Frame(pixels=pixels, index=index, show_time_s=show_time_s, gen_ms=gen_ms)

    def ws(self, params: FrameParams) -> torch.Tensor:
        """The frame's ws [num_ws, w_dim] float32 on the device."""
        G = self.generators[params.model]
        latent = torch.from_numpy(np.asarray(params.latent, dtype=np.float32)).to(self.device)
        if params.space == "w":
            return latent
        entry = self.show.model(params.model)
        psi = entry.psi if params.psi is None else params.psi
        c = None
        c_dim = int(getattr(G, "c_dim", 0))
        if c_dim > 0:
            c = torch.zeros(1, c_dim, device=self.device)
            if entry.class_index is not None:
                c[0, entry.class_index] = 1.0
        ws = G.mapping(latent[None], c, truncation_psi=psi, truncation_cutoff=params.cutoff)[0]
        edits = params.ws_edits
        if edits is not None:
            ws = ws.clone()
            for first, stop, source in edits.mixing:
                ws[first:stop] = torch.from_numpy(np.asarray(source[first:stop], np.float32)).to(
                    ws.device, ws.dtype
                )
            if edits.delta is not None:
                ws = ws + torch.from_numpy(np.asarray(edits.delta, np.float32)).to(
                    ws.device, ws.dtype
                )
        return ws

    def image(self, params: FrameParams) -> torch.Tensor:
        """The frame's image [C, H, W] float32 ~[-1, 1] (no crossfade)."""
        G = self.generators[params.model]
        ws = self.ws(params)
        kwargs: dict[str, Any] = {}
        has_camera = params.translate_xy != (0.0, 0.0) or params.rotate_deg != 0.0
        if has_camera:
            if getattr(G, "is_stylegan3", False):
                kwargs["transform"] = camera_transform(params.translate_xy, params.rotate_deg)
            elif params.model not in self._warned_no_camera:
                self._warned_no_camera.add(params.model)
                log.warning(
                    "model %r is not a StyleGAN3: translate/rotate ignored (section %r)",
                    params.model, params.section_name,
                )  # fmt: skip
        if params.noise_strength is not None and not getattr(G, "is_stylegan3", False):
            kwargs["noise_scale"] = params.noise_strength  # SG3 has no noise inputs
        img = G.synthesis(ws[None], noise_mode=params.noise_mode, **kwargs)  # [1, C, H, W]
        return img[0].float()


def _match_channels(image: torch.Tensor, channels: int) -> torch.Tensor:
    """A grayscale [1, H, W] image repeated to `channels` when the other image has more."""
    if image.shape[0] == 1 and channels > 1:
        return image.expand(channels, -1, -1)
    return image
