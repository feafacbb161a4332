"""`latent-walk project`: image preparation, MS-SSIM, noise penalty, schedules, and projections
of images the tiny models drew themselves (tiny SG3 through the CLI into a show; tiny SG2 with
its noise maps)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from PIL import Image

from installation import cli
from installation.errors import InstallationError
from installation.models import Generator, load_generator, save_generator
from installation.models.latents import seed_z
from installation.models.random_init import initialize_random
from installation.models.spec import MappingSpec, NetworkSpec, SG2Spec
from installation.render.show_renderer import ShowRenderer
from installation.show.load import load_show
from installation.tools import project
from tiny_models import TINY_SIZE_PX, TINY_W_DIM, tiny_sg3

# The tiny SG3 (16 px) reaches this PSNR on an image it drew itself within STEPS steps (measured:
# about 48 dB after 50 steps with the pixel + MS-SSIM loss, seed 0).
STEPS = 50
MIN_PSNR_DB = 35.0
TARGET_SEED = 5

SHOW_TEXT = """\
models:
  tiny: {path: tiny.safetensors, psi: 0.5}
sections:
  - name: portrait
    model: tiny
    duration_s: 2
    walk: {space: w, path: linear, closed: true, keyframes: [{projected: target.npz}]}
"""


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """Tiny tensors gain nothing from threads, and on a busy 2-core runner two threads that wait
    for each other make some steps 50x slower; one thread keeps each step ~0.1 s."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_sg2(seed: int = 0) -> Generator:
    """A random StyleGAN2 (skip): 32 px, w_dim 8, 16 channels, noise inputs at every conv."""
    synthesis = SG2Spec(
        img_resolution=32, img_channels=3, w_dim=TINY_W_DIM, num_ws=8, architecture="skip",
        channels=(16, 16, 16, 16),
    )  # fmt: skip
    mapping = MappingSpec(
        z_dim=TINY_W_DIM, c_dim=0, w_dim=TINY_W_DIM, num_ws=8, num_layers=2,
        embed_features=0, layer_features=TINY_W_DIM,
    )  # fmt: skip
    G = Generator(NetworkSpec(architecture="stylegan2", mapping=mapping, synthesis=synthesis))
    return initialize_random(G, seed=seed).eval()


def seed_image(G: Generator, seed: int, psi: float = 0.7) -> np.ndarray:
    """[R, R, 3] uint8 that G draws for `seed` (file noise)."""
    with torch.no_grad():
        ws = G.mapping(seed_z(seed, G.z_dim), truncation_psi=psi)
        return project.to_rgb8(G.synthesis(ws))


@pytest.fixture(scope="module")
def projected(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The CLI run once on the tiny SG3: `project tiny.safetensors target.png --video ...`."""
    root = tmp_path_factory.mktemp("project")
    G = tiny_sg3()
    save_generator(G, root / "tiny.safetensors")
    target = seed_image(G, TARGET_SEED)
    iio.imwrite(root / "target.png", target)
    out = root / "target.npz"
    code = cli.main([
        "project", str(root / "tiny.safetensors"), str(root / "target.png"), "--steps", str(STEPS),
        "--out", str(out), "--video", str(root / "frames"), "--video-every", "10",
    ])  # fmt: skip
    assert code == 0
    return {"root": root, "G": G, "target": target, "out": out}


# ---------------------------------------------------------------------------------------------
# the image a user brings


def test_center_crop_keeps_the_middle_square_and_resizes() -> None:
    pixels = np.zeros((20, 40, 3), np.uint8)  # wide: red | green middle 20 px | blue
    pixels[:, :10] = (255, 0, 0)
    pixels[:, 10:30] = (0, 255, 0)
    pixels[:, 30:] = (0, 0, 255)
    result = np.asarray(project.center_crop_resize(Image.fromarray(pixels), 16))
    assert result.shape == (16, 16, 3)
    assert (result == (0, 255, 0)).all()
    tall = np.asarray(project.center_crop_resize(Image.fromarray(pixels.transpose(1, 0, 2)), 8))
    assert tall.shape == (8, 8, 3) and (tall == (0, 255, 0)).all()


def test_grey_and_transparent_images_become_rgb(tmp_path: Path) -> None:
    grey = np.full((30, 20), 200, np.uint8)
    iio.imwrite(tmp_path / "grey.png", grey)
    loaded = project.load_target(tmp_path / "grey.png", TINY_SIZE_PX)
    assert loaded.shape == (16, 16, 3) and loaded.dtype == np.uint8 and (loaded == 200).all()
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[:, :8] = (255, 255, 255, 255)  # opaque white left, transparent white right
    rgba[:, 8:] = (255, 255, 255, 0)
    iio.imwrite(tmp_path / "rgba.png", rgba)
    loaded = project.load_target(tmp_path / "rgba.png", TINY_SIZE_PX)
    assert (loaded[:, :8] == 255).all() and (loaded[:, 8:] == 0).all()  # over black


def test_bad_image_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(InstallationError, match="missing.png: no such image file"):
        project.load_target(tmp_path / "missing.png", 16)
    (tmp_path / "notes.png").write_text("not an image", encoding="utf-8")
    with pytest.raises(InstallationError, match="notes.png: cannot read the image"):
        project.load_target(tmp_path / "notes.png", 16)
    model = tmp_path / "tiny.safetensors"
    save_generator(tiny_sg3(), model)
    assert project.main([str(model), str(tmp_path / "notes.png"), "--steps", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "notes.png" in err and len(err.splitlines()) == 1


# ---------------------------------------------------------------------------------------------
# losses and schedules


def test_ms_ssim_is_one_for_identical_images_and_falls_with_noise() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 64, 64, generator=gen)
    x = torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1)  # some structure
    assert project.ms_ssim_scales(64) == 3 and project.ms_ssim_scales(256) == 5
    assert float(project.ms_ssim(x, x)) == pytest.approx(1.0, abs=1e-5)
    noise = torch.randn(x.shape, generator=gen)
    slightly = float(project.ms_ssim(x, (x + 0.05 * noise).clamp(0, 1)))
    strongly = float(project.ms_ssim(x, (x + 0.3 * noise).clamp(0, 1)))
    assert strongly < slightly < 0.99


def test_noise_penalty_is_lower_for_white_noise_than_for_smooth_noise() -> None:
    gen = torch.Generator().manual_seed(0)
    white = torch.randn(64, 64, generator=gen)
    smooth = torch.nn.functional.avg_pool2d(white[None, None], 5, stride=1, padding=2)[0, 0]
    smooth = (smooth - smooth.mean()) / smooth.std()  # same variance as the white map
    low = float(project.noise_regularization([white]))
    high = float(project.noise_regularization([smooth]))
    assert low < 0.01 and high > 100 * low


def test_schedules_ramp_as_the_stylegan2_projector_does() -> None:
    assert project.learning_rate(0.0) == 0.0
    assert project.learning_rate(0.025) == pytest.approx(0.05)  # half way up the ramp-up
    assert project.learning_rate(0.5) == pytest.approx(0.1)
    assert project.learning_rate(0.875) == pytest.approx(0.05)  # half way down (cosine)
    assert project.learning_rate(1.0) == pytest.approx(0.0)
    assert project.w_noise_scale(0.0, 2.0) == pytest.approx(0.1)
    assert project.w_noise_scale(0.375, 2.0) == pytest.approx(0.025)
    assert project.w_noise_scale(0.75, 2.0) == 0.0


# ---------------------------------------------------------------------------------------------
# projections


def test_projection_loss_falls_and_psnr_is_reached(projected: dict) -> None:
    with np.load(projected["out"], allow_pickle=False) as npz:
        keys = set(npz.files)
        w = npz["w"]
        psnr = float(npz["psnr_db"])
        assert int(npz["steps"]) == STEPS and str(npz["loss_kind"]).startswith("pixel")
        assert float(npz["loss"]) < 0.2 * float(npz["first_loss"])  # fell by 5x at least
        assert str(npz["model"]).endswith("tiny.safetensors")
    assert w.shape == (16, TINY_W_DIM) and w.dtype == np.float32
    assert np.allclose(w, w[0])  # one w for all layers (no --w-plus)
    assert not any(k.startswith("noise_") for k in keys)  # SG3 has no noise inputs
    assert psnr >= MIN_PSNR_DB


def test_projection_writes_compare_png_and_video(projected: dict) -> None:
    compare = iio.imread(projected["root"] / "target_compare.png")
    assert compare.shape == (16, 32, 3)
    np.testing.assert_array_equal(compare[:, :16], projected["target"])
    frames = sorted((projected["root"] / "frames").glob("frame_*.png"))
    assert len(frames) == STEPS // 10
    assert iio.imread(frames[0]).shape == (256, 512, 3)  # enlarged 16x, target | current


def test_show_with_the_projected_keyframe_renders_the_projected_image(projected: dict) -> None:
    root = projected["root"]
    (root / "show.yaml").write_text(SHOW_TEXT, encoding="utf-8")
    show = load_show(root / "show.yaml")
    renderer = ShowRenderer(show, {"tiny": projected["G"]}, "cpu")
    image = renderer.render(0, 0.5).rgb8()
    result = iio.imread(root / "target_compare.png")[:, 16:]
    diff = np.abs(image.astype(int) - result.astype(int))
    assert diff.max() <= 2  # float16 planes vs float32: rounding only
    assert project.psnr_db(image, projected["target"]) >= MIN_PSNR_DB


def test_losses_fall_in_a_direct_call() -> None:
    G = tiny_sg3()
    target = seed_image(G, 9)
    settings = project.ProjectionSettings(steps=30, w_plus=True, w_stat_samples=1000)
    result = project.project(G, target, settings)
    assert len(result.losses) == 30
    assert result.final_loss < 0.2 * result.losses[0]
    assert not np.allclose(result.ws, result.ws[0])  # W+: rows differ


def test_stylegan2_noise_maps_are_optimised_and_the_files_restored(tmp_path: Path) -> None:
    G = tiny_sg2()
    before = {n: b.clone() for n, b in G.named_buffers() if n.endswith("noise_const")}
    target = seed_image(G, 3)
    settings = project.ProjectionSettings(steps=20, w_stat_samples=1000)
    result = project.project(G, target, settings)
    assert sorted(result.noise) == sorted(
        n[len("synthesis.") : -len(".noise_const")] for n in before
    )
    for name, noise in result.noise.items():
        assert noise.mean() == pytest.approx(0, abs=1e-4) and noise.std() == pytest.approx(1, 1e-3)
        assert noise.shape == before[f"synthesis.{name}.noise_const"].shape
    for name, buf in G.named_buffers():
        if name.endswith("noise_const"):
            assert torch.equal(buf, before[name]) and not buf.requires_grad
    assert result.psnr_file_noise_db is not None and result.final_loss < result.losses[0]
    project.save_result(tmp_path / "sg2.npz", result, {"steps": 20})
    with np.load(tmp_path / "sg2.npz", allow_pickle=False) as npz:
        assert npz["noise_b8.conv0"].shape == (8, 8) and npz["w"].shape == (8, TINY_W_DIM)
        assert float(npz["psnr_file_noise_db"]) == pytest.approx(result.psnr_file_noise_db)
    assert (tmp_path / "sg2_compare.png").is_file()
    kept = project.project(G, target, project.ProjectionSettings(steps=2, optimize_noise=False))
    assert kept.noise == {} and kept.psnr_file_noise_db is None


def test_vgg16_torchscript_file_is_used_as_the_feature_loss(tmp_path: Path) -> None:
    class FakeVgg(torch.nn.Module):
        """Same call signature as NVIDIA's vgg16.pt; features: 16 x 16 block means."""

        def forward(
            self, x: torch.Tensor, resize_images: bool = True, return_lpips: bool = False
        ) -> torch.Tensor:
            assert x.shape[-1] == 256 and not resize_images and return_lpips
            return torch.nn.functional.avg_pool2d(x / 255.0, 16).flatten(1)

    torch.jit.script(FakeVgg()).save(str(tmp_path / "vgg16.pt"))
    G = tiny_sg3()
    target = seed_image(G, 2)
    settings = project.ProjectionSettings(steps=15, w_stat_samples=1000)
    result = project.project(G, target, settings, vgg16_path=tmp_path / "vgg16.pt")
    assert result.loss_kind.startswith("VGG16") and result.final_loss < result.losses[0]
    (tmp_path / "bad.pt").write_bytes(b"not torchscript")
    with pytest.raises(InstallationError, match="--vgg16 .*bad.pt: cannot load TorchScript"):
        project.project(G, target, settings, vgg16_path=tmp_path / "bad.pt")


def test_example_show_plays_the_committed_projection_of_demo_seed_42() -> None:
    shows = Path(__file__).resolve().parents[3] / "shows"
    show = load_show(shows / "projection_example.yaml")
    with np.load(shows / "latents/demo_seed42_projected.npz", allow_pickle=False) as npz:
        assert npz["w"].shape == (10, 64) and float(npz["psnr_db"]) > 40
    G = load_generator(show.models[0].path)
    renderer = ShowRenderer(show, {"demo": G}, "cpu")
    image = renderer.render(0, 0.0).rgb8()  # the first keyframe: the projection
    assert project.psnr_db(image, seed_image(G, 42, psi=0.8)) > 40
