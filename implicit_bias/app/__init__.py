"""The app: the Hydra command line, its schemas and instantiation, run directories, plots,
sweep collection, CPU worker processes and the batched launcher.

It imports the library (:mod:`implicit_bias`) and never the papers (:mod:`implicit_bias.papers`);
see ``docs/architecture.md``.
"""

from implicit_bias.app.collect import collect as collect
from implicit_bias.app.collect import load_sweep as load_sweep
from implicit_bias.app.collect import with_status as with_status
from implicit_bias.app.compose import compose as compose
