"""Lambda runtimes and architectures, and the pip platform tags whose wheels they can load.

A python3.11 Lambda runs on Amazon Linux 2 (glibc 2.26): only ``manylinux`` wheels up to
``manylinux_2_26`` load there, which caps numpy at 2.2.6 and onnxruntime at 1.16.3 (ONNX IR
<= 9). python3.12 and later run on Amazon Linux 2023 (glibc 2.34), where current wheels fit.

Examples
--------
>>> rt = get_runtime("python3.11", "x86_64")
>>> rt.python_version, rt.glibc
('3.11', (2, 26))
>>> rt.platform_tags()[:2]
['manylinux_2_26_x86_64', 'manylinux_2_25_x86_64']
>>> get_runtime("python3.12", "arm64").platform_tags()[0]
'manylinux_2_34_aarch64'
"""

from __future__ import annotations

from dataclasses import dataclass

from learnloop.exceptions import ConfigurationError

#: Lambda runtime → the glibc of its Amazon Linux.
RUNTIMES: dict[str, tuple[int, int]] = {
    "python3.11": (2, 26),
    "python3.12": (2, 34),
    "python3.13": (2, 34),
}
#: Pins a runtime needs beyond pyproject's ranges. On glibc 2.26 the newest onnxruntime wheel
#: is 1.16.3, built against NumPy 1.x: with numpy 2 it fails to import ("_ARRAY_API not
#: found"), although its metadata allows any numpy. Found by the layers' smoke test.
CONSTRAINTS: dict[str, tuple[str, ...]] = {"python3.11": ("numpy<2",)}
#: Lambda's architecture names → the machine name in wheel tags.
ARCHITECTURES: dict[str, str] = {"x86_64": "x86_64", "arm64": "aarch64"}
DEFAULT_RUNTIME = "python3.11"
DEFAULT_ARCHITECTURE = "x86_64"
#: The oldest manylinux any current wheel targets.
_OLDEST_GLIBC_MINOR = 17


@dataclass(frozen=True)
class Runtime:
    """One Lambda runtime on one architecture."""

    name: str
    architecture: str
    glibc: tuple[int, int]

    @property
    def python_version(self) -> str:
        """``"3.11"`` for ``python3.11``."""
        return self.name.removeprefix("python")

    @property
    def machine(self) -> str:
        return ARCHITECTURES[self.architecture]

    def platform_tags(self) -> list[str]:
        """Every manylinux tag this runtime loads, newest first (pip's ``--platform``)."""
        major, newest = self.glibc
        tags = [
            f"manylinux_{major}_{minor}_{self.machine}"
            for minor in range(newest, _OLDEST_GLIBC_MINOR - 1, -1)
        ]
        return [*tags, f"manylinux2014_{self.machine}"]

    @property
    def constraints(self) -> tuple[str, ...]:
        """Version pins every layer of this runtime is installed under."""
        return CONSTRAINTS.get(self.name, ())

    def pip_options(self) -> list[str]:
        """pip arguments that pick wheels for this runtime, whatever Python runs pip."""
        options = ["--only-binary=:all:", "--implementation", "cp"]
        options += ["--python-version", self.python_version]
        for tag in self.platform_tags():
            options += ["--platform", tag]
        return options


def get_runtime(name: str = DEFAULT_RUNTIME, architecture: str = DEFAULT_ARCHITECTURE) -> Runtime:
    """The :class:`Runtime` for a Lambda runtime name and architecture.

    Raises
    ------
    ConfigurationError
        For a runtime or architecture Lambda does not offer for Python 3.11+.
    """
    if name not in RUNTIMES:
        raise ConfigurationError(f"runtime must be one of {', '.join(RUNTIMES)}, got {name!r}")
    if architecture not in ARCHITECTURES:
        raise ConfigurationError(
            f"architecture must be one of {', '.join(ARCHITECTURES)}, got {architecture!r}"
        )
    return Runtime(name=name, architecture=architecture, glibc=RUNTIMES[name])


__all__ = [
    "ARCHITECTURES",
    "CONSTRAINTS",
    "DEFAULT_ARCHITECTURE",
    "DEFAULT_RUNTIME",
    "RUNTIMES",
    "Runtime",
    "get_runtime",
]
