"""Another floating-point dispatch on the same machine, for `make test-portable`.

Students run the book on Intel, AMD and Apple laptops, whose BLAS kernels and SIMD loops round
sums differently. `make test-portable` runs the notebook tests again with

- ``OPENBLAS_CORETYPE`` naming an OpenBLAS kernel other than the one this CPU gets, and
- ``NPY_DISABLE_CPU_FEATURES`` naming the SIMD extensions that numpy dispatches to on this CPU,

so that every matrix product and many element-wise loops round differently, as on another machine.
So that this check cannot pass vacuously, ``differs`` first trains a small recurrent network under
both dispatches and fails unless the two results differ in their last bits.

Usage::

    python tests/portability.py env            # the variables, as shell assignments
    python tests/portability.py probe          # a fingerprint of a short training run
    python tests/portability.py differs        # fail unless the alternate dispatch changes the fingerprint
    python tests/portability.py run CMD ARG... # run a command under the alternate dispatch
"""

from __future__ import annotations

import hashlib
import os
import platform
import shlex
import subprocess
import sys

# OpenBLAS kernels to switch to, by CPU family: the first one that is not the current kernel.
ALTERNATE_KERNELS = {
    "x86": ("Haswell", "SandyBridge"),
    "arm": ("ARMV8", "NeoverseN1"),
}


def current_kernel() -> str:
    """The OpenBLAS kernel numpy's BLAS chose for this CPU (as threadpoolctl reports it)."""
    from threadpoolctl import threadpool_info

    for library in threadpool_info():
        if library.get("internal_api") == "openblas":
            return str(library.get("architecture") or "")
    return ""


def alternate_environment() -> dict[str, str]:
    """The variables that give this machine another floating-point dispatch."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    family = "arm" if platform.machine().lower() in ("arm64", "aarch64") else "x86"
    kernel = current_kernel().lower()
    alternate = next(k for k in ALTERNATE_KERNELS[family] if k.lower() != kernel)
    dispatched = [feature for feature in __cpu_dispatch__ if __cpu_features__.get(feature)]
    environment = {"OPENBLAS_CORETYPE": alternate}
    if dispatched:
        environment["NPY_DISABLE_CPU_FEATURES"] = " ".join(dispatched)
    return environment


def probe() -> str:
    """A fingerprint of 30 Adam steps of an Elman RNN: the last loss and the trained weights' hash."""
    import numpy as np

    import minigrad.functional as F
    from minigrad import nn, optim

    rng = np.random.default_rng(0)
    rnn = nn.ElmanRNN(8, 32, 4, rng=rng)
    optimiser = optim.Adam(rnn.parameters(), lr=0.01)
    x, y = rng.normal(size=(20, 16, 8)), rng.integers(0, 4, size=(20, 16))
    for _ in range(30):
        o, _ = rnn(x)
        loss = F.cross_entropy(o.reshape(-1, 4), y.reshape(-1))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    weights = hashlib.sha256(b"".join(p.data.tobytes() for p in rnn.parameters())).hexdigest()[:16]
    return f"loss {float(loss.data).hex()} weights {weights}"


def run_probe(extra: dict[str, str]) -> str:
    result = subprocess.run([sys.executable, __file__, "probe"], env={**os.environ, **extra},
                            capture_output=True, text=True, check=True)
    return result.stdout.strip()


def main(command: str, arguments: list[str]) -> int:
    if command == "run" and arguments:
        os.execvpe(arguments[0], arguments, {**os.environ, **alternate_environment()})
    if command == "env":
        print(" ".join(f"{name}={shlex.quote(value)}" for name, value in alternate_environment().items()))
    elif command == "probe":
        print(probe())
    elif command == "differs":
        alternate = alternate_environment()
        default, changed = run_probe({}), run_probe(alternate)
        print(f"default dispatch (OpenBLAS {current_kernel() or 'unknown'}): {default}")
        print(f"alternate dispatch ({', '.join(f'{k}={v}' for k, v in alternate.items())}): {changed}")
        if default == changed:
            print("The alternate dispatch changed nothing on this machine, so the portable run would "
                  "prove nothing: choose other kernels in tests/portability.py.", file=sys.stderr)
            return 1
        print("The two dispatches round differently: the notebook tests below run under the alternate one.")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "", sys.argv[2:]))
