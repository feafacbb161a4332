"""ShowRenderer: frame parameters -> image -> Frame (render thread work).

Per frame (the Player's resolved FrameParams, or the schedule's for an offline render): ws
(space w: the latent as is; space z: `models/latents.py map_z` with the frame's psi/cutoff, then
its WsEdits), the live mixing and glide -> camera transform (StyleGAN3 only) -> `G.synthesis` ->
pixels. During an image crossfade the partner frame is rendered the same way, resized to the main
frame's size and blended in float. It keeps no live state: that is the Player's.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from installation.models.latents import edit_ws, float_to_uint8, map_z, seed_z
from installation.models.stylegan3 import camera_transform
from installation.render.frame import Frame
from installation.render.resolve import SectionLatents, as_ws, resolve_show
from installation.show.arrays import read_latent_file
from installation.show.schema import Show
from installation.walk.timeline import FrameParams, LiveInput, Timeline, resolved

log = logging.getLogger(__name__)

# CPU frames leave as float16 planes: half the bytes of float32 to upload, and the shader's
# conversion stays within one 8-bit level of NVIDIA's (Frame.rgb8()).
PLANES_DTYPE = torch.float16
LATENTS_FOLDER = "latents"  # stored latents for GlideTo, next to the show file


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

    def render(self, index: int, show_time_s: float, live: LiveInput | None = None) -> Frame:
        """Render the frame the schedule has at `show_time_s` (live values override it)."""
        return self.render_batch([(index, show_time_s)], live=live)[0]

    def render_batch(
        self,
        slots: Sequence[tuple[int, float]],
        params: Sequence[FrameParams] | None = None,
        epoch: int = 0,
        live: LiveInput | None = None,
    ) -> list[Frame]:
        """Render several frames (index, show time) in as few generator passes as possible.

        `params`: each slot's resolved frame parameters (the Player's, in a live show); None
        takes the schedule's (offline renders: the timeline at each show time, with `live`).
        Frames that share a model, noise mode and noise strength go through the synthesis
        network together ([N, num_ws, w_dim], one camera matrix each); crossfade partners join
        their group. CPU frames come back as float planes (the shader converts them), CUDA
        frames as uint8 converted on the device and copied through pinned memory (Frame
        docstring).
        """
        started_s = time.perf_counter()
        if params is None:
            params = [resolved(self.timeline.at(show_time_s, live)) for _, show_time_s in slots]
        requests = list(params) + [p.crossfade[0] for p in params if p.crossfade is not None]
        with torch.inference_mode():
            images = self._images(requests)  # one [C, H, W] float per request
            partner_index = len(params)
            composed = []
            for i, p in enumerate(params):
                image = images[i]
                if p.crossfade is not None:
                    image = _blend(image, images[partner_index], p.crossfade[1])
                    partner_index += 1
                composed.append(image)
            pixels = self._to_host(composed)
        gen_ms = (time.perf_counter() - started_s) * 1000 / len(slots)
        return [
            Frame(pixels=pixels[i], index=index, show_time_s=show_time_s, gen_ms=gen_ms,
                  section_name=params[i].section_name, model_name=params[i].model, epoch=epoch)
            for i, (index, show_time_s) in enumerate(slots)
        ]  # fmt: skip

    def _images(self, requests: Sequence[FrameParams]) -> list[torch.Tensor]:
        """Images [C, H, W] float32 of the requests, rendered in groups that share a pass."""
        groups: dict[tuple[str, str, float | None], list[int]] = {}
        for i, p in enumerate(requests):
            groups.setdefault((p.model, p.noise_mode, p.noise_strength), []).append(i)
        images: list[torch.Tensor | None] = [None] * len(requests)
        for indices in groups.values():
            batch = self.images([requests[i] for i in indices])  # [n, C, H, W]
            for i, image in zip(indices, batch, strict=True):
                images[i] = image
        return images  # type: ignore[return-value]

    def _to_host(self, images: Sequence[torch.Tensor]) -> list[np.ndarray]:
        """Device images -> Frame pixels: float16 planes from the CPU, uint8 RGB from a GPU."""
        shapes = {tuple(image.shape) for image in images}
        if len(shapes) == 1:
            stacked = torch.stack(list(images))  # [N, C, H, W]
            return list(_host_pixels(stacked))
        return [_host_pixels(image[None])[0] for image in images]  # mixed sizes: one by one

    def ws(self, params: FrameParams) -> torch.Tensor:
        """The frame's ws [num_ws, w_dim] float32 on the device, with the live overrides."""
        ws = self._scheduled_ws(params)
        if params.live_mixing is not None:  # live style mixing: rows from another seed
            source, first, stop = params.live_mixing
            if tuple(source.shape) == tuple(ws.shape):
                ws = edit_ws(ws, [(first, stop, source)])
        if params.live_ws is not None:  # a live glide to a place in latent space
            target, weight = params.live_ws
            if tuple(np.shape(target)) == tuple(ws.shape) and weight > 0:
                target_t = torch.from_numpy(np.asarray(target, np.float32)).to(ws.device)
                ws = ws + float(min(weight, 1.0)) * (target_t.to(ws.dtype) - ws)
        return ws

    def target_ws(self, model: str, seed: int) -> np.ndarray:
        """ws [num_ws, w_dim] of a seed under `model`, mapped with the model entry's psi."""
        G = self.generators[model]
        entry = self.show.model(model)
        z = seed_z(seed, int(G.z_dim)).to(self.device)
        with torch.inference_mode():
            ws = map_z(G, z, entry.class_index, entry.psi, entry.cutoff)[0]
        return ws.float().cpu().numpy()

    def stored_ws(self, name: str, model: str) -> np.ndarray:
        """ws [num_ws, w_dim] from latents/<name>.npy|.npz next to the show file (no pickles)."""
        folder = Path(self.show.path).parent / LATENTS_FOLDER
        path = next((p for p in (folder / f"{name}.npy", folder / f"{name}.npz") if p.is_file()),
                    None)  # fmt: skip
        if path is None or "/" in name or name.startswith("."):
            raise ValueError(f"no {name}.npy or {name}.npz in {folder}")
        array = read_latent_file(path)  # headers checked first (ArrayFileError: a ValueError)
        G = self.generators[model]
        num_ws, w_dim = int(G.num_ws), int(G.w_dim)
        if array.size == num_ws * w_dim:  # any layout of exactly the ws' numbers
            array = array.reshape(num_ws, w_dim)
        ws = as_ws(array, num_ws, w_dim)  # the stored-w rules the show loader uses
        if ws is None:
            raise ValueError(f"{path}: shape {array.shape}, model {model!r} needs "
                             f"[{num_ws}, {w_dim}] or [{w_dim}]")  # fmt: skip
        return np.ascontiguousarray(ws)

    def store_ws(self, name: str, params: FrameParams) -> Path:
        """Write the frame's ws [num_ws, w_dim] to latents/<name>.npy next to the show (a
        bookmark, which GlideTo and `{w: latents/<name>.npy}` read); never replaces a file."""
        folder = Path(self.show.path).parent / LATENTS_FOLDER
        path = folder / f"{name}.npy"
        if (
            "/" in name
            or name.startswith(".")
            or any(p.exists() for p in (path, folder / f"{name}.npz"))
        ):
            raise ValueError(f"{path} or its .npz exists (or is not a name): pick another name")
        with torch.inference_mode():
            ws = self.ws(params).float().cpu().numpy()  # [num_ws, w_dim]
        folder.mkdir(exist_ok=True)
        temp = folder / f".{name}.npy.tmp"
        with open(temp, "wb") as file:  # a file object: np.save adds no suffix
            np.save(file, ws)
        os.replace(temp, path)  # atomic: a reader never sees half a file
        return path

    def _scheduled_ws(self, params: FrameParams) -> torch.Tensor:
        """The frame's ws as the timeline scheduled them (mapping for a z walk)."""
        G = self.generators[params.model]
        latent = torch.from_numpy(np.asarray(params.latent, dtype=np.float32)).to(self.device)
        if params.space == "w":
            return latent
        entry = self.show.model(params.model)
        ws = map_z(G, latent[None], entry.class_index, params.resolved_psi, params.cutoff)[0]
        edits = params.ws_edits
        if edits is not None:  # z walk: mixing rows and directions after mapping
            ws = edit_ws(ws, edits.mixing, edits.delta)
        return ws

    def image(self, params: FrameParams) -> torch.Tensor:
        """The frame's image [C, H, W] float32 ~[-1, 1] (no crossfade)."""
        return self.images([params])[0]

    def images(self, requests: Sequence[FrameParams]) -> torch.Tensor:
        """Images [N, C, H, W] float32 ~[-1, 1] of frames that share model and noise settings."""
        first = requests[0]
        G = self.generators[first.model]
        ws = torch.stack([self.ws(p) for p in requests])  # [N, num_ws, w_dim]
        kwargs: dict[str, Any] = {}
        has_camera = any(p.translate_xy != (0.0, 0.0) or p.rotate_deg != 0.0 for p in requests)
        if has_camera:
            if getattr(G, "is_stylegan3", False):
                kwargs["transform"] = torch.stack(
                    [camera_transform(p.translate_xy, p.rotate_deg) for p in requests]
                )  # [N, 3, 3]
            elif first.model not in self._warned_no_camera:
                self._warned_no_camera.add(first.model)
                log.warning(
                    "model %r is not a StyleGAN3: translate/rotate ignored (section %r)",
                    first.model, first.section_name,
                )  # fmt: skip
        if first.noise_strength is not None and not getattr(G, "is_stylegan3", False):
            kwargs["noise_scale"] = first.noise_strength  # SG3 has no noise inputs
        img = G.synthesis(ws, noise_mode=first.noise_mode, **kwargs)  # [N, C, H, W]
        return img.float()


def _blend(image: torch.Tensor, other: torch.Tensor, weight: float) -> torch.Tensor:
    """(1 - weight) * image + weight * other, `other` resized/recoloured to match `image`."""
    if other.shape[1:] != image.shape[1:]:  # models of different resolution
        other = F.interpolate(
            other[None], size=tuple(image.shape[1:]), mode="bilinear", align_corners=False,
            antialias=True,
        )[0]  # fmt: skip
    other = _match_channels(other, image.shape[0])
    image = _match_channels(image, other.shape[0])
    return (1.0 - weight) * image + weight * other


def _host_pixels(images: torch.Tensor) -> np.ndarray:
    """[N, C, H, W] float -> host pixels: [N, C, H, W] float16 (CPU) or [N, H, W, 3] uint8.

    On a GPU the uint8 conversion runs there and the copy goes through pinned memory
    asynchronously, then waits for it once; a grayscale image is repeated to RGB first.
    """
    if images.device.type == "cpu":
        return images.to(PLANES_DTYPE).contiguous().numpy()
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    x = float_to_uint8(images[:, :3])
    x = x.permute(0, 2, 3, 1).contiguous()  # [N, H, W, 3]
    host = torch.empty(x.shape, dtype=torch.uint8, pin_memory=True)
    host.copy_(x, non_blocking=True)
    torch.cuda.current_stream(x.device).synchronize()
    return host.numpy()


def _match_channels(image: torch.Tensor, channels: int) -> torch.Tensor:
    """A grayscale [1, H, W] image repeated to `channels` when the other image has more."""
    if image.shape[0] == 1 and channels > 1:
        return image.expand(channels, -1, -1)
    return image
