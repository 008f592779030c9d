"""Packaging layout only (metadata and dependencies are in pyproject.toml).

The configs live once, at the repository's top level (``conf/``, ``sweeps/``); a wheel carries
them as package data installed as ``implicit_bias/conf`` and ``implicit_bias/sweeps``, where
:mod:`implicit_bias.app.resources` finds them. pyproject.toml's package discovery cannot map a
package onto a folder outside the package tree, hence these few lines.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=[
        *find_namespace_packages(include=["implicit_bias", "implicit_bias.*", "hydra_plugins.*"]),
        "implicit_bias.conf",
        "implicit_bias.sweeps",
    ],
    package_dir={"implicit_bias.conf": "conf", "implicit_bias.sweeps": "sweeps"},
    package_data={
        "implicit_bias": ["py.typed"],
        "implicit_bias.conf": ["*.yaml", "*/*.yaml"],
        "implicit_bias.sweeps": ["*.yaml"],
    },
)
