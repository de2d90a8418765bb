#!/usr/bin/python3
"""This repository's PyTorch reference: the training loop of the PyTorch DCGAN tutorial.

It writes the parity fixtures in test/fixtures (which `dcgan parity` and
test/parity.test.ts replay on every TensorFlow.js backend) and times PyTorch for
`npm run bench`. It needs PyTorch on the CPU only; Debian's package is enough:

    apt-get install python3-torch
    /usr/bin/python3 reference/dcgan_reference.py fixture --image-size 16 --nc 1 --nz 8 \\
        --ngf 8 --ndf 8 --batch 8 --iters 4 --fixed 16 --seed 1 --out test/fixtures/grey16.json
    /usr/bin/python3 reference/dcgan_reference.py bench --threads 2
    /usr/bin/python3 reference/dcgan_reference.py info

Commands:
  fixture  From a seed: the initial weights, K iterations on uniform random "real"
           batches and normal noise, the metrics of every iteration, the final
           weights and BatchNorm statistics, and G's output on a fixed noise batch;
           one JSON file holding every tensor (so keep the networks small). The file
           records the command line that wrote it under config.command_line. It runs
           on one thread: the same arguments, torch build and CPU give the same bits.
  bench    Times whole training iterations (after --warmup untimed ones) and prints
           one JSON line: the median seconds per iteration, images/s, and what ran
           them (torch's version and threads, its BLAS and oneDNN).
  info     Prints that description of torch's BLAS and oneDNN alone, as JSON.

The fixture's JSON: tensors keep PyTorch's layouts (images NCHW, Conv2d weights
[out, in, kh, kw], ConvTranspose2d weights [in, out, kh, kw]) and are stored as
{"shape": [...], "data": [row-major values]}. State dicts use PyTorch's own names
(main.0.weight, main.1.running_var, ...), which src/engine/models.ts reuses. Metrics
per iteration: errD_real, errD_fake, Loss_D = errD_real + errD_fake, Loss_G, D_x
(D's mean output on the real batch), D_G_z1 (on the detached fakes, before D's Adam
step) and D_G_z2 (on the same fakes, after it, in G's step).

Random numbers are drawn in a fixed order, so a fixture is a function of its
arguments and the torch build: the networks' default initialisation, the tutorial's
weights_init, the fixed noise, then per iteration the real batch and the noise.
"""
import argparse
import ctypes
import json
import os
import re
import shlex
import sys
import time

import torch
from torch import nn


def stride_two_layers(image_size):
    """How many times the image halves from image_size down to 4 (4 at the tutorial's 64)."""
    count, size = 0, image_size
    while size > 4 and size % 2 == 0:
        size //= 2
        count += 1
    if size != 4 or count < 2:
        raise SystemExit(f"--image-size {image_size}: must be 4 times a power of two, 16 or more")
    return count


class Generator(nn.Module):
    """z (nz x 1 x 1) -> ngf*2^(n-1) x 4 x 4 -> ... -> ngf x size/2 -> nc x size x size."""

    def __init__(self, nz, ngf, nc, image_size):
        super().__init__()
        n = stride_two_layers(image_size)
        width = ngf * 2 ** (n - 1)
        layers = [nn.ConvTranspose2d(nz, width, 4, 1, 0, bias=False), nn.BatchNorm2d(width), nn.ReLU(True)]
        for _ in range(n - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(width // 2), nn.ReLU(True)]
            width //= 2
        layers += [nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z):
        return self.main(z)


class Discriminator(nn.Module):
    """nc x size x size -> ndf x size/2 -> ... -> ndf*2^(n-1) x 4 x 4 -> probability."""

    def __init__(self, ndf, nc, image_size):
        super().__init__()
        n = stride_two_layers(image_size)
        layers = [nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
        width = ndf
        for _ in range(n - 1):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(width * 2), nn.LeakyReLU(0.2, inplace=True)]
            width *= 2
        layers += [nn.Conv2d(width, 1, 4, 1, 0, bias=False), nn.Sigmoid()]
        self.main = nn.Sequential(*layers)

    def forward(self, x):
        return self.main(x)


def weights_init(module):
    """The tutorial's: convolutions N(0, 0.02); BatchNorm scale N(1, 0.02), shift 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Dcgan:
    """Both networks, their Adam optimisers and BCELoss; step() is one iteration of the tutorial."""

    def __init__(self, args):
        # Both are built before either is initialised, as in the tutorial's notebook.
        self.G = Generator(args.nz, args.ngf, args.nc, args.image_size)
        self.D = Discriminator(args.ndf, args.nc, args.image_size)
        with torch.no_grad():
            for net in (self.G, self.D):
                for module in net.modules():
                    weights_init(module)
        self.loss = nn.BCELoss()
        betas = (args.beta1, 0.999)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=args.lr, betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=args.lr, betas=betas)

    def step(self, real, noise):
        ones = torch.ones(real.shape[0])
        zeros = torch.zeros(real.shape[0])

        # (1) D: maximise log(D(x)) + log(1 - D(G(z))), on a real batch then on fakes.
        self.D.zero_grad()
        d_real = self.D(real).view(-1)
        err_d_real = self.loss(d_real, ones)
        err_d_real.backward()
        fake = self.G(noise)
        d_fake = self.D(fake.detach()).view(-1)
        err_d_fake = self.loss(d_fake, zeros)
        err_d_fake.backward()
        self.opt_D.step()

        # (2) G: maximise log(D(G(z))) against the D just updated.
        self.G.zero_grad()
        d_fake_after = self.D(fake).view(-1)
        err_g = self.loss(d_fake_after, ones)
        err_g.backward()
        self.opt_G.step()

        return {
            "errD_real": err_d_real.item(),
            "errD_fake": err_d_fake.item(),
            "Loss_D": (err_d_real + err_d_fake).item(),
            "Loss_G": err_g.item(),
            "D_x": d_real.mean().item(),
            "D_G_z1": d_fake.mean().item(),
            "D_G_z2": d_fake_after.mean().item(),
        }


def random_real(args):
    """A stand-in for a batch of images: uniform in [-1, 1), like normalised pixels."""
    return torch.rand(args.batch, args.nc, args.image_size, args.image_size) * 2 - 1


def random_noise(args, count):
    return torch.randn(count, args.nz, 1, 1)


def as_json(tensor):
    return {"shape": list(tensor.shape), "data": tensor.detach().reshape(-1).tolist()}


def state_json(net):
    """Parameters and BatchNorm running statistics, by PyTorch's names (not the batch counters)."""
    return {name: as_json(t) for name, t in net.state_dict().items() if not name.endswith("num_batches_tracked")}


def command_fixture(args):
    # One thread, so that the sums add up in the same order on any number of cores.
    set_threads(1)
    torch.manual_seed(args.seed)
    gan = Dcgan(args)
    initial = {"G": state_json(gan.G), "D": state_json(gan.D)}
    fixed_noise = random_noise(args, args.fixed)
    iterations = []
    for _ in range(args.iters):
        real = random_real(args)
        noise = random_noise(args, args.batch)
        metrics = gan.step(real, noise)
        iterations.append({"real": as_json(real), "noise": as_json(noise), "metrics": metrics})
    # Rendered as the tutorial renders its progress grids: no_grad, but G stays in
    # training mode, so BatchNorm normalises with this batch's statistics and updates
    # its running statistics once more before the final state is saved.
    with torch.no_grad():
        samples = gan.G(fixed_noise)
    config = {key: getattr(args, key) for key in
              ("image_size", "nc", "nz", "ngf", "ndf", "batch", "lr", "beta1", "seed", "iters", "fixed")}
    config["command_line"] = "/usr/bin/python3 reference/dcgan_reference.py " + shlex.join(sys.argv[1:])
    fixture = {
        "config": config,
        "init": initial,
        "fixed_noise": as_json(fixed_noise),
        "iterations": iterations,
        "final": {"G": state_json(gan.G), "D": state_json(gan.D)},
        "fixed_samples": as_json(samples),
        "torch": torch.__version__,
    }
    with open(args.out, "w") as f:
        json.dump(fixture, f)
    print(f"wrote {args.out}: {args.iters} iterations, last Loss_D {iterations[-1]['metrics']['Loss_D']:.6f}")


def loaded_libraries():
    """Paths of the shared libraries this process has mapped."""
    with open("/proc/self/maps") as f:
        return sorted({line.split()[-1] for line in f if "/" in line and ".so" in line})


def openblas():
    """The OpenBLAS this process loaded through torch, if any, as a ctypes library and its path."""
    for path in loaded_libraries():
        if "openblas" in os.path.basename(path):
            lib = ctypes.CDLL(path)
            if hasattr(lib, "openblas_get_corename"):
                return lib, path
    return None, None


def blas_description():
    """torch's BLAS (BLAS_INFO from its build; for OpenBLAS the kernels it picked) and oneDNN."""
    # A BLAS library loads when torch first needs it; one small product makes sure.
    torch.ones(8, 8) @ torch.ones(8, 8)
    built = torch.__config__.show()
    blas_info = re.search(r"BLAS_INFO=([^,\s]+)", built)
    onednn = re.search(r"(?:MKL-DNN|oneDNN)[^\n]*?v([\d.]+)", built)
    lib, path = openblas()
    blas = {"build": blas_info.group(1) if blas_info else None,
            "libraries": [p for p in loaded_libraries() if re.search(r"blas|lapack|mkl", os.path.basename(p))]}
    if lib is not None:
        lib.openblas_get_corename.restype = ctypes.c_char_p
        lib.openblas_get_config.restype = ctypes.c_char_p
        blas["openblas"] = {
            "library": path,
            "config": lib.openblas_get_config().decode(),
            "core": lib.openblas_get_corename().decode(),
            "threads": lib.openblas_get_num_threads(),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
            "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
        }
    return {
        "torch": torch.__version__,
        "cpu_capability": (re.search(r"CPU capability usage: (\S+)", built) or [None, None])[1],
        "parallel_backend": (re.search(r"ATen parallel backend: (.+)", torch.__config__.parallel_info()) or [None, None])[1],
        "blas": blas,
        "onednn": {"built": "USE_MKLDNN=ON" in built, "version": onednn.group(1) if onednn else None,
                   "available": torch.backends.mkldnn.is_available(),
                   "enabled": torch.backends.mkldnn.enabled},
    }


def set_threads(count):
    """count threads for torch's own kernels (OpenMP) and for OpenBLAS, which keeps its own pool."""
    torch.set_num_threads(count)
    torch.ones(8, 8) @ torch.ones(8, 8)  # loads the BLAS, if it is not yet loaded
    lib, _ = openblas()
    if lib is not None:
        lib.openblas_set_num_threads(count)


def command_bench(args):
    if args.threads:
        set_threads(args.threads)
    torch.manual_seed(args.seed)
    gan = Dcgan(args)
    real = random_real(args)
    for _ in range(args.warmup):
        gan.step(real, random_noise(args, args.batch))
    seconds = []
    for _ in range(args.iters):
        noise = random_noise(args, args.batch)
        start = time.perf_counter()
        gan.step(real, noise)
        seconds.append(time.perf_counter() - start)
    median = sorted(seconds)[len(seconds) // 2]
    print(json.dumps({
        "impl": "pytorch",
        "threads": torch.get_num_threads(),
        "image_size": args.image_size, "nc": args.nc, "nz": args.nz, "ngf": args.ngf, "ndf": args.ndf,
        "batch": args.batch, "iterations": args.iters, "warmup": args.warmup,
        "seconds": seconds, "median_s_per_iter": median, "images_per_s": args.batch / median,
        **blas_description(),
    }))


def command_info(_args):
    print(json.dumps(blas_description(), indent=2))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["fixture", "bench", "info"])
    parser.add_argument("--image-size", type=int, default=32, help="16, 32, 64, ... (default 32)")
    parser.add_argument("--nc", type=int, default=1, help="image channels (default 1)")
    parser.add_argument("--nz", type=int, default=100, help="noise length (default 100)")
    parser.add_argument("--ngf", type=int, default=32, help="G's width (default 32)")
    parser.add_argument("--ndf", type=int, default=32, help="D's width (default 32)")
    parser.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    parser.add_argument("--lr", type=float, default=0.0002, help="Adam's learning rate (default 0.0002)")
    parser.add_argument("--beta1", type=float, default=0.5, help="Adam's beta1 (default 0.5)")
    parser.add_argument("--seed", type=int, default=999, help="torch.manual_seed (default 999)")
    parser.add_argument("--iters", type=int, default=10, help="iterations written (fixture) or timed (bench)")
    parser.add_argument("--warmup", type=int, default=2, help="bench: iterations run before timing (default 2)")
    parser.add_argument("--fixed", type=int, default=64, help="fixture: size of the fixed noise batch (default 64)")
    parser.add_argument("--threads", type=int, default=0,
                        help="bench: threads for torch and OpenBLAS (default 0: as the environment has them)")
    parser.add_argument("--out", default="fixture.json", help="fixture: the file to write")
    args = parser.parse_args()
    stride_two_layers(args.image_size)
    {"fixture": command_fixture, "bench": command_bench, "info": command_info}[args.command](args)


if __name__ == "__main__":
    main()
